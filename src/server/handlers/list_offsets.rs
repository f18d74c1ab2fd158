//! ListOffsets (key 2), versions 1-7: earliest (-2), latest (-1), max
//! timestamp (-3, v7) and first offset at or after a timestamp.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use crate::model::TopicPartition;
use crate::replica::{Partition, ReplicaError};
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::{NONE, replica_error_code};

pub const VERSIONS: (i16, i16) = (1, 7);

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: ListOffsetsRequest,
) -> Option<ListOffsetsResponse> {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.0.to_string();
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let tp = TopicPartition::new(name.clone(), p.partition_index);
                    let base = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    let result =
                        services
                            .replica_manager
                            .leader_partition(&tp)
                            .and_then(|partition| {
                                partition.check_leader_epoch(p.current_leader_epoch)?;
                                lookup(&partition, p.timestamp).map(|found| (found, partition))
                            });
                    match result {
                        Ok(((offset, timestamp), partition)) => {
                            let response = base
                                .with_error_code(NONE)
                                .with_offset(offset)
                                .with_timestamp(timestamp);
                            if ctx.version >= 4 && offset >= 0 {
                                response.with_leader_epoch(partition.leader_epoch())
                            } else {
                                response
                            }
                        }
                        Err(e) => base.with_error_code(replica_error_code(&e)),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    Some(ListOffsetsResponse::default().with_topics(topics))
}

/// (offset, timestamp) for a ListOffsets target; (-1, -1) when no record qualifies.
fn lookup(partition: &Partition, target: i64) -> Result<(i64, i64), ReplicaError> {
    let log = partition.log();
    Ok(match target {
        LATEST => (partition.high_watermark(), -1),
        EARLIEST => (log.log_start_offset(), -1),
        MAX_TIMESTAMP => {
            let (timestamp, offset) = log.max_timestamp_and_offset();
            if offset < 0 {
                (-1, -1)
            } else {
                (offset, timestamp)
            }
        }
        // Kafka treats other negative targets as a search that finds nothing.
        t if t < 0 => (-1, -1),
        t => match log.offset_for_timestamp(t)? {
            // Only offsets below the high watermark are visible to consumers.
            Some((offset, ts)) if offset < partition.high_watermark() => (offset, ts),
            _ => (-1, -1),
        },
    })
}
