//! Dynamic configs as Kafka's ZooKeeper mode validates and layers them: every
//! topic-level key (Kafka's `LogConfig`) with its type, range, broker synonyms
//! and the broker keys' Kafka defaults (DescribeConfigs synonyms), the broker
//! keys that may be changed at run time (`DynamicLogConfig`'s reconfigurable
//! keys), and the effective broker config: static properties, then
//! `/config/brokers/<default>`, then `/config/brokers/<id>`.

use std::collections::BTreeMap;

use super::BrokerConfig;
use super::reader::ConfigType;

/// What values a topic key accepts besides its type.
#[derive(Clone, Copy, Debug)]
enum Valid {
    Any,
    AtLeast(i64),
    Between(f64, f64),
    OneOf(&'static [&'static str]),
    ListOf(&'static [&'static str]),
    Throttled,
}

/// One topic-level key as Kafka's `LogConfig` defines it.
#[derive(Clone, Copy, Debug)]
pub struct TopicKey {
    pub name: &'static str,
    pub config_type: ConfigType,
    valid: Valid,
    /// The broker keys this key inherits from, highest precedence first
    /// (Kafka's `brokerConfigSynonyms` of its `TopicConfigSynonyms` entry);
    /// the first is the dynamically updatable one.
    pub broker_synonyms: &'static [&'static str],
    pub documentation: &'static str,
}

use ConfigType::{Boolean, Double, Int, List, Long};

const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
const CLEANUP_POLICIES: &[&str] = &["compact", "delete"];
const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

macro_rules! key {
    ($name:expr, $ty:expr, $valid:expr, [$($syn:expr),*], $doc:expr) => {
        TopicKey { name: $name, config_type: $ty, valid: $valid, broker_synonyms: &[$($syn),*], documentation: $doc }
    };
}

/// Every topic-level key, sorted by name.
pub const TOPIC_KEYS: &[TopicKey] = &[
    key!(
        "cleanup.policy",
        List,
        Valid::ListOf(CLEANUP_POLICIES),
        ["log.cleanup.policy"],
        "A string that is either \"delete\" or \"compact\" or both: the retention policy of old log segments."
    ),
    key!(
        "compression.type",
        ConfigType::String,
        Valid::OneOf(COMPRESSION_TYPES),
        ["compression.type"],
        "The final compression type for the topic."
    ),
    key!(
        "delete.retention.ms",
        Long,
        Valid::AtLeast(0),
        ["log.cleaner.delete.retention.ms"],
        "How long delete tombstone markers are retained for log compacted topics."
    ),
    key!(
        "file.delete.delay.ms",
        Long,
        Valid::AtLeast(0),
        ["log.segment.delete.delay.ms"],
        "The time to wait before deleting a file from the filesystem."
    ),
    key!(
        "flush.messages",
        Long,
        Valid::AtLeast(1),
        ["log.flush.interval.messages"],
        "The number of messages written to the log between forced fsyncs."
    ),
    key!(
        "flush.ms",
        Long,
        Valid::AtLeast(0),
        ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "The time interval between forced fsyncs of the log."
    ),
    key!(
        "follower.replication.throttled.replicas",
        List,
        Valid::Throttled,
        [],
        "Replicas whose log replication should be throttled on the follower side."
    ),
    key!(
        "index.interval.bytes",
        Int,
        Valid::AtLeast(0),
        ["log.index.interval.bytes"],
        "How frequently an entry is added to the offset index."
    ),
    key!(
        "leader.replication.throttled.replicas",
        List,
        Valid::Throttled,
        [],
        "Replicas whose log replication should be throttled on the leader side."
    ),
    key!(
        "max.compaction.lag.ms",
        Long,
        Valid::AtLeast(1),
        ["log.cleaner.max.compaction.lag.ms"],
        "The maximum time a message will remain ineligible for compaction in the log."
    ),
    key!(
        "max.message.bytes",
        Int,
        Valid::AtLeast(0),
        ["message.max.bytes"],
        "The largest record batch size allowed by Kafka (after compression if compression is enabled)."
    ),
    key!(
        "message.downconversion.enable",
        Boolean,
        Valid::Any,
        ["log.message.downconversion.enable"],
        "Whether down-conversion of message formats is enabled to satisfy consume requests."
    ),
    key!(
        "message.format.version",
        ConfigType::String,
        Valid::Any,
        ["log.message.format.version"],
        "The message format version the broker will use to append messages to the logs."
    ),
    key!(
        "message.timestamp.difference.max.ms",
        Long,
        Valid::AtLeast(0),
        ["log.message.timestamp.difference.max.ms"],
        "The maximum difference allowed between the timestamp when a broker receives a message and the timestamp specified in the message."
    ),
    key!(
        "message.timestamp.type",
        ConfigType::String,
        Valid::OneOf(TIMESTAMP_TYPES),
        ["log.message.timestamp.type"],
        "Whether the timestamp in the message is message create time or log append time."
    ),
    key!(
        "min.cleanable.dirty.ratio",
        Double,
        Valid::Between(0.0, 1.0),
        ["log.cleaner.min.cleanable.ratio"],
        "The minimum ratio of dirty log to total log for a log to be eligible for cleaning."
    ),
    key!(
        "min.compaction.lag.ms",
        Long,
        Valid::AtLeast(0),
        ["log.cleaner.min.compaction.lag.ms"],
        "The minimum time a message will remain uncompacted in the log."
    ),
    key!(
        "min.insync.replicas",
        Int,
        Valid::AtLeast(1),
        ["min.insync.replicas"],
        "The minimum number of replicas that must acknowledge a write with acks=all."
    ),
    key!(
        "preallocate",
        Boolean,
        Valid::Any,
        ["log.preallocate"],
        "True if we should preallocate the file on disk when creating a new log segment."
    ),
    key!(
        "retention.bytes",
        Long,
        Valid::Any,
        ["log.retention.bytes"],
        "The maximum size a partition can grow to before old log segments are discarded."
    ),
    key!(
        "retention.ms",
        Long,
        Valid::AtLeast(-1),
        [
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours"
        ],
        "The maximum time a log is retained before old log segments are discarded."
    ),
    key!(
        "segment.bytes",
        Int,
        Valid::AtLeast(14),
        ["log.segment.bytes"],
        "The segment file size for the log."
    ),
    key!(
        "segment.index.bytes",
        Int,
        Valid::AtLeast(4),
        ["log.index.size.max.bytes"],
        "The size of the index that maps offsets to file positions."
    ),
    key!(
        "segment.jitter.ms",
        Long,
        Valid::AtLeast(0),
        ["log.roll.jitter.ms", "log.roll.jitter.hours"],
        "The maximum random jitter subtracted from the scheduled segment roll time."
    ),
    key!(
        "segment.ms",
        Long,
        Valid::AtLeast(1),
        ["log.roll.ms", "log.roll.hours"],
        "The period of time after which Kafka will force the log to roll."
    ),
    key!(
        "unclean.leader.election.enable",
        Boolean,
        Valid::Any,
        ["unclean.leader.election.enable"],
        "Whether replicas not in the ISR may be elected as leader as a last resort."
    ),
];

/// Kafka's default of a broker key that is a topic key's synonym (`None`
/// where `KafkaConfig` has no default, e.g. `log.retention.ms`), from the
/// broker key catalogue.
pub fn kafka_broker_default(key: &str) -> Option<&'static str> {
    super::broker_keys::broker_default(key)
}

/// The topic key `name`, if Kafka has one.
pub fn topic_key(name: &str) -> Option<&'static TopicKey> {
    TOPIC_KEYS.iter().find(|k| k.name == name)
}

/// Kafka's `ConfigException` text for a value `key` does not accept.
fn bad(key: &str, value: &str, reason: &str) -> String {
    format!("Invalid value {value} for configuration {key}: {reason}")
}

/// Checks one topic override as Kafka's `LogConfig.validate` does; the error
/// names the key (`Unknown topic config name: x`, `Invalid value ...`).
pub fn validate_topic_config(key: &str, value: &str) -> Result<(), String> {
    let Some(k) = topic_key(key) else {
        return Err(format!("Unknown topic config name: {key}"));
    };
    let v = value.trim();
    match k.config_type {
        Boolean => {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                return Err(bad(key, value, "Expected value to be either true or false"));
            }
        }
        Int | Long => {
            let parsed = if k.config_type == Int {
                v.parse::<i32>().map(i64::from).ok()
            } else {
                v.parse::<i64>().ok()
            };
            let Some(n) = parsed else {
                let ty = if k.config_type == Int { "INT" } else { "LONG" };
                return Err(bad(key, value, &format!("Not a number of type {ty}")));
            };
            if let Valid::AtLeast(min) = k.valid
                && n < min
            {
                return Err(bad(key, value, &format!("Value must be at least {min}")));
            }
        }
        Double => {
            let Ok(n) = v.parse::<f64>() else {
                return Err(bad(key, value, "Not a number of type DOUBLE"));
            };
            if let Valid::Between(lo, hi) = k.valid {
                if n < lo {
                    return Err(bad(key, value, &format!("Value must be at least {lo}")));
                }
                if n > hi {
                    return Err(bad(key, value, &format!("Value must be no more than {hi}")));
                }
            }
        }
        ConfigType::String => {
            if let Valid::OneOf(allowed) = k.valid
                && !allowed.contains(&v)
            {
                let list = allowed.join(", ");
                return Err(bad(key, value, &format!("String must be one of: {list}")));
            }
        }
        List => match k.valid {
            Valid::ListOf(allowed) => {
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !allowed.contains(&item) {
                        let list = allowed.join(", ");
                        return Err(bad(key, item, &format!("String must be one of: {list}")));
                    }
                }
            }
            Valid::Throttled => {
                let ok = v == "*"
                    || v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .all(|e| {
                            e.split_once(':').is_some_and(|(p, b)| {
                                p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
                            })
                        });
                if !ok {
                    return Err(bad(
                        key,
                        value,
                        "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...",
                    ));
                }
            }
            _ => {}
        },
        ConfigType::Short | ConfigType::Class | ConfigType::Password => {}
    }
    Ok(())
}

/// The broker keys that may be changed at run time: the primary broker
/// synonym of each topic key except `log.message.format.version` (Kafka's
/// `DynamicLogConfig.ReconfigurableConfigs`).
pub fn is_dynamic_broker_key(key: &str) -> bool {
    key != "log.message.format.version"
        && TOPIC_KEYS
            .iter()
            .any(|k| k.broker_synonyms.first() == Some(&key))
}

/// Where the effective value of a broker key comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerConfigLayers {
    /// `server.properties` and `--override`.
    pub static_props: BTreeMap<String, String>,
    /// `/config/brokers/<default>`.
    pub dynamic_default: BTreeMap<String, String>,
    /// `/config/brokers/<id>` of this broker.
    pub dynamic_broker: BTreeMap<String, String>,
}

impl BrokerConfigLayers {
    /// Static, then cluster default, then per-broker values, as one map.
    pub fn merged(&self) -> BTreeMap<String, String> {
        let mut map = self.static_props.clone();
        for layer in [&self.dynamic_default, &self.dynamic_broker] {
            for (k, v) in layer {
                map.insert(k.clone(), v.clone());
            }
        }
        map
    }

    /// The broker config with the dynamic layers applied; a bad dynamic
    /// value fails naming its key.
    pub fn effective(&self) -> Result<BrokerConfig, String> {
        super::build::build(&self.merged()).map_err(|e| match e.key() {
            Some(key) => format!("Invalid config value for {key}: {e}"),
            None => e.to_string(),
        })
    }
}

/// Checks a whole new dynamic config for `/config/brokers/<entity>`:
/// every key must be dynamically updatable and every value valid for its
/// type and range. Errors name the key.
pub fn validate_broker_config(
    layers: &BrokerConfigLayers,
    per_broker: bool,
    config: &BTreeMap<String, String>,
) -> Result<(), String> {
    let fixed: Vec<&str> = config
        .keys()
        .filter(|k| !is_dynamic_broker_key(k))
        .map(String::as_str)
        .collect();
    if !fixed.is_empty() {
        return Err(format!(
            "Cannot update these configs dynamically: Set({})",
            fixed.join(", ")
        ));
    }
    for (key, value) in config {
        let topic = TOPIC_KEYS
            .iter()
            .find(|k| k.broker_synonyms.first() == Some(&key.as_str()));
        if let Some(topic) = topic {
            validate_topic_config(topic.name, value)
                .map_err(|_| topic_error_as_broker(key, value, topic.name))?;
        }
    }
    let mut with_change = layers.clone();
    if per_broker {
        with_change.dynamic_broker = config.clone();
    } else {
        with_change.dynamic_default = config.clone();
    }
    with_change.effective().map(|_| ())
}

/// A topic key's validation message, re-phrased for its broker synonym.
fn topic_error_as_broker(broker_key: &str, value: &str, topic_key: &str) -> String {
    let reason = validate_topic_config(topic_key, value)
        .err()
        .and_then(|m| m.split_once(": ").map(|(_, r)| r.to_string()))
        .unwrap_or_default();
    bad(broker_key, value, &reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_values_are_checked_like_kafka() {
        assert!(validate_topic_config("retention.ms", "-1").is_ok());
        assert!(validate_topic_config("cleanup.policy", "compact,delete").is_ok());
        let unknown = validate_topic_config("retention.msx", "1").unwrap_err();
        assert_eq!(unknown, "Unknown topic config name: retention.msx");
        let nan = validate_topic_config("retention.ms", "abc").unwrap_err();
        assert!(
            nan.contains("retention.ms") && nan.contains("LONG"),
            "{nan}"
        );
        assert!(validate_topic_config("segment.bytes", "13").is_err());
        assert!(validate_topic_config("segment.bytes", "3000000000").is_err());
        assert!(validate_topic_config("message.timestamp.type", "Now").is_err());
        assert!(validate_topic_config("cleanup.policy", "keep").is_err());
        assert!(validate_topic_config("min.cleanable.dirty.ratio", "1.5").is_err());
        assert!(validate_topic_config("preallocate", "yes").is_err());
        assert!(validate_topic_config("leader.replication.throttled.replicas", "0:1,1:2").is_ok());
        assert!(validate_topic_config("leader.replication.throttled.replicas", "x").is_err());
    }

    #[test]
    fn only_log_keys_are_dynamic() {
        assert!(is_dynamic_broker_key("log.retention.ms"));
        assert!(is_dynamic_broker_key("min.insync.replicas"));
        assert!(!is_dynamic_broker_key("log.retention.hours"));
        assert!(!is_dynamic_broker_key("broker.id"));
        assert!(!is_dynamic_broker_key("log.message.format.version"));
        let layers = BrokerConfigLayers {
            static_props: [("zookeeper.connect".to_string(), "z:2181".to_string())].into(),
            ..Default::default()
        };
        let ok: BTreeMap<_, _> = [("log.retention.ms".to_string(), "5000".to_string())].into();
        assert!(validate_broker_config(&layers, false, &ok).is_ok());
        let fixed: BTreeMap<_, _> = [("broker.id".to_string(), "5".to_string())].into();
        assert!(
            validate_broker_config(&layers, true, &fixed)
                .unwrap_err()
                .contains("broker.id")
        );
        let bad: BTreeMap<_, _> = [("log.segment.bytes".to_string(), "1".to_string())].into();
        assert!(
            validate_broker_config(&layers, false, &bad)
                .unwrap_err()
                .contains("log.segment.bytes")
        );
    }
}
