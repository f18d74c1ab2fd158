//! DescribeConfigs (key 32), versions 0-4, for topics: every topic-level key
//! with its value and source (topic override from `/config/topics/<t>`,
//! static broker config, or Kafka's default), with synonyms when asked.
//! Broker resources come with the operations issue; until then they get
//! INVALID_REQUEST with a message saying so.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::config::TopicConfigDefault;
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::NONE;

pub const VERSIONS: (i16, i16) = (0, 4);

const TOPIC: i8 = 2;
pub const SOURCE_TOPIC_CONFIG: i8 = 1;
pub const SOURCE_STATIC_BROKER_CONFIG: i8 = 4;
pub const SOURCE_DEFAULT_CONFIG: i8 = 5;

/// A topic's effective value of one topic-level key and where it comes from.
pub struct EffectiveTopicConfig {
    /// What the broker's configuration alone gives this key.
    pub default: TopicConfigDefault,
    pub value: String,
    /// One of the `SOURCE_*` constants (Kafka's `ConfigSource`).
    pub source: i8,
}

/// Every topic-level key with its effective value for a topic whose
/// overrides (`/config/topics/<t>`) are `overrides`, sorted by name.
pub fn effective_topic_configs(
    services: &BrokerServices,
    overrides: &std::collections::BTreeMap<String, String>,
) -> Vec<EffectiveTopicConfig> {
    services
        .config
        .topic_defaults()
        .into_iter()
        .map(|d| {
            let (value, source) = match overrides.get(d.name) {
                Some(v) => (v.clone(), SOURCE_TOPIC_CONFIG),
                None if d.is_default => (d.value.clone(), SOURCE_DEFAULT_CONFIG),
                None => (d.value.clone(), SOURCE_STATIC_BROKER_CONFIG),
            };
            EffectiveTopicConfig {
                default: d,
                value,
                source,
            }
        })
        .collect()
}

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: DescribeConfigsRequest,
) -> Option<DescribeConfigsResponse> {
    let mut results = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let name = resource.resource_name.to_string();
        let result = DescribeConfigsResult::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        if resource.resource_type != TOPIC {
            results.push(
                result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(StrBytes::from_static_str(
                        "Sluice describes topic configs only; broker configs come with the operations release",
                    ))),
            );
            continue;
        }
        if !services.metadata.snapshot().topics.contains_key(&name) {
            results.push(
                result
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                    .with_error_message(Some(StrBytes::from_string(format!(
                        "Topic {name} does not exist"
                    )))),
            );
            continue;
        }
        let overrides = match services.zk.get_topic_config(&name).await {
            Ok(map) => map,
            Err(e) => {
                results.push(
                    result
                        .with_error_code(ResponseError::UnknownServerError.code())
                        .with_error_message(Some(StrBytes::from_string(e.to_string()))),
                );
                continue;
            }
        };
        let wanted = resource.configuration_keys.as_ref();
        let configs = effective_topic_configs(services, &overrides)
            .into_iter()
            .filter(|c| wanted.is_none_or(|keys| keys.iter().any(|k| k.as_str() == c.default.name)))
            .map(|c| {
                let EffectiveTopicConfig {
                    default: d,
                    value,
                    source,
                } = c;
                let mut synonyms = Vec::new();
                if request.include_synonyms && ctx.version >= 1 {
                    if source == SOURCE_TOPIC_CONFIG {
                        synonyms.push(synonym(d.name, &value, SOURCE_TOPIC_CONFIG));
                    }
                    if let Some(key) = d.synonyms.first().filter(|_| !d.is_default) {
                        synonyms.push(synonym(key, &d.value, SOURCE_STATIC_BROKER_CONFIG));
                    }
                    synonyms.push(synonym(d.name, &d.value, SOURCE_DEFAULT_CONFIG));
                }
                let entry = DescribeConfigsResourceResult::default()
                    .with_name(StrBytes::from_static_str(d.name))
                    .with_value(Some(StrBytes::from_string(value)))
                    .with_read_only(false)
                    .with_is_sensitive(false)
                    .with_synonyms(synonyms);
                if ctx.version == 0 {
                    entry.with_is_default(source == SOURCE_DEFAULT_CONFIG)
                } else {
                    entry.with_config_source(source)
                }
            })
            .collect();
        results.push(result.with_error_code(NONE).with_configs(configs));
    }
    Some(DescribeConfigsResponse::default().with_results(results))
}

fn synonym(name: &str, value: &str, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(StrBytes::from_string(name.to_owned()))
        .with_value(Some(StrBytes::from_string(value.to_owned())))
        .with_source(source)
}
