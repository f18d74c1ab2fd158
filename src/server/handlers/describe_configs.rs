//! DescribeConfigs (key 32), versions 0-4, for topics and brokers: every
//! config with its value, source and (when asked) synonyms as Kafka's
//! ZooKeeper-mode broker reports them (`admin::config_describe`). Topic
//! overrides are read from `/config/topics/<t>`; broker resources name this
//! broker's id (its static and dynamic configs) or "" (the cluster default's
//! dynamic configs); another id is INVALID_REQUEST, as in Kafka.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::admin::config_describe::{ConfigEntry, SOURCE_DEFAULT_CONFIG};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, admin_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: DescribeConfigsRequest,
) -> Option<DescribeConfigsResponse> {
    let mut results = Vec::with_capacity(request.resources.len());
    for resource in &request.resources {
        let name = resource.resource_name.to_string();
        let result = DescribeConfigsResult::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        let described = services
            .admin
            .describe_configs(resource.resource_type, &name)
            .await;
        let entries = match described {
            Ok(entries) => entries,
            Err(e) => {
                results.push(
                    result
                        .with_error_code(admin_error_code(&e))
                        .with_error_message(Some(StrBytes::from_string(e.to_string()))),
                );
                continue;
            }
        };
        let wanted = resource.configuration_keys.as_ref();
        let configs = entries
            .into_iter()
            .filter(|c| wanted.is_none_or(|keys| keys.iter().any(|k| k.as_str() == c.name)))
            .map(|c| to_wire(c, ctx.version, &request))
            .collect();
        results.push(result.with_error_code(NONE).with_configs(configs));
    }
    Some(DescribeConfigsResponse::default().with_results(results))
}

fn to_wire(
    c: ConfigEntry,
    version: i16,
    request: &DescribeConfigsRequest,
) -> DescribeConfigsResourceResult {
    let synonyms = if request.include_synonyms && version >= 1 {
        c.synonyms
            .into_iter()
            .map(|s| {
                DescribeConfigsSynonym::default()
                    .with_name(StrBytes::from_string(s.name))
                    .with_value(s.value.map(StrBytes::from_string))
                    .with_source(s.source)
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut entry = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(c.name))
        .with_value(c.value.map(StrBytes::from_string))
        .with_read_only(c.read_only)
        .with_is_sensitive(c.is_sensitive)
        .with_synonyms(synonyms);
    if version == 0 {
        entry.is_default = c.source == SOURCE_DEFAULT_CONFIG;
    } else {
        entry.config_source = c.source;
    }
    if version >= 3 {
        entry.config_type = c.config_type;
        if request.include_documentation {
            entry.documentation = c.documentation.map(StrBytes::from_string);
        }
    }
    entry
}
