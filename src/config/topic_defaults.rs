//! Topic-level configuration defaults: what DescribeConfigs reports for a
//! topic with no overrides. Each topic key takes its value from the broker
//! key(s) Kafka names as its synonyms (`retention.ms` from `log.retention.ms`,
//! `log.retention.minutes`, `log.retention.hours`), and is a default when none
//! of those broker keys was set.

use super::BrokerConfig;
use super::enums::CleanupPolicy;

/// One topic-level key with the value a topic without overrides gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicConfigDefault {
    /// Kafka's topic key, e.g. `retention.ms`.
    pub name: &'static str,
    /// The value, formatted as Kafka reports it.
    pub value: String,
    /// True when no broker synonym was set, so the value is Kafka's default.
    pub is_default: bool,
    /// The broker keys this value comes from, highest precedence first
    /// (DescribeConfigs synonyms); empty when there is no broker-level key.
    pub synonyms: &'static [&'static str],
}

/// Kafka 3.x's default for `log.message.format.version`, which Sluice
/// accepts but does not act on.
const DEFAULT_MESSAGE_FORMAT_VERSION: &str = "3.0-IV1";

impl BrokerConfig {
    /// Every topic-level key with its broker-derived default, sorted by name.
    pub fn topic_defaults(&self) -> Vec<TopicConfigDefault> {
        let format_version = self
            .properties
            .get("log.message.format.version")
            .map_or(DEFAULT_MESSAGE_FORMAT_VERSION, |v| v.trim())
            .to_string();
        let mut defaults = Vec::new();
        let mut add = |name: &'static str, value: String, synonyms: &'static [&'static str]| {
            let is_default = !synonyms
                .iter()
                .any(|key| self.properties.contains_key(*key));
            defaults.push(TopicConfigDefault {
                name,
                value,
                is_default,
                synonyms,
            });
        };
        add(
            "cleanup.policy",
            CleanupPolicy::join(&self.log_cleanup_policy),
            &["log.cleanup.policy"],
        );
        add(
            "compression.type",
            self.compression_type.to_string(),
            &["compression.type"],
        );
        add(
            "delete.retention.ms",
            self.log_cleaner_delete_retention_ms.to_string(),
            &["log.cleaner.delete.retention.ms"],
        );
        add(
            "file.delete.delay.ms",
            self.log_segment_delete_delay_ms.to_string(),
            &["log.segment.delete.delay.ms"],
        );
        add(
            "flush.messages",
            self.log_flush_interval_messages.to_string(),
            &["log.flush.interval.messages"],
        );
        add(
            "flush.ms",
            self.log_flush_interval_ms.to_string(),
            &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        );
        add(
            "follower.replication.throttled.replicas",
            String::new(),
            &[],
        );
        add(
            "index.interval.bytes",
            self.log_index_interval_bytes.to_string(),
            &["log.index.interval.bytes"],
        );
        add("leader.replication.throttled.replicas", String::new(), &[]);
        add(
            "max.compaction.lag.ms",
            self.log_cleaner_max_compaction_lag_ms.to_string(),
            &["log.cleaner.max.compaction.lag.ms"],
        );
        add(
            "max.message.bytes",
            self.message_max_bytes.to_string(),
            &["message.max.bytes"],
        );
        add(
            "message.downconversion.enable",
            self.log_message_downconversion_enable.to_string(),
            &["log.message.downconversion.enable"],
        );
        add(
            "message.format.version",
            format_version,
            &["log.message.format.version"],
        );
        add(
            "message.timestamp.difference.max.ms",
            self.log_message_timestamp_difference_max_ms.to_string(),
            &["log.message.timestamp.difference.max.ms"],
        );
        add(
            "message.timestamp.type",
            self.log_message_timestamp_type.to_string(),
            &["log.message.timestamp.type"],
        );
        add(
            "min.cleanable.dirty.ratio",
            java_double(self.log_cleaner_min_cleanable_ratio),
            &["log.cleaner.min.cleanable.ratio"],
        );
        add(
            "min.compaction.lag.ms",
            self.log_cleaner_min_compaction_lag_ms.to_string(),
            &["log.cleaner.min.compaction.lag.ms"],
        );
        add(
            "min.insync.replicas",
            self.min_insync_replicas.to_string(),
            &["min.insync.replicas"],
        );
        add(
            "preallocate",
            self.log_preallocate.to_string(),
            &["log.preallocate"],
        );
        add(
            "retention.bytes",
            self.log_retention_bytes.to_string(),
            &["log.retention.bytes"],
        );
        add(
            "retention.ms",
            self.log_retention_ms.to_string(),
            &[
                "log.retention.ms",
                "log.retention.minutes",
                "log.retention.hours",
            ],
        );
        add(
            "segment.bytes",
            self.log_segment_bytes.to_string(),
            &["log.segment.bytes"],
        );
        add(
            "segment.index.bytes",
            self.log_index_size_max_bytes.to_string(),
            &["log.index.size.max.bytes"],
        );
        add(
            "segment.jitter.ms",
            self.log_roll_jitter_ms.to_string(),
            &["log.roll.jitter.ms", "log.roll.jitter.hours"],
        );
        add(
            "segment.ms",
            self.log_roll_ms.to_string(),
            &["log.roll.ms", "log.roll.hours"],
        );
        add(
            "unclean.leader.election.enable",
            self.unclean_leader_election_enable.to_string(),
            &["unclean.leader.election.enable"],
        );
        defaults.sort_by_key(|d| d.name);
        defaults
    }
}

/// Formats a double as Java's `Double.toString` does for ordinary values
/// (`0.5`, `1.0`), which is how Kafka reports `min.cleanable.dirty.ratio`.
fn java_double(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.1}")
    } else {
        value.to_string()
    }
}
