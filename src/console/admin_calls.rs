//! The console's write actions as Kafka-protocol calls, made as Kafka's
//! tools make them, to the broker that must answer: CreateTopics and
//! ElectLeaders (preferred) to the controller, IncrementalAlterConfigs of a
//! topic to any broker, DeleteRecords to each partition's leader,
//! OffsetCommit (generation -1, no member: an admin commit, as
//! kafka-consumer-groups.sh --reset-offsets makes it) to the group's
//! coordinator. Each answer is a list of [`Outcome`]s, one per thing touched,
//! with Kafka's error name where it failed; the broker's own checks (names,
//! configs, offsets, group state) decide.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, DeleteRecordsRequest, DeleteRecordsResponse,
    ElectLeadersRequest, ElectLeadersResponse, GroupId, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, OffsetCommitRequest, OffsetCommitResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::broker_calls::call;
use super::error::ConsoleError;
use crate::metadata::BrokerEndpoint;
use crate::protocol::error_name::error_name;

/// How long a broker may take to carry out a write (the request's timeout).
const WRITE_TIMEOUT_MS: i32 = 4_000;
const TOPIC_RESOURCE: i8 = 2;
/// IncrementalAlterConfigs' operations.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
/// ElectLeaders' election type for the preferred replica.
const PREFERRED: i8 = 0;

/// What happened to one thing a write touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// `topic`, `topic-partition` or `group topic-partition`.
    pub target: String,
    /// `None` when done; else Kafka's error name and message.
    pub error: Option<String>,
}

impl Outcome {
    fn of(target: String, code: i16, message: Option<&StrBytes>) -> Self {
        let error = (code != 0).then(|| {
            let name = error_name(code);
            match message {
                Some(m) if !m.is_empty() => format!("{name}: {m}"),
                _ => name,
            }
        });
        Outcome { target, error }
    }
}

fn name(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    /// -1: the broker's `num.partitions`.
    pub partitions: i32,
    /// -1: the broker's `default.replication.factor`.
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
}

/// CreateTopics v4 to the controller.
pub async fn create_topic(
    controller: &BrokerEndpoint,
    topic: &NewTopic,
) -> Result<Vec<Outcome>, ConsoleError> {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(WRITE_TIMEOUT_MS)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(TopicName(name(&topic.name)))
                .with_num_partitions(topic.partitions)
                .with_replication_factor(topic.replication_factor)
                .with_configs(
                    topic
                        .configs
                        .iter()
                        .map(|(k, v)| {
                            CreatableTopicConfig::default()
                                .with_name(name(k))
                                .with_value(Some(name(v)))
                        })
                        .collect(),
                ),
        ]);
    let response: CreateTopicsResponse =
        call(controller, ApiKey::CreateTopics, 4, &request).await?;
    Ok(response
        .topics
        .iter()
        .map(|t| Outcome::of(t.name.0.to_string(), t.error_code, t.error_message.as_ref()))
        .collect())
}

/// IncrementalAlterConfigs v0 of `topic`: `set` these keys, `delete` those
/// (back to the broker default).
pub async fn alter_topic_configs(
    broker: &BrokerEndpoint,
    topic: &str,
    set: &BTreeMap<String, String>,
    delete: &[String],
) -> Result<Vec<Outcome>, ConsoleError> {
    let configs = set
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(name(k))
                .with_config_operation(OP_SET)
                .with_value(Some(name(v)))
        })
        .chain(delete.iter().map(|k| {
            AlterableConfig::default()
                .with_name(name(k))
                .with_config_operation(OP_DELETE)
        }))
        .collect();
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(name(topic))
            .with_configs(configs),
    ]);
    let response: IncrementalAlterConfigsResponse =
        call(broker, ApiKey::IncrementalAlterConfigs, 0, &request).await?;
    Ok(response
        .responses
        .iter()
        .map(|r| {
            Outcome::of(
                r.resource_name.to_string(),
                r.error_code,
                r.error_message.as_ref(),
            )
        })
        .collect())
}

/// DeleteRecords v1 before `offset` (-1: the high watermark) of
/// `topic`-`partition`, to its leader.
pub async fn delete_records(
    leader: &BrokerEndpoint,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<Vec<Outcome>, ConsoleError> {
    let request = DeleteRecordsRequest::default()
        .with_timeout_ms(WRITE_TIMEOUT_MS)
        .with_topics(vec![
            DeleteRecordsTopic::default()
                .with_name(TopicName(name(topic)))
                .with_partitions(vec![
                    DeleteRecordsPartition::default()
                        .with_partition_index(partition)
                        .with_offset(offset),
                ]),
        ]);
    let response: DeleteRecordsResponse = call(leader, ApiKey::DeleteRecords, 1, &request).await?;
    Ok(partition_outcomes(
        "",
        response.topics.iter().flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (&t.name.0, p.partition_index, p.error_code))
        }),
    ))
}

/// One outcome per (topic, partition, error code) answered, named
/// `<prefix>topic-partition`.
fn partition_outcomes<'a>(
    prefix: &str,
    answers: impl Iterator<Item = (&'a StrBytes, i32, i16)>,
) -> Vec<Outcome> {
    answers
        .map(|(topic, partition, code)| {
            Outcome::of(format!("{prefix}{topic}-{partition}"), code, None)
        })
        .collect()
}

/// ElectLeaders v1 (preferred) for `partitions` of `topic`, to the controller.
pub async fn elect_preferred_leaders(
    controller: &BrokerEndpoint,
    topic: &str,
    partitions: &[i32],
) -> Result<Vec<Outcome>, ConsoleError> {
    let request = ElectLeadersRequest::default()
        .with_election_type(PREFERRED)
        .with_timeout_ms(WRITE_TIMEOUT_MS)
        .with_topic_partitions(Some(vec![
            TopicPartitions::default()
                .with_topic(TopicName(name(topic)))
                .with_partitions(partitions.to_vec()),
        ]));
    let response: ElectLeadersResponse =
        call(controller, ApiKey::ElectLeaders, 1, &request).await?;
    if response.error_code != 0 {
        return Ok(vec![Outcome::of(
            topic.to_owned(),
            response.error_code,
            None,
        )]);
    }
    let not_needed = ResponseError::ElectionNotNeeded.code();
    Ok(response
        .replica_election_results
        .iter()
        .flat_map(|r| {
            r.partition_result.iter().map(move |p| {
                let target = format!("{}-{}", r.topic.0, p.partition_id);
                if p.error_code == not_needed {
                    // As kafka-leader-election.sh: already led by its preferred replica.
                    return Outcome::of(format!("{target} (already preferred)"), 0, None);
                }
                Outcome::of(target, p.error_code, p.error_message.as_ref())
            })
        })
        .collect())
}

/// OffsetCommit v2 of `offsets` (partition, offset) of `topic` for `group`,
/// as an admin (generation -1, no member id), to its coordinator.
pub async fn commit_offsets(
    coordinator: &BrokerEndpoint,
    group: &str,
    topic: &str,
    offsets: &[(i32, i64)],
) -> Result<Vec<Outcome>, ConsoleError> {
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(name(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(StrBytes::default())
        .with_retention_time_ms(-1)
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(name(topic)))
                .with_partitions(
                    offsets
                        .iter()
                        .map(|(p, o)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(*p)
                                .with_committed_offset(*o)
                        })
                        .collect(),
                ),
        ]);
    let response: OffsetCommitResponse =
        call(coordinator, ApiKey::OffsetCommit, 2, &request).await?;
    Ok(partition_outcomes(
        &format!("{group} "),
        response.topics.iter().flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (&t.name.0, p.partition_index, p.error_code))
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_name_kafkas_error() {
        assert_eq!(Outcome::of("t".into(), 0, None).error, None);
        assert_eq!(
            Outcome::of("t".into(), 36, Some(&name("Topic 't' already exists.")))
                .error
                .as_deref(),
            Some("TOPIC_ALREADY_EXISTS: Topic 't' already exists.")
        );
        assert_eq!(
            Outcome::of("t".into(), 3, None).error.as_deref(),
            Some("UNKNOWN_TOPIC_OR_PARTITION")
        );
        assert_eq!(
            Outcome::of("t".into(), 9999, None).error.as_deref(),
            Some("error code 9999")
        );
    }
}
