//! The catalogue of every broker key Sluice knows, with its Kafka type and
//! default, as DescribeConfigs lists a broker (Kafka's `KafkaConfig`
//! definitions): the keys `build.rs` reads (type and default taken from the
//! read itself, so they cannot drift) and the keys accepted but ignored
//! (`known_keys.rs`). No table of its own.

use std::fmt;
use std::sync::OnceLock;

use super::build::build_with_catalogue;
use super::known_keys;
use super::raw_properties::RawProperties;
use super::reader::ConfigType;

/// One broker key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerKey {
    pub name: &'static str,
    pub config_type: ConfigType,
    /// Kafka's default as text; `None` where `KafkaConfig` has none.
    pub default: Option<String>,
}

impl BrokerKey {
    /// Kafka reports PASSWORD keys as sensitive (value null).
    pub fn is_sensitive(&self) -> bool {
        self.config_type == ConfigType::Password
    }
}

/// Whether Kafka treats a broker key as a password: PASSWORD keys of the
/// catalogue; for keys outside it (`listener.name.*`), by name.
pub fn is_sensitive_key(key: &str) -> bool {
    match broker_key(key) {
        Some(k) => k.is_sensitive(),
        None => key.contains("password") || key.ends_with(".jaas.config") || key.contains("secret"),
    }
}

impl fmt::Debug for RawProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.pairs().map(|(k, v)| {
                let shown = if is_sensitive_key(k) {
                    "[hidden]"
                } else {
                    v.as_str()
                };
                (k, shown)
            }))
            .finish()
    }
}

/// The smallest config `build` accepts; its reads give the catalogue.
const MINIMAL_ZOOKEEPER_CONNECT: &str = "localhost:2181";

/// Every broker key, sorted by name.
pub fn broker_keys() -> &'static [BrokerKey] {
    static KEYS: OnceLock<Vec<BrokerKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let props = [(
            "zookeeper.connect".to_string(),
            MINIMAL_ZOOKEEPER_CONNECT.to_string(),
        )]
        .into();
        let mut keys: Vec<BrokerKey> = match build_with_catalogue(&props) {
            Ok((_, catalogue)) => catalogue
                .into_iter()
                .map(|(name, (config_type, default))| BrokerKey {
                    name,
                    config_type,
                    default,
                })
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot list the broker keys");
                Vec::new()
            }
        };
        for (name, kind, default) in known_keys::all() {
            if keys.iter().all(|k| k.name != *name) {
                keys.push(BrokerKey {
                    name,
                    config_type: kind.config_type(),
                    default: default.map(str::to_string),
                });
            }
        }
        keys.sort_by_key(|k| k.name);
        keys
    })
}

/// The broker key `name`, if Sluice knows it.
pub fn broker_key(name: &str) -> Option<&'static BrokerKey> {
    let keys = broker_keys();
    keys.binary_search_by_key(&name, |k| k.name)
        .ok()
        .map(|i| &keys[i])
}

/// Kafka's default of broker key `name` (`None`: unknown key or no default).
pub fn broker_default(name: &str) -> Option<&'static str> {
    broker_key(name).and_then(|k| k.default.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_kafkas_types_and_defaults() {
        let get = |n: &str| broker_key(n).unwrap_or_else(|| panic!("{n} missing"));
        assert_eq!(get("num.partitions").config_type, ConfigType::Int);
        assert_eq!(get("num.partitions").default.as_deref(), Some("1"));
        assert_eq!(get("log.retention.hours").default.as_deref(), Some("168"));
        assert_eq!(get("log.retention.ms").default, None);
        assert_eq!(
            get("log.segment.bytes").default.as_deref(),
            Some("1073741824")
        );
        assert_eq!(
            get("auto.create.topics.enable").config_type,
            ConfigType::Boolean
        );
        assert_eq!(get("log.retention.ms").config_type, ConfigType::Long);
        assert_eq!(get("log.cleanup.policy").config_type, ConfigType::List);
        assert_eq!(get("log.cleanup.policy").default.as_deref(), Some("delete"));
        assert_eq!(get("compression.type").default.as_deref(), Some("producer"));
        assert_eq!(
            get("log.cleaner.min.cleanable.ratio").config_type,
            ConfigType::Double
        );
        assert_eq!(get("zookeeper.connect").config_type, ConfigType::String);
        assert_eq!(get("zookeeper.connect").default, None);
        assert_eq!(get("num.io.threads").default.as_deref(), Some("8"));
        let recovery = get("num.recovery.threads.per.data.dir");
        assert_eq!(recovery.config_type, ConfigType::Int);
        assert_eq!(recovery.default.as_deref(), Some("1"));
        let slots = get("max.incremental.fetch.session.cache.slots");
        assert_eq!(slots.config_type, ConfigType::Int);
        assert_eq!(slots.default.as_deref(), Some("1000"));
        assert_eq!(
            get("offsets.topic.replication.factor").config_type,
            ConfigType::Short
        );
        assert!(get("ssl.keystore.password").is_sensitive());
        assert_eq!(
            get("principal.builder.class").config_type,
            ConfigType::Class
        );
        assert!(!get("num.partitions").is_sensitive());
        assert!(broker_key("no.such.key").is_none());
        let names: Vec<&str> = broker_keys().iter().map(|k| k.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(names.len() > 200, "{}", names.len());
    }
}
