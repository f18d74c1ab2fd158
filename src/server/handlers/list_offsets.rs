//! ListOffsets (key 2), versions 1-7: earliest (-2), latest (-1), max
//! timestamp (-3, v7) and first offset at or after a timestamp. Answered by
//! the leader, except for a debugging consumer (replica id -2), which any
//! replica answers with its own log end for latest.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use crate::model::{LeaderEpoch, TopicPartition};
use crate::replica::{DEBUGGING_REPLICA_ID, ReplicaError};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, replica_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (1, 7);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: ListOffsetsRequest,
) -> Option<ListOffsetsResponse> {
    let from_client = request.replica_id.0 == -1;
    let debugging = request.replica_id.0 == DEBUGGING_REPLICA_ID;
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
                    let result = if debugging {
                        services
                            .replica_manager
                            .get_partition(&tp)
                            .ok_or_else(|| ReplicaError::UnknownTopicOrPartition(tp.to_string()))
                            .and_then(|partition| {
                                partition
                                    .fetch_offset_for_timestamp(p.timestamp, false)
                                    .map(|found| (found, partition))
                            })
                    } else {
                        services
                            .replica_manager
                            .leader_partition(&tp)
                            .and_then(|partition| {
                                partition
                                    .check_leader_epoch(LeaderEpoch::new(p.current_leader_epoch))?;
                                partition
                                    .fetch_offset_for_timestamp(p.timestamp, from_client)
                                    .map(|found| (found, partition))
                            })
                    };
                    match result {
                        Ok(((offset, timestamp), partition)) => {
                            let response = base
                                .with_error_code(NONE)
                                .with_offset(offset.value())
                                .with_timestamp(timestamp);
                            if ctx.version >= 4 && offset.is_known() {
                                response.with_leader_epoch(partition.leader_epoch().get())
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
