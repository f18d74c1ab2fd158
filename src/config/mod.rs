//! The configuration room: Kafka's `server.properties`, plus `--override
//! key=value` arguments, turned into a typed, validated [`BrokerConfig`].
//!
//! Owns: the `.properties` syntax, every broker key Sluice knows (its Kafka
//! name, default, type and range), and the topic-level defaults derived from
//! them. Must not touch: anything outside `src/config/`; it reads one file and
//! does no other I/O.
//!
//! The rules (DESIGN.md, "Fixed decisions"): key names, defaults, validation
//! and unit precedence are Kafka's (KafkaConfig, 2.8/3.x in ZooKeeper mode), so
//! a Kafka `server.properties` works unchanged. Keys Kafka knows but Sluice
//! does not act on are accepted and listed once at info level; keys nobody
//! knows are listed in one warning; a bad value fails start-up with a
//! [`ConfigError`] naming the key.
//!
//! Files: `properties.rs` (syntax, overrides), `reader.rs` (typed reads),
//! `enums.rs`, `listener.rs`, `sasl.rs` (SASL listeners' mechanisms and JAAS), `known_keys.rs` (accepted-but-ignored keys),
//! `build.rs` (key to field, cross-key checks), `topic_defaults.rs`
//! (DescribeConfigs defaults), `dynamic.rs` (topic-key validation, the
//! dynamically updatable broker keys, static + dynamic layers), `error.rs`.

mod broker_keys;
mod build;
pub mod dynamic;
mod enums;
mod error;
mod known_keys;
mod listener;
mod metrics_listener;
mod properties;
mod raw_properties;
mod reader;
mod sasl;
mod topic_defaults;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use broker_keys::{BrokerKey, broker_default, broker_key, broker_keys, is_sensitive_key};
pub use enums::{CleanupPolicy, CompressionType, TimestampType};
pub use error::ConfigError;
pub use listener::{Listener, PLAINTEXT};
pub use raw_properties::RawProperties;
pub use reader::ConfigType;
pub use sasl::{SASL_PLAINTEXT, SaslListenerConfig};
pub use topic_defaults::TopicConfigDefault;

/// A broker's configuration. Field names are Kafka's keys with `_` for `.`;
/// each doc gives the key and Kafka's default. Kafka's INT keys are `i32` and
/// LONG keys `i64`, so values round-trip to DescribeConfigs unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerConfig {
    // ---- Server basics
    /// `broker.id` (-1: generate one from ZooKeeper at start).
    pub broker_id: i32,
    /// `broker.id.generation.enable` (true).
    pub broker_id_generation_enable: bool,
    /// `reserved.broker.max.id` (1000); generated ids are above it.
    pub reserved_broker_max_id: i32,
    /// `broker.rack` (unset).
    pub broker_rack: Option<String>,

    // ---- Network
    /// `listeners` (`PLAINTEXT://:9092`); an empty host binds every interface.
    pub listeners: Vec<Listener>,
    /// `advertised.listeners` (the listeners); an empty host means the
    /// machine's hostname, see [`Listener::advertised_host_or`].
    pub advertised_listeners: Vec<Listener>,
    /// `listener.security.protocol.map`, listener name to protocol, names upper-cased.
    pub listener_security_protocol_map: BTreeMap<String, String>,
    /// `inter.broker.listener.name`, else `security.inter.broker.protocol`
    /// (PLAINTEXT): the advertised listener other brokers connect to.
    pub inter_broker_listener_name: String,
    /// SASL on each SASL_PLAINTEXT listener (upper-cased name):
    /// `sasl.enabled.mechanisms` (GSSAPI; only PLAIN is served) or its
    /// `listener.name.<l>.` override, and PLAIN's users from
    /// `listener.name.<l>.plain.sasl.jaas.config` (see `sasl.rs`).
    pub sasl_listeners: BTreeMap<String, SaslListenerConfig>,
    /// `socket.request.max.bytes` (104857600, >= 1).
    pub socket_request_max_bytes: i32,
    /// `connections.max.idle.ms` (600000).
    pub connections_max_idle_ms: i64,
    /// `max.connections` (i32::MAX, >= 0).
    pub max_connections: i32,
    /// `max.connections.per.ip` (i32::MAX, >= 0).
    pub max_connections_per_ip: i32,
    /// `queued.max.requests` (500, >= 1).
    pub queued_max_requests: i32,
    /// `request.timeout.ms` (30000, >= 0), for the broker's own requests.
    pub request_timeout_ms: i32,
    /// `fetch.max.bytes` (57671680, >= 1024): the most record bytes one Fetch
    /// response returns (KIP-541; the first batch goes whole even past it, KIP-74).
    pub fetch_max_bytes: i32,
    /// `fetch.inflight.max.bytes` (268435456, >= 1). Sluice's own key, not a
    /// Kafka one: the most record bytes held at once by all Fetch responses
    /// being read or sent; a fetch beyond it waits for room or reads less,
    /// never fails because of it (see `server/fetch_budget.rs`).
    pub fetch_inflight_max_bytes: i64,
    /// `max.incremental.fetch.session.cache.slots` (1000, >= 0): the most
    /// incremental fetch sessions (KIP-227) this broker keeps; 0 keeps none,
    /// so every fetch is a full one (`replica/fetch_session.rs`).
    pub max_incremental_fetch_session_cache_slots: i32,
    /// `metrics.listener` (unset). Sluice-specific, not a Kafka key: the
    /// `host:port` the metrics endpoint serves on (`http://` and `/metrics`
    /// accepted and stripped, see `metrics_listener.rs`); unset means no endpoint.
    pub metrics_listener: Option<String>,
    /// `console.enable` (true). Sluice-specific: whether the metrics
    /// listener also serves the web console (`/` and `/api/v1`).
    pub console_enable: bool,
    /// `console.writes.enable` (false). Sluice-specific: whether the console
    /// may create topics, alter topic configs, delete records, reset group
    /// offsets and elect preferred leaders.
    pub console_writes_enable: bool,

    // ---- ZooKeeper
    /// `zookeeper.connect` (required): `host:port[,host:port...][/chroot]`.
    pub zookeeper_connect: String,
    /// `zookeeper.session.timeout.ms` (18000).
    pub zookeeper_session_timeout_ms: i32,
    /// `zookeeper.connection.timeout.ms` (the session timeout when unset).
    pub zookeeper_connection_timeout_ms: i32,
    /// `zookeeper.max.in.flight.requests` (10, >= 1).
    pub zookeeper_max_in_flight_requests: i32,

    // ---- Topics
    /// `num.partitions` (1, >= 1) for auto-created topics.
    pub num_partitions: i32,
    /// `default.replication.factor` (1, >= 1) for auto-created topics.
    pub default_replication_factor: i32,
    /// `auto.create.topics.enable` (true).
    pub auto_create_topics_enable: bool,
    /// `delete.topic.enable` (true).
    pub delete_topic_enable: bool,
    /// `message.max.bytes` (1048588, >= 0): the largest record batch accepted.
    pub message_max_bytes: i32,
    /// `min.insync.replicas` (1, >= 1).
    pub min_insync_replicas: i32,
    /// `unclean.leader.election.enable` (false).
    pub unclean_leader_election_enable: bool,
    /// `compression.type` (producer).
    pub compression_type: CompressionType,

    // ---- Log basics
    /// `log.dirs`, else `log.dir` (`/tmp/kafka-logs`); comma separated.
    pub log_dirs: Vec<PathBuf>,
    /// `log.segment.bytes` (1073741824, >= 14).
    pub log_segment_bytes: i32,
    /// `log.roll.ms`, else `log.roll.hours` (168, >= 1) in ms.
    pub log_roll_ms: i64,
    /// `log.roll.jitter.ms`, else `log.roll.jitter.hours` (0) in ms.
    pub log_roll_jitter_ms: i64,
    /// `log.index.interval.bytes` (4096, >= 0).
    pub log_index_interval_bytes: i32,
    /// `log.index.size.max.bytes` (10485760, >= 4).
    pub log_index_size_max_bytes: i32,
    /// `log.preallocate` (false).
    pub log_preallocate: bool,
    /// `log.segment.delete.delay.ms` (60000, >= 0).
    pub log_segment_delete_delay_ms: i64,
    /// `log.message.timestamp.type` (CreateTime).
    pub log_message_timestamp_type: TimestampType,
    /// `log.message.timestamp.difference.max.ms` (i64::MAX, >= 0).
    pub log_message_timestamp_difference_max_ms: i64,
    /// `log.message.downconversion.enable` (true).
    pub log_message_downconversion_enable: bool,

    // ---- Log flush policy
    /// `log.flush.interval.messages` (i64::MAX, >= 1).
    pub log_flush_interval_messages: i64,
    /// `log.flush.interval.ms`, else `log.flush.scheduler.interval.ms`: the
    /// age of unflushed data that forces a flush (resolved as Kafka does).
    pub log_flush_interval_ms: i64,
    /// `log.flush.scheduler.interval.ms` (i64::MAX): how often the flusher looks.
    pub log_flush_scheduler_interval_ms: i64,
    /// `log.flush.offset.checkpoint.interval.ms` (60000, >= 0).
    pub log_flush_offset_checkpoint_interval_ms: i32,
    /// `log.flush.start.offset.checkpoint.interval.ms` (60000, >= 0).
    pub log_flush_start_offset_checkpoint_interval_ms: i32,

    // ---- Log retention and cleanup
    /// `log.retention.ms`, else `log.retention.minutes`, else
    /// `log.retention.hours` (168); -1 (any negative) means unlimited.
    pub log_retention_ms: i64,
    /// `log.retention.bytes` (-1: unlimited).
    pub log_retention_bytes: i64,
    /// `log.retention.check.interval.ms` (300000, >= 1).
    pub log_retention_check_interval_ms: i64,
    /// `log.cleanup.policy` (delete); `compact` accepted.
    pub log_cleanup_policy: Vec<CleanupPolicy>,
    /// `log.cleaner.delete.retention.ms` (86400000, >= 0).
    pub log_cleaner_delete_retention_ms: i64,
    /// `log.cleaner.min.compaction.lag.ms` (0, >= 0).
    pub log_cleaner_min_compaction_lag_ms: i64,
    /// `log.cleaner.max.compaction.lag.ms` (i64::MAX, >= 1).
    pub log_cleaner_max_compaction_lag_ms: i64,
    /// `log.cleaner.min.cleanable.ratio` (0.5, 0..=1).
    pub log_cleaner_min_cleanable_ratio: f64,
    /// `num.recovery.threads.per.data.dir` (1, >= 1): threads per log dir
    /// that load (and after an unclean shutdown recover) the logs at start-up.
    pub num_recovery_threads_per_data_dir: i32,
    /// `log.cleaner.enable` (true): run the log cleaner for compacted topics.
    pub log_cleaner_enable: bool,
    /// `log.cleaner.threads` (1, >= 0); Sluice runs one cleaner task.
    pub log_cleaner_threads: i32,
    /// `log.cleaner.backoff.ms` (15000, >= 0): sleep when no log needs cleaning.
    pub log_cleaner_backoff_ms: i64,
    /// `log.cleaner.dedupe.buffer.size` (134217728): memory for the key map.
    pub log_cleaner_dedupe_buffer_size: i64,

    // ---- Replication
    /// `replica.lag.time.max.ms` (30000).
    pub replica_lag_time_max_ms: i64,
    /// `num.replica.fetchers` (1).
    pub num_replica_fetchers: i32,
    /// `replica.fetch.max.bytes` (1048576, >= 0), per partition.
    pub replica_fetch_max_bytes: i32,
    /// `replica.fetch.wait.max.ms` (500); at most the socket timeout and the lag time.
    pub replica_fetch_wait_max_ms: i32,
    /// `replica.fetch.min.bytes` (1).
    pub replica_fetch_min_bytes: i32,
    /// `replica.fetch.response.max.bytes` (10485760, >= 0).
    pub replica_fetch_response_max_bytes: i32,
    /// `replica.fetch.backoff.ms` (1000, >= 0).
    pub replica_fetch_backoff_ms: i32,
    /// `replica.socket.timeout.ms` (30000).
    pub replica_socket_timeout_ms: i32,
    /// `replica.high.watermark.checkpoint.interval.ms` (5000).
    pub replica_high_watermark_checkpoint_interval_ms: i64,

    // ---- Controller and leadership
    /// `controller.socket.timeout.ms` (30000).
    pub controller_socket_timeout_ms: i32,
    /// `controlled.shutdown.enable` (true).
    pub controlled_shutdown_enable: bool,
    /// `controlled.shutdown.max.retries` (3).
    pub controlled_shutdown_max_retries: i32,
    /// `controlled.shutdown.retry.backoff.ms` (5000).
    pub controlled_shutdown_retry_backoff_ms: i64,
    /// `auto.leader.rebalance.enable` (true).
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.per.broker.percentage` (10).
    pub leader_imbalance_per_broker_percentage: i32,
    /// `leader.imbalance.check.interval.seconds` (300, >= 1).
    pub leader_imbalance_check_interval_seconds: i64,

    // ---- Groups and offsets
    /// `group.min.session.timeout.ms` (6000).
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (1800000).
    pub group_max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms` (3000).
    pub group_initial_rebalance_delay_ms: i32,
    /// `group.max.size` (i32::MAX, >= 1).
    pub group_max_size: i32,
    /// `offsets.retention.minutes` (10080, >= 1).
    pub offsets_retention_minutes: i32,
    /// `offsets.retention.check.interval.ms` (600000, >= 1).
    pub offsets_retention_check_interval_ms: i64,
    /// `producer.id.expiration.ms` (86400000, >= 1): idempotent producers
    /// whose last batch is this old are forgotten by each partition.
    pub producer_id_expiration_ms: i32,
    /// `producer.id.expiration.check.interval.ms` (600000, >= 1).
    pub producer_id_expiration_check_interval_ms: i32,

    // ---- What was given
    /// Keys no one knows (typos, other products' keys), sorted; warned about once.
    pub unknown_keys: Vec<String>,
    /// Kafka keys that were set but that Sluice does not act on, sorted.
    pub ignored_keys: Vec<String>,
    /// Every key and raw value as given, after overrides.
    pub properties: RawProperties,
}

impl BrokerConfig {
    /// Reads a `server.properties` file, applies `--override key=value`
    /// arguments in order (later wins), and validates the result.
    pub fn load(path: &Path, overrides: &[String]) -> Result<BrokerConfig, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = properties::decode(bytes);
        let mut map = properties::parse(&text, path)?;
        for arg in overrides {
            properties::apply_override(&mut map, arg)?;
        }
        Self::from_properties(&map)
    }

    /// Builds and validates a configuration from raw key/value pairs, then logs
    /// the unknown keys (one warning) and the accepted-but-ignored ones (info).
    pub fn from_properties(map: &BTreeMap<String, String>) -> Result<BrokerConfig, ConfigError> {
        let config = build::build(map)?;
        if !config.unknown_keys.is_empty() {
            tracing::warn!(
                "unknown configuration keys, ignored (check their spelling): {}",
                config.unknown_keys.join(", ")
            );
        }
        if !config.ignored_keys.is_empty() {
            tracing::info!(
                "Kafka configuration keys accepted but not acted on by Sluice: {}",
                config.ignored_keys.join(", ")
            );
        }
        Ok(config)
    }

    /// The listener other brokers use to reach this one (an advertised listener).
    pub fn inter_broker_listener(&self) -> &Listener {
        self.advertised_listeners
            .iter()
            .find(|l| l.name == self.inter_broker_listener_name)
            .expect("validated: the inter-broker listener is advertised")
    }
}
