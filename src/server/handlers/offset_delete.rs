//! OffsetDelete (key 47), version 0: deletes committed offsets of partitions
//! whose topic no member of the group is subscribed to.

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use crate::model::TopicPartition;
use crate::server::context::BrokerServices;
use crate::server::errors::{group_error_code, group_result_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 0);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: OffsetDeleteRequest,
) -> Option<OffsetDeleteResponse> {
    let partitions: Vec<TopicPartition> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| TopicPartition::new(t.name.0.to_string(), p.partition_index))
        })
        .collect();
    let response = OffsetDeleteResponse::default();
    Some(
        match services
            .groups
            .delete_offsets(&request.group_id.0, partitions)
            .await
        {
            Err(e) => response.with_error_code(group_error_code(&e)),
            Ok(results) => response.with_topics(
                request
                    .topics
                    .into_iter()
                    .map(|t| {
                        let partitions = t
                            .partitions
                            .iter()
                            .map(|p| {
                                let code = results
                                    .iter()
                                    .find(|(tp, _)| {
                                        tp.topic == t.name.0.as_str()
                                            && tp.partition == p.partition_index
                                    })
                                    .map_or(0, |(_, r)| group_result_code(r));
                                OffsetDeleteResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code)
                            })
                            .collect();
                        OffsetDeleteResponseTopic::default()
                            .with_name(t.name)
                            .with_partitions(partitions)
                    })
                    .collect(),
            ),
        },
    )
}
