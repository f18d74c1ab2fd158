//! OffsetCommit (key 8), versions 0-8: committed offsets go to ZooKeeper at
//! `/consumers/<group>/offsets/<topic>/<partition>` in one multi per request.
//! v0 is the ZooKeeper-era commit (no generation, no member): a simple commit.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use crate::group::OffsetCommitEntry;
use crate::model::TopicPartition;
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::{group_error_code, group_result_code};

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
                offset: p.committed_offset,
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
    let codes: Vec<i16> = match &outcome {
        Err(e) => vec![group_error_code(e); order.len()],
        Ok(results) => order
            .iter()
            .map(|(name, partition)| {
                results
                    .iter()
                    .find(|(tp, _)| tp.topic == name.0.as_str() && tp.partition == *partition)
                    .map_or(0, |(_, r)| group_result_code(r))
            })
            .collect(),
    };
    let mut topics: Vec<OffsetCommitResponseTopic> = Vec::new();
    for ((name, partition), code) in order.into_iter().zip(codes) {
        let entry = OffsetCommitResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(code);
        match topics.iter_mut().find(|t| t.name == name) {
            Some(t) => t.partitions.push(entry),
            None => topics.push(
                OffsetCommitResponseTopic::default()
                    .with_name(name)
                    .with_partitions(vec![entry]),
            ),
        }
    }
    Some(OffsetCommitResponse::default().with_topics(topics))
}
