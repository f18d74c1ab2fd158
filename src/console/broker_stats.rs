//! `GET /api/v1/broker-stats`: this broker's traffic counters since it
//! started, in total and per topic, with the wall-clock time they were read.
//! Rates are the difference of two reads over their times: the console's
//! charts poll and subtract, as a Prometheus `rate()` would. Reading is a
//! handful of atomic loads; nothing is sampled in the background.
//!
//! Counters are Kafka's `BrokerTopicMetrics` (see `metrics/mod.rs`): bytes
//! and messages in count leader appends, bytes out consumer fetches,
//! replication bytes out follower fetches; requests every request served.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use crate::metrics::Registry;
use crate::model::BrokerId;

/// One broker's counters at `time_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerStats {
    pub broker: BrokerId,
    /// Milliseconds since the Unix epoch, when read.
    pub time_ms: u64,
    pub requests: u64,
    pub messages_in: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub replication_bytes_out: u64,
    /// Per topic hosted here.
    pub topics: BTreeMap<String, TopicStats>,
}

/// One topic's counters on one broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicStats {
    pub messages_in: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl TopicStats {
    pub fn add(&mut self, other: &TopicStats) {
        self.messages_in += other.messages_in;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
    }
}

/// The counters of `registry` (the process's: `metrics::global()`) now.
pub fn read(broker: BrokerId, registry: &Registry) -> BrokerStats {
    let mut stats = BrokerStats {
        broker,
        time_ms: now_ms(),
        requests: registry
            .apis()
            .map(|(_, api)| api.requests.load(Ordering::Relaxed))
            .sum(),
        ..BrokerStats::default()
    };
    for (topic, totals) in registry.topic_totals() {
        stats.messages_in += totals.messages_in;
        stats.bytes_in += totals.bytes_in;
        stats.bytes_out += totals.bytes_out;
        stats.replication_bytes_out += totals.replication_bytes_out;
        stats.topics.insert(
            topic,
            TopicStats {
                messages_in: totals.messages_in,
                bytes_in: totals.bytes_in,
                bytes_out: totals.bytes_out,
            },
        );
    }
    stats
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiKey;
    use std::time::Duration;

    #[test]
    fn totals_are_the_sum_of_the_topics() {
        let registry = Registry::default();
        registry.record_produce("a", 3, 300);
        registry.record_produce("b", 1, 50);
        registry.record_fetch_counted("a", 120, 2, false);
        registry.record_fetch_counted("a", 300, 3, true);
        registry.record_request(ApiKey::Produce, Duration::from_millis(1), false);
        registry.record_request(ApiKey::Fetch, Duration::from_millis(1), false);
        let stats = read(BrokerId(7), &registry);
        assert_eq!(stats.broker, BrokerId(7));
        assert_eq!(stats.requests, 2);
        assert_eq!((stats.messages_in, stats.bytes_in), (4, 350));
        assert_eq!((stats.bytes_out, stats.replication_bytes_out), (120, 300));
        assert_eq!(
            stats.topics["a"],
            TopicStats {
                messages_in: 3,
                bytes_in: 300,
                bytes_out: 120
            }
        );
        assert!(stats.time_ms > 1_600_000_000_000);
        let json = serde_json::to_string(&stats).unwrap();
        assert_eq!(serde_json::from_str::<BrokerStats>(&json).unwrap(), stats);
    }
}
