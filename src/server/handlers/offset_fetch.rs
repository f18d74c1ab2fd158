//! OffsetFetch (key 9), versions 0-8: committed offsets read back from
//! ZooKeeper (through the coordinator's cache); a null topic list (v2+) means
//! every partition the group has committed; v8 batches several groups.
//! Partitions without a commit answer offset -1, metadata "", NONE.

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::group_support::sb;
use crate::group::{CommittedOffset, GroupError};
use crate::model::TopicPartition;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, group_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 8);

/// (partition, offset, leader epoch, metadata) of one topic.
type PartitionOffsets = Vec<(i32, i64, i32, String)>;

type Fetched = Result<Vec<(TopicPartition, Option<CommittedOffset>)>, GroupError>;

async fn fetch(
    services: &BrokerServices,
    group: &str,
    wanted: Option<Vec<TopicPartition>>,
) -> Fetched {
    services.groups.fetch_offsets(group, wanted).await
}

/// (topic, [(partition, offset, epoch, metadata)]) in request order.
fn by_topic(
    offsets: Vec<(TopicPartition, Option<CommittedOffset>)>,
) -> Vec<(String, PartitionOffsets)> {
    let mut topics: Vec<(String, PartitionOffsets)> = Vec::new();
    for (tp, committed) in offsets {
        let (offset, epoch, metadata) = match committed {
            Some(c) => (c.offset.value(), c.leader_epoch, c.metadata),
            None => (-1, -1, String::new()),
        };
        let entry = (tp.partition, offset, epoch, metadata);
        match topics.iter_mut().find(|(t, _)| *t == tp.topic) {
            Some((_, partitions)) => partitions.push(entry),
            None => topics.push((tp.topic, vec![entry])),
        }
    }
    topics
}

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: OffsetFetchRequest,
) -> Option<OffsetFetchResponse> {
    let version = ctx.version;
    if version >= 8 {
        let mut groups = Vec::with_capacity(request.groups.len());
        for group in &request.groups {
            let wanted = group.topics.as_ref().map(|topics| {
                topics
                    .iter()
                    .flat_map(|t| {
                        t.partition_indexes
                            .iter()
                            .map(|&p| TopicPartition::new(t.name.0.to_string(), p))
                    })
                    .collect()
            });
            let response_group =
                OffsetFetchResponseGroup::default().with_group_id(group.group_id.clone());
            groups.push(match fetch(services, &group.group_id.0, wanted).await {
                Err(e) => response_group.with_error_code(group_error_code(&e)),
                Ok(offsets) => response_group.with_topics(
                    by_topic(offsets)
                        .into_iter()
                        .map(|(topic, partitions)| {
                            OffsetFetchResponseTopics::default()
                                .with_name(TopicName(sb(topic)))
                                .with_partitions(
                                    partitions
                                        .into_iter()
                                        .map(|(p, offset, epoch, metadata)| {
                                            OffsetFetchResponsePartitions::default()
                                                .with_partition_index(p)
                                                .with_committed_offset(offset)
                                                .with_committed_leader_epoch(epoch)
                                                .with_metadata(Some(sb(metadata)))
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                ),
            });
        }
        return Some(OffsetFetchResponse::default().with_groups(groups));
    }
    let requested: Option<Vec<TopicPartition>> = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partition_indexes
                    .iter()
                    .map(|&p| TopicPartition::new(t.name.0.to_string(), p))
            })
            .collect()
    });
    let outcome = fetch(services, &request.group_id.0, requested.clone()).await;
    let (offsets, error_code) = match outcome {
        Ok(offsets) => (offsets, NONE),
        // v0-1 carry errors per partition only.
        Err(e) => (
            requested
                .unwrap_or_default()
                .into_iter()
                .map(|tp| (tp, None))
                .collect(),
            group_error_code(&e),
        ),
    };
    let partition_code = if version < 2 { error_code } else { NONE };
    let topics = by_topic(offsets)
        .into_iter()
        .map(|(topic, partitions)| {
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(sb(topic)))
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(p, offset, epoch, metadata)| {
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(if version >= 5 { epoch } else { -1 })
                                .with_metadata(Some(sb(metadata)))
                                .with_error_code(partition_code)
                        })
                        .collect(),
                )
        })
        .collect();
    let response = OffsetFetchResponse::default().with_topics(topics);
    Some(if version >= 2 {
        response.with_error_code(error_code)
    } else {
        response
    })
}
