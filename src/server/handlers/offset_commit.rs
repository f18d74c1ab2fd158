//! OffsetCommit (key 8), versions 0-8: committed offsets go to ZooKeeper at
//! `/consumers/<group>/offsets/<topic>/<partition>` in one fenced multi per
//! request (INVALID_COMMIT_OFFSET_SIZE when it cannot fit in one).
//! v0 is the ZooKeeper-era commit (no generation, no member): a simple commit.

use std::collections::HashMap;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, TopicName};

use crate::group::{GroupError, OffsetCommitEntry};
use crate::model::{Offset, TopicPartition};
use crate::server::context::BrokerServices;
use crate::server::errors::{group_error_code, group_result_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 8);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: OffsetCommitRequest,
) -> Option<OffsetCommitResponse> {
    let generation = if ctx.version == 0 {
        -1
    } else {
        request.generation_id_or_member_epoch
    };
    let mut order = Vec::new();
    let mut entries = Vec::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
            order.push((topic.name.clone(), p.partition_index));
            entries.push(OffsetCommitEntry {
                partition: tp,
                offset: Offset::new(p.committed_offset),
                leader_epoch: p.committed_leader_epoch,
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            });
        }
    }
    let outcome = services
        .groups
        .commit_offsets(
            &request.group_id.0,
            generation,
            &request.member_id,
            request.group_instance_id.as_deref(),
            entries,
        )
        .await;
    let codes = response_codes(&order, &outcome);
    // Topics in request order, partitions in request order within each.
    let mut topics: Vec<OffsetCommitResponseTopic> = Vec::new();
    let mut topic_index: HashMap<TopicName, usize> = HashMap::new();
    for ((name, partition), code) in order.into_iter().zip(codes) {
        let entry = OffsetCommitResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(code);
        let index = *topic_index.entry(name.clone()).or_insert_with(|| {
            topics.push(OffsetCommitResponseTopic::default().with_name(name));
            topics.len() - 1
        });
        topics[index].partitions.push(entry);
    }
    Some(OffsetCommitResponse::default().with_topics(topics))
}

type CommitOutcome = Result<Vec<(TopicPartition, Result<(), GroupError>)>, GroupError>;

/// The error code of every requested partition, in request order: one map
/// lookup each (a commit can name tens of thousands of partitions).
fn response_codes(order: &[(TopicName, i32)], outcome: &CommitOutcome) -> Vec<i16> {
    match outcome {
        Err(e) => vec![group_error_code(e); order.len()],
        Ok(results) => {
            let by_partition: HashMap<(&str, i32), i16> = results
                .iter()
                .map(|(tp, r)| ((tp.topic.as_str(), tp.partition), group_result_code(r)))
                .collect();
            order
                .iter()
                .map(|(name, p)| {
                    by_partition
                        .get(&(name.0.as_str(), *p))
                        .copied()
                        .unwrap_or(0)
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::StrBytes;

    #[test]
    fn codes_follow_the_request_order() {
        let name = |n: &str| TopicName(StrBytes::from_string(n.to_string()));
        let order = vec![(name("a"), 1), (name("b"), 0), (name("a"), 0)];
        let outcome = Ok(vec![
            (TopicPartition::new("a", 0), Ok(())),
            (
                TopicPartition::new("b", 0),
                Err(GroupError::UnknownTopicOrPartition),
            ),
            (TopicPartition::new("a", 1), Ok(())),
        ]);
        assert_eq!(response_codes(&order, &outcome), vec![0, 3, 0]);
        let failed = Err(GroupError::NotCoordinator);
        assert_eq!(response_codes(&order, &failed), vec![16, 16, 16]);
    }
}
