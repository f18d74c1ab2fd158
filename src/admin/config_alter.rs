//! Altering configs as Kafka's `ZkAdminManager` does for AlterConfigs and
//! IncrementalAlterConfigs: the receiving broker validates the new entity
//! config, and unless `validate_only` writes `/config/topics/<t>` or
//! `/config/brokers/<id|<default>>` (`{"version":1,"config":{...}}`) and a
//! `/config/changes/config_change_<seq>` notification that every broker
//! applies. Broker resources name this broker's id or "" (the cluster
//! default); another id is INVALID_REQUEST, as in Kafka.
//!
//! Refusals are ZkAdminManager's: an unknown topic key is
//! `AdminError::InvalidConfig` ("Unknown topic config name: k"); a bad value,
//! or a broker key that cannot change at run time, is a `ConfigException`
//! (`AdminError::InvalidConfigValue`, which Kafka answers INVALID_REQUEST:
//! "Invalid config value for resource ...: Invalid value v for configuration
//! k: ..."), the key named in the message either way.

use std::collections::BTreeMap;

use crate::admin::AdminError;
use crate::admin::dynamic_config::{DEFAULT_BROKER_ENTITY, DynamicConfigs};
use crate::config::ConfigType;
use crate::config::dynamic::{
    BrokerConfigLayers, kafka_broker_default, topic_key, validate_broker_config,
    validate_topic_config,
};
use crate::model::BrokerId;
use crate::zk::{ZkClient, paths};

/// Kafka's `ConfigResource.Type` codes.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// IncrementalAlterConfigs operations (Kafka's `AlterConfigOp.OpType`).
pub const OP_SET: i8 = 0;
pub const OP_DELETE: i8 = 1;
pub const OP_APPEND: i8 = 2;
pub const OP_SUBTRACT: i8 = 3;

/// The names of the configs in a request that came without a value, joined
/// with commas (Kafka refuses those with INVALID_REQUEST); `None` if all
/// have one. `configs`: (name, whether its value is null).
pub fn null_value_names<'a>(configs: impl IntoIterator<Item = (&'a str, bool)>) -> Option<String> {
    let nulls: Vec<&str> = configs
        .into_iter()
        .filter(|(_, null)| *null)
        .map(|(name, _)| name)
        .collect();
    (!nulls.is_empty()).then(|| nulls.join(","))
}

fn fail<T>(reason: impl Into<String>) -> Result<T, AdminError> {
    Err(AdminError::invalid_request(reason))
}

/// A resource being altered: its ZooKeeper entity.
pub struct Entity {
    pub entity_type: &'static str,
    /// Topic name, broker id or `<default>`.
    pub name: String,
}

impl Entity {
    fn describe(&self) -> String {
        let kind = if self.entity_type == paths::CONFIG_TYPE_TOPICS {
            "TOPIC"
        } else {
            "BROKER"
        };
        let name = if self.name == DEFAULT_BROKER_ENTITY {
            ""
        } else {
            &self.name
        };
        format!("ConfigResource(type={kind}, name='{name}')")
    }
}

/// The ZooKeeper entity of a resource, refusing types other than topics and
/// brokers and broker ids other than this broker's.
pub async fn resolve(
    zk: &ZkClient,
    broker_id: BrokerId,
    resource_type: i8,
    resource_name: &str,
) -> Result<Entity, AdminError> {
    match resource_type {
        RESOURCE_TOPIC => {
            let exists = zk
                .get_all_topics()
                .await?
                .iter()
                .any(|t| t == resource_name);
            if !exists {
                return Err(AdminError::UnknownTopic {
                    topic: resource_name.to_owned(),
                });
            }
            Ok(Entity {
                entity_type: paths::CONFIG_TYPE_TOPICS,
                name: resource_name.to_string(),
            })
        }
        RESOURCE_BROKER if resource_name.is_empty() => Ok(Entity {
            entity_type: paths::CONFIG_TYPE_BROKERS,
            name: DEFAULT_BROKER_ENTITY.to_string(),
        }),
        RESOURCE_BROKER => match resource_name.parse::<i32>() {
            Err(_) => fail(format!(
                "Broker id must be an integer, but it is: {resource_name}"
            )),
            Ok(id) if BrokerId(id) == broker_id => Ok(Entity {
                entity_type: paths::CONFIG_TYPE_BROKERS,
                name: id.to_string(),
            }),
            _ => fail(format!(
                "Unexpected broker id, expected {broker_id}, but received {resource_name}"
            )),
        },
        other => fail(format!(
            "AlterConfigs is only supported for topics and brokers, but resource type is {other}"
        )),
    }
}

/// The entity's current config in ZooKeeper.
pub async fn current(
    zk: &ZkClient,
    entity: &Entity,
) -> Result<BTreeMap<String, String>, AdminError> {
    Ok(zk
        .get_entity_config(entity.entity_type, &entity.name)
        .await?)
}

/// Validates the entity's complete new config and, unless `validate_only`,
/// writes it with a change notification.
pub async fn validate_and_write(
    zk: &ZkClient,
    configs: &DynamicConfigs,
    entity: &Entity,
    config: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), AdminError> {
    let invalid = |reason: String| AdminError::InvalidConfigValue {
        resource: entity.describe(),
        reason,
    };
    if entity.entity_type == paths::CONFIG_TYPE_TOPICS {
        for (key, value) in &config {
            validate_topic_config(key, value).map_err(|reason| {
                if topic_key(key).is_none() {
                    AdminError::InvalidConfig {
                        key: key.clone(),
                        reason,
                    }
                } else {
                    invalid(reason)
                }
            })?;
        }
    } else {
        let per_broker = entity.name != DEFAULT_BROKER_ENTITY;
        let layers: BrokerConfigLayers = configs.layers();
        validate_broker_config(&layers, per_broker, &config).map_err(invalid)?;
    }
    if validate_only {
        return Ok(());
    }
    Ok(zk
        .change_entity_config(entity.entity_type, &entity.name, &config)
        .await?)
}

/// Whether `key` of this entity type is a list (APPEND/SUBTRACT allowed).
fn is_list(entity: &Entity, key: &str) -> bool {
    if entity.entity_type == paths::CONFIG_TYPE_TOPICS {
        topic_key(key).is_some_and(|k| k.config_type == ConfigType::List)
    } else {
        key == "log.cleanup.policy"
    }
}

/// The value APPEND/SUBTRACT start from when `key` is not set: Kafka's default.
fn list_default(entity: &Entity, key: &str) -> String {
    let broker_key = if entity.entity_type == paths::CONFIG_TYPE_TOPICS {
        topic_key(key)
            .and_then(|k| k.broker_synonyms.first().copied())
            .unwrap_or("")
    } else {
        key
    };
    kafka_broker_default(broker_key).unwrap_or("").to_string()
}

/// One IncrementalAlterConfigs operation.
pub struct IncrementalOp {
    pub name: String,
    pub op: i8,
    pub value: Option<String>,
}

/// Applies incremental operations to `config` (Kafka's `prepareIncrementalConfigs`).
pub fn apply_incremental(
    entity: &Entity,
    config: &mut BTreeMap<String, String>,
    ops: &[IncrementalOp],
) -> Result<(), AdminError> {
    let mut seen = std::collections::BTreeSet::new();
    let duplicates: std::collections::BTreeSet<&str> = ops
        .iter()
        .filter(|op| !seen.insert(op.name.as_str()))
        .map(|op| op.name.as_str())
        .collect();
    if !duplicates.is_empty() {
        let keys: Vec<&str> = duplicates.into_iter().collect();
        return fail(format!(
            "Error due to duplicate config keys : {}",
            keys.join(",")
        ));
    }
    let nulls: Vec<String> = ops
        .iter()
        .filter(|op| op.value.is_none() && op.op != OP_DELETE)
        .map(|op| format!("{}:{}", op_name(op.op), op.name))
        .collect();
    if !nulls.is_empty() {
        return fail(format!(
            "Null value not supported for : {}",
            nulls.join(",")
        ));
    }
    for op in ops {
        let name = op.name.clone();
        let value = op.value.clone().unwrap_or_default();
        match op.op {
            OP_SET => {
                config.insert(name, value);
            }
            OP_DELETE => {
                config.remove(&name);
            }
            OP_APPEND | OP_SUBTRACT => {
                if !is_list(entity, &name) {
                    let verb = if op.op == OP_APPEND {
                        "append"
                    } else {
                        "subtract"
                    };
                    return fail(format!(
                        "Config value {verb} is not allowed for config key: {name}"
                    ));
                }
                let old = config
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| list_default(entity, &name));
                let mut items: Vec<String> = split_list(&old);
                for item in split_list(&value) {
                    if op.op == OP_APPEND {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    } else {
                        items.retain(|i| *i != item);
                    }
                }
                config.insert(name, items.join(","));
            }
            other => {
                return fail(format!(
                    "Unknown config operation {other} for config key: {name}"
                ));
            }
        }
    }
    Ok(())
}

/// Kafka's `OpType` names.
fn op_name(op: i8) -> &'static str {
    match op {
        OP_SET => "SET",
        OP_DELETE => "DELETE",
        OP_APPEND => "APPEND",
        OP_SUBTRACT => "SUBTRACT",
        _ => "UNKNOWN",
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> Entity {
        Entity {
            entity_type: paths::CONFIG_TYPE_TOPICS,
            name: "t".to_string(),
        }
    }

    fn op(name: &str, op: i8, value: &str) -> IncrementalOp {
        IncrementalOp {
            name: name.to_string(),
            op,
            value: Some(value.to_string()),
        }
    }

    #[test]
    fn incremental_ops_follow_kafka() {
        let mut config: BTreeMap<String, String> =
            [("retention.ms".to_string(), "1".to_string())].into();
        apply_incremental(
            &topic(),
            &mut config,
            &[
                op("retention.ms", OP_DELETE, ""),
                op("segment.ms", OP_SET, "100"),
                op("cleanup.policy", OP_APPEND, "compact"),
            ],
        )
        .unwrap();
        assert_eq!(config.get("retention.ms"), None);
        assert_eq!(config["segment.ms"], "100");
        assert_eq!(config["cleanup.policy"], "delete,compact");
        apply_incremental(
            &topic(),
            &mut config,
            &[op("cleanup.policy", OP_SUBTRACT, "delete")],
        )
        .unwrap();
        assert_eq!(config["cleanup.policy"], "compact");
        let err = apply_incremental(&topic(), &mut config, &[op("segment.ms", OP_APPEND, "1")])
            .unwrap_err();
        assert!(matches!(err, AdminError::InvalidRequest { .. }), "{err:?}");
        let dup = apply_incremental(
            &topic(),
            &mut config,
            &[op("segment.ms", OP_SET, "1"), op("segment.ms", OP_SET, "2")],
        )
        .unwrap_err();
        assert_eq!(
            dup.to_string(),
            "Error due to duplicate config keys : segment.ms"
        );
    }
}
