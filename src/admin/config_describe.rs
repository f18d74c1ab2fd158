//! Config entries as Kafka's `ConfigHelper` (ZooKeeper mode) reports them in
//! DescribeConfigs and CreateTopics: each value with its source and the
//! synonyms behind it, highest precedence first (TOPIC_CONFIG,
//! DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG,
//! STATIC_BROKER_CONFIG, DEFAULT_CONFIG), each listed only when set, and the
//! first broker synonym's name leading the broker part (Kafka drops the
//! synonyms before it, so `retention.ms` on a default broker has none).
//! A broker lists every key of the broker key catalogue, set or not.
//! `describe_resource` is DescribeConfigs' lookup of one resource: a topic's
//! overrides from `/config/topics/<t>`, this broker's layers, or the cluster
//! default's.

use std::collections::{BTreeMap, BTreeSet};

use crate::admin::AdminError;
use crate::admin::config_alter::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::admin::dynamic_config::DynamicConfigs;
use crate::admin::topics::validate_topic_name;
use crate::config::dynamic::{BrokerConfigLayers, TOPIC_KEYS, TopicKey, kafka_broker_default};
use crate::config::{BrokerConfig, broker_key, broker_keys, is_sensitive_key};
use crate::metadata::MetadataCache;
use crate::model::BrokerId;
use crate::zk::ZkClient;

/// Kafka's `ConfigSource` ids.
pub const SOURCE_TOPIC_CONFIG: i8 = 1;
pub const SOURCE_DYNAMIC_BROKER_CONFIG: i8 = 2;
pub const SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
pub const SOURCE_STATIC_BROKER_CONFIG: i8 = 4;
pub const SOURCE_DEFAULT_CONFIG: i8 = 5;

/// One synonym: a key, its value (None when sensitive) and its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
}

/// One described config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// None when sensitive or unset without a default.
    pub value: Option<String>,
    pub source: i8,
    pub read_only: bool,
    pub is_sensitive: bool,
    /// Kafka's `ConfigType` id (0: unknown).
    pub config_type: i8,
    pub documentation: Option<String>,
    pub synonyms: Vec<Synonym>,
}

/// Kafka's `configSynonyms`: the set values of `synonyms` in each layer, then
/// everything before `name` dropped.
fn broker_synonyms(
    layers: &BrokerConfigLayers,
    name: &str,
    synonyms: &[&str],
    sensitive: bool,
) -> Vec<Synonym> {
    let mut all = Vec::new();
    let mut add = |value: Option<&str>, key: &str, source: i8| {
        if let Some(v) = value {
            all.push(Synonym {
                name: key.to_string(),
                value: (!sensitive).then(|| v.to_string()),
                source,
            });
        }
    };
    // Kafka's precedence: dynamic per-broker, dynamic default, static file.
    let set_layers = [
        (&layers.dynamic_broker, SOURCE_DYNAMIC_BROKER_CONFIG),
        (
            &layers.dynamic_default,
            SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG,
        ),
        (&layers.static_props, SOURCE_STATIC_BROKER_CONFIG),
    ];
    for (layer, source) in set_layers {
        for s in synonyms {
            add(layer.get(*s).map(String::as_str), s, source);
        }
    }
    for s in synonyms {
        add(kafka_broker_default(s), s, SOURCE_DEFAULT_CONFIG);
    }
    let first = all.iter().position(|s| s.name == name).unwrap_or(all.len());
    all.split_off(first)
}

/// The value a topic without overrides gets for `key`, from the effective
/// broker config.
fn broker_value(defaults: &BTreeMap<&'static str, String>, key: &TopicKey) -> String {
    defaults.get(key.name).cloned().unwrap_or_default()
}

/// Every topic-level key of a topic with `overrides`, sorted by name.
pub fn topic_entries(
    effective: &BrokerConfig,
    layers: &BrokerConfigLayers,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigEntry> {
    let defaults: BTreeMap<&'static str, String> = effective
        .topic_defaults()
        .into_iter()
        .map(|d| (d.name, d.value))
        .collect();
    TOPIC_KEYS
        .iter()
        .map(|key| {
            let mut synonyms = match key.broker_synonyms.first() {
                Some(primary) => broker_synonyms(layers, primary, key.broker_synonyms, false),
                None => Vec::new(),
            };
            let value = match overrides.get(key.name) {
                Some(v) => {
                    let v = v.trim().to_string();
                    synonyms.insert(
                        0,
                        Synonym {
                            name: key.name.to_string(),
                            value: Some(v.clone()),
                            source: SOURCE_TOPIC_CONFIG,
                        },
                    );
                    v
                }
                None => broker_value(&defaults, key),
            };
            ConfigEntry {
                name: key.name.to_string(),
                value: Some(value),
                source: synonyms.first().map_or(SOURCE_DEFAULT_CONFIG, |s| s.source),
                read_only: false,
                is_sensitive: false,
                config_type: key.config_type as i8,
                documentation: Some(key.documentation.to_string()),
                synonyms,
            }
        })
        .collect()
}

/// This broker's configs (`per_broker`), or the cluster default's dynamic
/// ones. For this broker, like Kafka's `KafkaConfig` describe: every broker
/// key Sluice knows (`config::broker_keys`, with Kafka's type and default,
/// value null where Kafka has no default) plus any other key set in a layer,
/// sorted by name.
pub fn broker_entries(layers: &BrokerConfigLayers, per_broker: bool) -> Vec<ConfigEntry> {
    let names: BTreeSet<String> = if per_broker {
        let mut names: BTreeSet<String> = layers
            .static_props
            .keys()
            .chain(layers.dynamic_default.keys())
            .chain(layers.dynamic_broker.keys())
            .cloned()
            .collect();
        names.extend(broker_keys().iter().map(|k| k.name.to_string()));
        for key in TOPIC_KEYS {
            names.extend(key.broker_synonyms.iter().map(|s| s.to_string()));
        }
        names
    } else {
        layers.dynamic_default.keys().cloned().collect()
    };
    names
        .into_iter()
        .map(|name| {
            let sensitive = is_sensitive_key(&name);
            let topic = TOPIC_KEYS
                .iter()
                .find(|k| k.broker_synonyms.contains(&name.as_str()));
            // A broker key's synonyms are those after it in its topic key's list.
            let synonym_keys: Vec<&str> = match topic {
                Some(k) => k
                    .broker_synonyms
                    .iter()
                    .skip_while(|s| **s != name)
                    .copied()
                    .collect(),
                None => vec![name.as_str()],
            };
            let mut synonyms = broker_synonyms(layers, &name, &synonym_keys, sensitive);
            if !per_broker {
                synonyms.retain(|s| s.source == SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG);
            }
            let value = synonyms
                .first()
                .filter(|s| s.name == name)
                .map(|s| s.value.clone())
                .unwrap_or_else(|| kafka_broker_default(&name).map(str::to_string));
            let dynamic = crate::config::dynamic::is_dynamic_broker_key(&name);
            ConfigEntry {
                value: if sensitive { None } else { value },
                source: synonyms.first().map_or(SOURCE_DEFAULT_CONFIG, |s| s.source),
                read_only: !dynamic,
                is_sensitive: sensitive,
                config_type: broker_key(&name).map_or(0, |k| k.config_type as i8),
                documentation: topic.map(|k| k.documentation.to_string()),
                synonyms,
                name,
            }
        })
        .collect()
}

/// The entries of one DescribeConfigs resource: a topic (known to the
/// metadata cache) with its overrides, this broker (`broker_id`), or the
/// cluster default (an empty name); another broker id or resource type is
/// an invalid request, as in Kafka.
pub async fn describe_resource(
    zk: &ZkClient,
    metadata: &MetadataCache,
    configs: &DynamicConfigs,
    broker_id: BrokerId,
    resource_type: i8,
    name: &str,
) -> Result<Vec<ConfigEntry>, AdminError> {
    match resource_type {
        RESOURCE_TOPIC => {
            validate_topic_name(name)?;
            if !metadata.snapshot().topics.contains_key(name) {
                return Err(AdminError::UnknownTopic {
                    topic: name.to_owned(),
                });
            }
            let overrides = zk.get_topic_config(name).await?;
            Ok(topic_entries(
                &configs.effective(),
                &configs.layers(),
                &overrides,
            ))
        }
        RESOURCE_BROKER if name.is_empty() => Ok(broker_entries(&configs.layers(), false)),
        RESOURCE_BROKER if name.parse::<i32>().ok().map(BrokerId) == Some(broker_id) => {
            Ok(broker_entries(&configs.layers(), true))
        }
        RESOURCE_BROKER => Err(AdminError::invalid_request(format!(
            "Unexpected broker id, expected {broker_id} or empty string, but received {name}"
        ))),
        other => Err(AdminError::invalid_request(format!(
            "Unsupported resource type {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers() -> BrokerConfigLayers {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        BrokerConfigLayers {
            static_props: map(&[
                ("zookeeper.connect", "z:2181"),
                ("log.segment.bytes", "2000"),
            ]),
            dynamic_default: map(&[("log.retention.ms", "5000")]),
            dynamic_broker: map(&[]),
        }
    }

    #[test]
    fn sources_and_synonyms_are_kafkas() {
        let layers = layers();
        let effective = layers.effective().unwrap();
        let overrides: BTreeMap<String, String> =
            [("max.message.bytes".to_string(), "100".to_string())].into();
        let entries = topic_entries(&effective, &layers, &overrides);
        let get = |n: &str| entries.iter().find(|e| e.name == n).unwrap().clone();
        let retention = get("retention.ms");
        assert_eq!(retention.value.as_deref(), Some("5000"));
        assert_eq!(retention.source, SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG);
        let names: Vec<_> = retention
            .synonyms
            .iter()
            .map(|s| (s.name.as_str(), s.source))
            .collect();
        assert_eq!(
            names,
            [
                ("log.retention.ms", SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG),
                ("log.retention.hours", SOURCE_DEFAULT_CONFIG)
            ]
        );
        // Without a log.retention.ms anywhere Kafka lists no synonym at all.
        let plain = topic_entries(&effective, &BrokerConfigLayers::default(), &overrides);
        let plain_retention = plain.iter().find(|e| e.name == "retention.ms").unwrap();
        assert!(plain_retention.synonyms.is_empty());
        assert_eq!(plain_retention.source, SOURCE_DEFAULT_CONFIG);
        let segment = get("segment.bytes");
        assert_eq!(segment.source, SOURCE_STATIC_BROKER_CONFIG);
        assert_eq!(segment.synonyms.len(), 2);
        assert_eq!(segment.synonyms[1].value.as_deref(), Some("1073741824"));
        let max = get("max.message.bytes");
        assert_eq!(max.source, SOURCE_TOPIC_CONFIG);
        assert_eq!(max.synonyms[1].name, "message.max.bytes");
        assert_eq!(max.synonyms[1].source, SOURCE_DEFAULT_CONFIG);
        let brokers = broker_entries(&layers, false);
        assert_eq!(brokers.len(), 1);
        assert_eq!(brokers[0].source, SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG);
    }
}
