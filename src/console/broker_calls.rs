//! The console's Kafka-protocol calls to the cluster's brokers (this one
//! included), each on a fresh `client::BrokerConnection` to the broker's
//! inter-broker endpoint, bounded by [`CALL_TIMEOUT`]: log dirs
//! (DescribeLogDirs) and offsets (ListOffsets; as the "debugging consumer",
//! replica id -2, any replica answers and LATEST is its log end, as in Kafka).

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeLogDirsRequest, DescribeLogDirsResponse, ListOffsetsRequest,
    ListOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::error::ConsoleError;
use crate::client::{BrokerConnection, ConnectionOptions};
use crate::metadata::BrokerEndpoint;
use crate::model::TopicPartition;
use crate::protocol::config_source::config_source_name;

/// The longest a console call to one broker may take, connecting included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Responses larger than this are refused.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// ListOffsets' replica id for a debugging consumer: any replica answers,
/// with its own log end for LATEST.
pub const DEBUGGING_REPLICA_ID: i32 = -2;
/// ListOffsets' replica id of an ordinary consumer (leader only, high watermark).
pub const CONSUMER_REPLICA_ID: i32 = -1;
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;

/// One log dir of a broker, as DescribeLogDirs v4 reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogDirInfo {
    pub path: String,
    pub error_code: i16,
    pub total_bytes: i64,
    pub usable_bytes: i64,
    /// Bytes of every partition log in it.
    pub size_bytes: i64,
    /// Each partition's log size.
    #[serde(skip)]
    pub partitions: BTreeMap<TopicPartition, i64>,
}

/// Sends one request to `broker`; the response or why there is none.
pub async fn call<Req: Encodable, Resp: Decodable>(
    broker: &BrokerEndpoint,
    key: ApiKey,
    version: i16,
    request: &Req,
) -> Result<Resp, ConsoleError> {
    let options = ConnectionOptions::default()
        .with_connect_timeout(CALL_TIMEOUT)
        .with_request_timeout(CALL_TIMEOUT)
        .with_max_response_bytes(MAX_RESPONSE_BYTES);
    let mut connection = BrokerConnection::new(broker.address(), "sluice-console".into(), options);
    connection
        .send(key, version, request)
        .await
        .map_err(|e| ConsoleError::BrokerUnavailable {
            broker: broker.id,
            reason: e.to_string(),
        })
}

/// `broker`'s log dirs with their sizes.
pub async fn log_dirs(broker: &BrokerEndpoint) -> Result<Vec<LogDirInfo>, ConsoleError> {
    let response: DescribeLogDirsResponse = call(
        broker,
        ApiKey::DescribeLogDirs,
        4,
        &DescribeLogDirsRequest::default().with_topics(None),
    )
    .await?;
    Ok(response
        .results
        .into_iter()
        .map(|dir| {
            let mut partitions = BTreeMap::new();
            for topic in &dir.topics {
                for p in &topic.partitions {
                    partitions.insert(
                        TopicPartition::new(topic.name.0.to_string(), p.partition_index),
                        p.partition_size,
                    );
                }
            }
            LogDirInfo {
                path: dir.log_dir.to_string(),
                error_code: dir.error_code,
                total_bytes: dir.total_bytes,
                usable_bytes: dir.usable_bytes,
                size_bytes: partitions.values().sum(),
                partitions,
            }
        })
        .collect())
}

/// ListOffsets v1 for `partitions` of `broker` at `timestamp` (LATEST,
/// EARLIEST or a time) as `replica_id`: each partition's offset, or the
/// error code it was answered with.
pub async fn offsets(
    broker: &BrokerEndpoint,
    partitions: &[TopicPartition],
    timestamp: i64,
    replica_id: i32,
) -> Result<BTreeMap<TopicPartition, Result<i64, i16>>, ConsoleError> {
    let mut topics: Vec<ListOffsetsTopic> = Vec::new();
    for tp in partitions {
        let entry = ListOffsetsPartition::default()
            .with_partition_index(tp.partition)
            .with_timestamp(timestamp);
        match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
            Some(t) => t.partitions.push(entry),
            None => topics.push(
                ListOffsetsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![entry]),
            ),
        }
    }
    let response: ListOffsetsResponse = call(
        broker,
        ApiKey::ListOffsets,
        1,
        &ListOffsetsRequest::default()
            .with_replica_id(BrokerId(replica_id))
            .with_topics(topics),
    )
    .await?;
    let mut out = BTreeMap::new();
    for topic in response.topics {
        for p in topic.partitions {
            let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
            let answer = if p.error_code == 0 {
                Ok(p.offset)
            } else {
                Err(p.error_code)
            };
            out.insert(tp, answer);
        }
    }
    Ok(out)
}

/// One config of a topic, as DescribeConfigs v1 reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for a sensitive value.
    pub value: Option<String>,
    /// Kafka's ConfigSource name (DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG, ...).
    pub source: &'static str,
    pub read_only: bool,
}

/// Every config of `topic` with its source (DescribeConfigs v1 to `broker`).
pub async fn topic_configs(
    broker: &BrokerEndpoint,
    topic: &str,
) -> Result<Result<Vec<ConfigEntry>, i16>, ConsoleError> {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
    const TOPIC_RESOURCE: i8 = 2;
    let request = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(StrBytes::from_string(topic.to_owned()))
            .with_configuration_keys(None),
    ]);
    let response: DescribeConfigsResponse =
        call(broker, ApiKey::DescribeConfigs, 1, &request).await?;
    let Some(result) = response.results.into_iter().next() else {
        return Err(ConsoleError::BrokerUnavailable {
            broker: broker.id,
            reason: "DescribeConfigs answered no resource".into(),
        });
    };
    if result.error_code != 0 {
        return Ok(Err(result.error_code));
    }
    let mut configs: Vec<ConfigEntry> = result
        .configs
        .into_iter()
        .map(|c| ConfigEntry {
            name: c.name.to_string(),
            value: if c.is_sensitive {
                None
            } else {
                c.value.map(|v| v.to_string())
            },
            source: config_source_name(c.config_source),
            read_only: c.read_only,
        })
        .collect();
    configs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Ok(configs))
}

/// The value of `broker`'s own config `key` (DescribeConfigs v1 of the
/// BROKER resource, sent to that broker, which alone knows its static file).
pub async fn broker_config(
    broker: &BrokerEndpoint,
    key: &str,
) -> Result<Option<String>, ConsoleError> {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
    const BROKER_RESOURCE: i8 = 4;
    let request = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(BROKER_RESOURCE)
            .with_resource_name(StrBytes::from_string(broker.id.0.to_string()))
            .with_configuration_keys(Some(vec![StrBytes::from_string(key.to_owned())])),
    ]);
    let response: DescribeConfigsResponse =
        call(broker, ApiKey::DescribeConfigs, 1, &request).await?;
    let unavailable = |reason: String| ConsoleError::BrokerUnavailable {
        broker: broker.id,
        reason,
    };
    let Some(result) = response.results.into_iter().next() else {
        return Err(unavailable("DescribeConfigs answered no resource".into()));
    };
    if result.error_code != 0 {
        return Err(unavailable(format!(
            "DescribeConfigs of the broker answered error {}",
            result.error_code
        )));
    }
    Ok(result
        .configs
        .into_iter()
        .find(|c| c.name.as_str() == key)
        .and_then(|c| c.value.map(|v| v.to_string())))
}
