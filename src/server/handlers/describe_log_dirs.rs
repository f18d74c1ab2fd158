//! DescribeLogDirs (key 35), versions 0-4: for every log dir of this broker,
//! the partitions it holds (all, or those the request names) with their size
//! on disk and offset lag (the high watermark's distance past the log end,
//! so 0 for a current replica; -1 for a log no replica is hosted for), never
//! future logs. v4 adds the file system's total and usable bytes (the log
//! manager's `file_system_bytes`).

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::model::TopicPartition;
use crate::server::context::BrokerServices;
use crate::server::errors::NONE;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

/// Kafka's offset lag of a log without a hosted replica.
const INVALID_OFFSET_LAG: i64 = -1;

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: DescribeLogDirsRequest,
) -> Option<DescribeLogDirsResponse> {
    let wanted: Option<BTreeSet<TopicPartition>> = request.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|&p| TopicPartition::new(t.topic.0.to_string(), p))
            })
            .collect()
    });
    let log_manager = services.replica_manager.log_manager();
    let logs = log_manager.all_logs();
    let results = log_manager
        .log_dirs()
        .iter()
        .map(|dir| {
            let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
            for (tp, log) in logs.iter().filter(|(_, l)| l.dir().parent() == Some(dir)) {
                if wanted.as_ref().is_some_and(|w| !w.contains(tp)) {
                    continue;
                }
                let offset_lag = services
                    .replica_manager
                    .get_partition(tp)
                    .map_or(INVALID_OFFSET_LAG, |p| {
                        (p.high_watermark() - log.log_end_offset()).max(0)
                    });
                topics.entry(tp.topic.clone()).or_default().push(
                    DescribeLogDirsPartition::default()
                        .with_partition_index(tp.partition)
                        .with_partition_size(log.size_bytes() as i64)
                        .with_offset_lag(offset_lag)
                        .with_is_future_key(false),
                );
            }
            let (total_bytes, usable_bytes) =
                log_manager.file_system_bytes(dir).unwrap_or((-1, -1));
            DescribeLogDirsResult::default()
                .with_error_code(NONE)
                .with_log_dir(StrBytes::from_string(dir.display().to_string()))
                .with_total_bytes(total_bytes)
                .with_usable_bytes(usable_bytes)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(name, mut partitions)| {
                            partitions.sort_by_key(|p| p.partition_index);
                            DescribeLogDirsTopic::default()
                                .with_name(TopicName(StrBytes::from_string(name)))
                                .with_partitions(partitions)
                        })
                        .collect(),
                )
        })
        .collect();
    Some(
        DescribeLogDirsResponse::default()
            .with_error_code(NONE)
            .with_results(results),
    )
}
