//! DescribeConfigs (key 32), versions 0-4, for topics and brokers: every
//! config with its value, source and (when asked) synonyms as Kafka's
//! ZooKeeper-mode broker reports them (`server::config_describe`). Topic
//! overrides are read from `/config/topics/<t>`; broker resources name this
//! broker's id (its static and dynamic configs) or "" (the cluster default's
//! dynamic configs); another id is INVALID_REQUEST, as in Kafka.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::server::config_alter::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::server::config_describe::{
    ConfigEntry, SOURCE_DEFAULT_CONFIG, broker_entries, topic_entries,
};
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::NONE;

pub const VERSIONS: (i16, i16) = (0, 4);

/// The entries of one resource, or the error and message to answer.
async fn entries(
    services: &BrokerServices,
    resource_type: i8,
    name: &str,
) -> Result<Vec<ConfigEntry>, (ResponseError, String)> {
    let configs = &services.dynamic_configs;
    match resource_type {
        RESOURCE_TOPIC => {
            crate::server::topic_admin::validate_topic_name(name)
                .map_err(|m| (ResponseError::InvalidTopicException, m))?;
            if !services.metadata.snapshot().topics.contains_key(name) {
                return Err((
                    ResponseError::UnknownTopicOrPartition,
                    format!("The topic '{name}' does not exist."),
                ));
            }
            let overrides = services
                .zk
                .get_topic_config(name)
                .await
                .map_err(|e| (ResponseError::UnknownServerError, e.to_string()))?;
            Ok(topic_entries(
                &configs.effective(),
                &configs.layers(),
                &overrides,
            ))
        }
        RESOURCE_BROKER if name.is_empty() => Ok(broker_entries(&configs.layers(), false)),
        RESOURCE_BROKER if name.parse::<i32>().ok() == Some(services.broker_id) => {
            Ok(broker_entries(&configs.layers(), true))
        }
        RESOURCE_BROKER => Err((
            ResponseError::InvalidRequest,
            format!(
                "Unexpected broker id, expected {} or empty string, but received {name}",
                services.broker_id
            ),
        )),
        other => Err((
            ResponseError::InvalidRequest,
            format!("Unsupported resource type {other}"),
        )),
    }
}

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
        let entries = match entries(services, resource.resource_type, &name).await {
            Ok(entries) => entries,
            Err((error, message)) => {
                results.push(
                    result
                        .with_error_code(error.code())
                        .with_error_message(Some(StrBytes::from_string(message))),
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
