//! Kafka's `DynamicConfigManager` (ZooKeeper mode): every broker watches
//! `/config/changes`, handles each new `config_change_<seq>` in order,
//! re-reads the entity it names (`topics/<t>`, `brokers/<id>`,
//! `brokers/<default>`) and applies it live: topic overrides to that topic's
//! partition logs and min.insync.replicas, dynamic broker configs to the
//! broker-level defaults every topic inherits. Notifications older than 15
//! minutes are purged, as Kafka's listener does. Also owns the in-memory
//! layers (static, cluster default, per-broker) and the topic overrides seen
//! (`DynamicConfigs`), and the reads of topic overrides LeaderAndIsr applies.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::dynamic::BrokerConfigLayers;
use crate::config::{BrokerConfig, CleanupPolicy};
use crate::controller::{ControllerHandle, ElectionType};
use crate::log::LogConfig;
use crate::metadata::MetadataCache;
use crate::model::{BrokerId, TopicPartition};
use crate::replica::ReplicaManager;
use crate::util::now_ms;
use crate::zk::data::ZnodeJson;
use crate::zk::{
    ConfigChangeNotification, WatcherOptions, ZkClient, ZkError, paths, spawn_children_watcher,
};

/// ZooKeeper's entity name for the cluster-wide broker default.
pub const DEFAULT_BROKER_ENTITY: &str = "<default>";
/// Kafka's `ConfigChangeListener` purges notifications older than this.
const CHANGE_EXPIRATION_MS: i64 = 15 * 60 * 1000;

struct State {
    layers: BrokerConfigLayers,
    effective: Arc<BrokerConfig>,
    /// The last overrides read for each topic with a log here.
    topics: HashMap<String, BTreeMap<String, String>>,
}

/// The broker's config layers and the topic overrides it applied.
pub struct DynamicConfigs {
    state: RwLock<State>,
}

impl DynamicConfigs {
    pub fn new(static_config: Arc<BrokerConfig>) -> DynamicConfigs {
        DynamicConfigs {
            state: RwLock::new(State {
                layers: BrokerConfigLayers {
                    static_props: static_config.properties.to_map(),
                    ..Default::default()
                },
                effective: static_config,
                topics: HashMap::new(),
            }),
        }
    }

    /// Static properties, `/config/brokers/<default>` and `/config/brokers/<id>`.
    pub fn layers(&self) -> BrokerConfigLayers {
        self.state.read().layers.clone()
    }

    /// The broker config with the dynamic layers applied.
    pub fn effective(&self) -> Arc<BrokerConfig> {
        self.state.read().effective.clone()
    }

    /// Installs new dynamic layers; an invalid combination is refused and
    /// the previous one kept.
    fn set_dynamic(
        &self,
        dynamic_default: BTreeMap<String, String>,
        dynamic_broker: BTreeMap<String, String>,
    ) -> Result<(), String> {
        let mut layers = self.layers();
        layers.dynamic_default = dynamic_default;
        layers.dynamic_broker = dynamic_broker;
        let effective = Arc::new(layers.effective()?);
        let mut state = self.state.write();
        state.layers = layers;
        state.effective = effective;
        Ok(())
    }

    fn remember_topic(&self, topic: &str, overrides: &BTreeMap<String, String>) {
        self.state
            .write()
            .topics
            .insert(topic.to_string(), overrides.clone());
    }

    fn topic_overrides(&self, topic: &str) -> BTreeMap<String, String> {
        self.state
            .read()
            .topics
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    /// The log settings of a topic with `overrides`.
    pub fn log_config(&self, overrides: &BTreeMap<String, String>) -> LogConfig {
        topic_log_config(&self.effective(), overrides)
    }

    /// The min.insync.replicas of a topic with `overrides`.
    pub fn min_insync_replicas(&self, overrides: &BTreeMap<String, String>) -> usize {
        parsed(overrides, "min.insync.replicas")
            .filter(|&n: &i64| n >= 1)
            .map_or(self.effective().min_insync_replicas.max(1) as usize, |n| {
                n as usize
            })
    }
}

fn parsed<T: std::str::FromStr>(overrides: &BTreeMap<String, String>, key: &str) -> Option<T> {
    overrides.get(key).and_then(|v| v.trim().parse().ok())
}

/// The broker-level log settings with a topic's overrides on top (values
/// that do not parse keep the broker's; they were validated when written).
pub fn topic_log_config(broker: &BrokerConfig, overrides: &BTreeMap<String, String>) -> LogConfig {
    let policy = CleanupPolicy::join(&broker.log_cleanup_policy);
    let policy = overrides.get("cleanup.policy").unwrap_or(&policy);
    let has = |p: &str| policy.split(',').any(|s| s.trim() == p);
    let retention_ms: i64 = parsed(overrides, "retention.ms").unwrap_or(broker.log_retention_ms);
    LogConfig {
        segment_bytes: parsed::<i32>(overrides, "segment.bytes")
            .unwrap_or(broker.log_segment_bytes)
            .max(14) as u64,
        segment_ms: parsed(overrides, "segment.ms").unwrap_or(broker.log_roll_ms),
        retention_ms: retention_ms.max(-1),
        retention_bytes: parsed(overrides, "retention.bytes").unwrap_or(broker.log_retention_bytes),
        index_interval_bytes: parsed::<i32>(overrides, "index.interval.bytes")
            .unwrap_or(broker.log_index_interval_bytes)
            .max(0) as u32,
        max_index_size_bytes: parsed::<i32>(overrides, "segment.index.bytes")
            .unwrap_or(broker.log_index_size_max_bytes)
            .max(0) as u32,
        flush_interval_messages: parsed::<i64>(overrides, "flush.messages")
            .unwrap_or(broker.log_flush_interval_messages)
            .max(1) as u64,
        flush_interval_ms: parsed(overrides, "flush.ms").unwrap_or(broker.log_flush_interval_ms),
        max_message_bytes: parsed::<i32>(overrides, "max.message.bytes")
            .unwrap_or(broker.message_max_bytes)
            .max(0) as usize,
        cleanup_policy_delete: has("delete"),
        cleanup_policy_compact: has("compact"),
        message_timestamp_log_append_time: overrides
            .get("message.timestamp.type")
            .map_or(broker.log_message_timestamp_type.as_str(), |v| v.trim())
            == "LogAppendTime",
        min_cleanable_dirty_ratio: parsed(overrides, "min.cleanable.dirty.ratio")
            .filter(|r: &f64| (0.0..=1.0).contains(r))
            .unwrap_or(broker.log_cleaner_min_cleanable_ratio),
        delete_retention_ms: parsed::<i64>(overrides, "delete.retention.ms")
            .unwrap_or(broker.log_cleaner_delete_retention_ms)
            .max(0),
        min_compaction_lag_ms: parsed::<i64>(overrides, "min.compaction.lag.ms")
            .unwrap_or(broker.log_cleaner_min_compaction_lag_ms)
            .max(0),
        max_compaction_lag_ms: parsed::<i64>(overrides, "max.compaction.lag.ms")
            .unwrap_or(broker.log_cleaner_max_compaction_lag_ms)
            .max(1),
    }
}

/// Reads the dynamic broker layers at start-up, before any partition is
/// hosted; a bad stored value is logged and ignored.
pub async fn load_broker_configs(
    zk: &ZkClient,
    broker_id: BrokerId,
    configs: &DynamicConfigs,
    replica_manager: &ReplicaManager,
) {
    if let Err(e) = reload_broker_layers(zk, broker_id, configs).await {
        tracing::warn!(error = %e, "cannot read dynamic broker configs; using the static ones");
    }
    if let Err(e) = replica_manager
        .log_manager()
        .set_default_config(configs.log_config(&BTreeMap::new()))
    {
        tracing::warn!(error = %e, "dynamic broker configs give an invalid log config");
    }
}

async fn reload_broker_layers(
    zk: &ZkClient,
    broker_id: BrokerId,
    configs: &DynamicConfigs,
) -> Result<(), String> {
    let default = zk
        .get_broker_config(DEFAULT_BROKER_ENTITY)
        .await
        .map_err(|e| e.to_string())?;
    let own = zk
        .get_broker_config(&broker_id.to_string())
        .await
        .map_err(|e| e.to_string())?;
    configs.set_dynamic(default, own)
}

/// Remembers `topic`'s overrides and applies them to its local partitions.
pub fn apply_topic_overrides(
    configs: &DynamicConfigs,
    replica_manager: &ReplicaManager,
    topic: &str,
    overrides: &BTreeMap<String, String>,
) {
    configs.remember_topic(topic, overrides);
    apply_to_logs(configs, replica_manager, topic, overrides);
}

/// Topic config reads one LeaderAndIsr keeps in flight at once.
const CONFIG_READS_IN_FLIGHT: usize = 64;

/// Each topic's overrides from ZooKeeper (`/config/topics/<t>`), read
/// concurrently (at most `CONFIG_READS_IN_FLIGHT` at a time), for the
/// partitions a LeaderAndIsr brings here; an unreadable znode gives none:
/// the broker's settings.
pub async fn read_topic_configs(
    zk: &ZkClient,
    topics: &[String],
) -> HashMap<String, BTreeMap<String, String>> {
    let mut configs = HashMap::with_capacity(topics.len());
    for chunk in topics.chunks(CONFIG_READS_IN_FLIGHT) {
        let mut reads = tokio::task::JoinSet::new();
        for topic in chunk {
            let zk = zk.clone();
            let topic = topic.clone();
            reads.spawn(async move {
                let config = zk.get_topic_config(&topic).await.unwrap_or_else(|e| {
                    tracing::warn!(topic, error = %e, "cannot read topic config; using the broker's settings");
                    BTreeMap::new()
                });
                (topic, config)
            });
        }
        while let Some(read) = reads.join_next().await {
            match read {
                Ok((topic, config)) => {
                    configs.insert(topic, config);
                }
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }
    configs
}

/// Sets the log config and min.insync.replicas of every local partition of `topic`.
fn apply_to_logs(
    configs: &DynamicConfigs,
    rm: &ReplicaManager,
    topic: &str,
    overrides: &BTreeMap<String, String>,
) {
    let log_config = configs.log_config(overrides);
    let min_isr = configs.min_insync_replicas(overrides);
    for (tp, log) in rm.log_manager().all_logs() {
        if tp.topic != topic {
            continue;
        }
        if let Err(e) = log.set_config(log_config) {
            tracing::warn!(partition = %tp, error = %e, "cannot apply topic config");
        }
        rm.set_min_insync_replicas(&tp, min_isr);
    }
}

fn describe(config: &BTreeMap<String, String>) -> String {
    if config.is_empty() {
        return "(no overrides)".to_string();
    }
    config
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Kafka's `DynamicConfigManager`: the `/config/changes` listener of one
/// broker and the handles it applies changes with. Built by `broker.rs`
/// and run as a background task.
pub struct DynamicConfigManager {
    pub broker_id: BrokerId,
    pub zk: ZkClient,
    pub configs: Arc<DynamicConfigs>,
    pub replica_manager: Arc<ReplicaManager>,
    pub metadata: Arc<MetadataCache>,
    pub controller: ControllerHandle,
}

impl DynamicConfigManager {
    /// Reads `/config/topics/<topic>`, remembers it and applies it to the
    /// topic's logs and partitions here; returns the overrides.
    async fn apply_topic_config(&self, topic: &str) -> Result<BTreeMap<String, String>, ZkError> {
        let overrides = self.zk.get_topic_config(topic).await?;
        apply_topic_overrides(&self.configs, &self.replica_manager, topic, &overrides);
        Ok(overrides)
    }

    /// Handles one notification's entity.
    async fn process(&self, notification: &ConfigChangeNotification) {
        let Some((entity_type, name)) = notification.entity() else {
            tracing::warn!(?notification, "config change notification names no entity");
            return;
        };
        match entity_type.as_str() {
            paths::CONFIG_TYPE_TOPICS => match self.apply_topic_config(&name).await {
                Ok(config) => {
                    tracing::info!("config changed: topic {name}: {}", describe(&config));
                    self.maybe_elect_unclean(&name, &config);
                }
                Err(e) => tracing::warn!(topic = %name, error = %e, "cannot read topic config"),
            },
            paths::CONFIG_TYPE_BROKERS
                if name == DEFAULT_BROKER_ENTITY || name == self.broker_id.to_string() =>
            {
                if let Err(e) = reload_broker_layers(&self.zk, self.broker_id, &self.configs).await
                {
                    tracing::warn!(entity = %name, error = %e, "refused dynamic broker config");
                    return;
                }
                let configs = &self.configs;
                let log_manager = self.replica_manager.log_manager();
                if let Err(e) = log_manager.set_default_config(configs.log_config(&BTreeMap::new()))
                {
                    tracing::warn!(error = %e, "dynamic broker config gives an invalid log config");
                }
                let topics: BTreeSet<String> = log_manager
                    .all_logs()
                    .into_iter()
                    .map(|(tp, _)| tp.topic)
                    .collect();
                // Topics without a log here any more are forgotten.
                configs
                    .state
                    .write()
                    .topics
                    .retain(|t, _| topics.contains(t));
                for topic in topics {
                    let overrides = configs.topic_overrides(&topic);
                    apply_to_logs(configs, &self.replica_manager, &topic, &overrides);
                }
                let layers = configs.layers();
                let applied = if name == DEFAULT_BROKER_ENTITY {
                    layers.dynamic_default
                } else {
                    layers.dynamic_broker
                };
                tracing::info!("config changed: broker {name}: {}", describe(&applied));
            }
            _ => tracing::debug!(entity_type, name, "config change for another entity"),
        }
    }

    /// Kafka's `enableTopicUncleanLeaderElection`: when a topic's override
    /// turns unclean.leader.election.enable on, the active controller elects its
    /// leaderless partitions at once (from any live replica).
    fn maybe_elect_unclean(&self, topic: &str, config: &BTreeMap<String, String>) {
        let enabled = config
            .get("unclean.leader.election.enable")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if !enabled || !self.controller.is_active() {
            return;
        }
        let partitions: Vec<TopicPartition> = self
            .metadata
            .snapshot()
            .topics
            .get(topic)
            .map(|t| {
                t.partitions
                    .keys()
                    .map(|&p| TopicPartition::new(topic.to_string(), p))
                    .collect()
            })
            .unwrap_or_default();
        if partitions.is_empty() {
            return;
        }
        let controller = self.controller.clone();
        let topic = topic.to_string();
        tokio::spawn(async move {
            match controller
                .elect_leaders(ElectionType::Unclean, Some(partitions))
                .await
            {
                Ok(outcomes) => tracing::info!(topic, ?outcomes, "unclean leader election enabled"),
                Err(e) => tracing::warn!(topic, error = %e, "unclean leader election failed"),
            }
        });
    }

    /// Kafka's `ZkNodeChangeNotificationListener`: handles every notification
    /// newer than the last one handled, in order, and purges expired ones.
    pub async fn run(self, shutdown: CancellationToken) {
        let (tx, mut rx) = mpsc::channel::<Vec<String>>(4);
        let options = WatcherOptions {
            stop: shutdown.clone(),
            ..WatcherOptions::default()
        };
        let watcher =
            spawn_children_watcher(self.zk.clone(), paths::config_changes(), options, tx, |c| c);
        let mut last_handled: i64 = -1;
        loop {
            let children = tokio::select! {
                _ = shutdown.cancelled() => break,
                c = rx.recv() => match c {
                    Some(c) => c,
                    None => break,
                },
            };
            let mut pending: Vec<(i64, String)> = children
                .into_iter()
                .filter_map(|n| sequence(&n).map(|s| (s, n)))
                .filter(|(s, _)| *s > last_handled)
                .collect();
            pending.sort();
            let mut expired = Vec::new();
            for (seq, name) in pending {
                let path = paths::child(&paths::config_changes(), &name);
                match self.zk.get_data(&path).await {
                    Ok(Some((data, stat))) => {
                        match ConfigChangeNotification::decode(&path, &data) {
                            Ok(n) => self.process(&n).await,
                            Err(e) => {
                                tracing::warn!(%path, error = %e, "bad config change notification")
                            }
                        }
                        if now_ms() - stat.ctime_ms > CHANGE_EXPIRATION_MS {
                            expired.push(name);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // Retried on the next children change.
                        tracing::warn!(%path, error = %e, "cannot read config change notification");
                        break;
                    }
                }
                last_handled = seq;
            }
            if !expired.is_empty()
                && let Err(e) = self.zk.delete_config_change_notifications(&expired).await
            {
                tracing::debug!(error = %e, "cannot purge old config change notifications");
            }
        }
        watcher.abort();
    }
}

/// The sequence number of a `config_change_<seq>` child.
fn sequence(name: &str) -> Option<i64> {
    name.strip_prefix(paths::CONFIG_CHANGE_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_overrides_win_over_broker_settings() {
        let props: BTreeMap<String, String> = [
            ("zookeeper.connect", "z:2181"),
            ("log.retention.ms", "1000"),
            ("log.cleanup.policy", "compact"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let broker = BrokerConfig::from_properties(&props).unwrap();
        let none = topic_log_config(&broker, &BTreeMap::new());
        assert_eq!(none.retention_ms, 1000);
        assert!(none.cleanup_policy_compact && !none.cleanup_policy_delete);
        let overrides: BTreeMap<String, String> = [
            ("retention.ms", "5"),
            ("cleanup.policy", "delete"),
            ("max.message.bytes", "100"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let t = topic_log_config(&broker, &overrides);
        assert_eq!((t.retention_ms, t.max_message_bytes), (5, 100));
        assert!(t.cleanup_policy_delete && !t.cleanup_policy_compact);
        assert_eq!(sequence("config_change_0000000012"), Some(12));
    }
}
