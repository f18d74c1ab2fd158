//! OffsetsForLeaderEpoch (key 23), versions 0-4: for each partition and
//! requested leader epoch, the largest epoch in the leader's log not above it
//! and where that epoch ends (the start of the next one, or the log end).
//! Followers ask before fetching and truncate to the answer; consumers use
//! it to detect log truncation. Only the leader answers.

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use crate::model::{LeaderEpoch, TopicPartition};
use crate::replica::{UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, replica_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: OffsetForLeaderEpochRequest,
) -> Option<OffsetForLeaderEpochResponse> {
    let topics =
        request
            .topics
            .into_iter()
            .map(|topic| {
                let name = topic.topic.0.to_string();
                let partitions =
                    topic
                        .partitions
                        .iter()
                        .map(|p| {
                            let tp = TopicPartition::new(name.clone(), p.partition);
                            let answer = EpochEndOffset::default().with_partition(p.partition);
                            let result = services.replica_manager.leader_partition(&tp).and_then(
                                |partition| {
                                    partition.check_leader_epoch(LeaderEpoch::new(
                                        p.current_leader_epoch,
                                    ))?;
                                    Ok(partition
                                        .end_offset_for_epoch(LeaderEpoch::new(p.leader_epoch)))
                                },
                            );
                            match result {
                                Ok((epoch, end_offset)) => answer
                                    .with_error_code(NONE)
                                    .with_leader_epoch(epoch.get())
                                    .with_end_offset(end_offset.value()),
                                Err(e) => answer
                                    .with_error_code(replica_error_code(&e))
                                    .with_leader_epoch(UNDEFINED_EPOCH.get())
                                    .with_end_offset(UNDEFINED_EPOCH_OFFSET.value()),
                            }
                        })
                        .collect();
                OffsetForLeaderTopicResult::default()
                    .with_topic(topic.topic)
                    .with_partitions(partitions)
            })
            .collect();
    Some(OffsetForLeaderEpochResponse::default().with_topics(topics))
}
