//! The counters every component bumps on its hot path: one process-wide
//! `Registry` of atomics. Per-API request counts and latency histograms live
//! in a fixed array indexed by API key (no lookup, no lock); per-topic traffic
//! counters live in a map read-locked once per topic and partition, with an
//! entry created on a topic's first successful produce or fetch (so bad input
//! naming unknown topics cannot grow it). ISR shrink / expand counters are
//! plain atomics. Everything here only ever increases; the state gauges are
//! computed at scrape time instead (`state.rs`).
//!
//! Uses nothing internal, so any room may record into it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use parking_lot::RwLock;

/// API keys below this get counters (Kafka 3.9's highest is 75).
pub const API_SLOTS: usize = 96;

/// Upper bounds of the request latency buckets, in microseconds (rendered in
/// seconds); the `+Inf` bucket is implicit.
pub const LATENCY_BUCKETS_MICROS: [u64; 16] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000, 30_000_000,
];

/// A latency histogram: per-bucket counts (not cumulative; rendering sums
/// them), the sum in microseconds, and the count.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_MICROS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

/// A consistent-enough copy of a histogram for rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Cumulative counts, one per bound in `LATENCY_BUCKETS_MICROS`, then `+Inf`.
    pub cumulative: Vec<u64>,
    pub sum_micros: u64,
    pub count: u64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let slot = LATENCY_BUCKETS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BUCKETS_MICROS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                running += b.load(Ordering::Relaxed);
                running
            })
            .collect();
        HistogramSnapshot {
            cumulative,
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
            // The +Inf bucket is the count, so the two always agree.
            count: running,
        }
    }
}

/// Counters of one API.
#[derive(Default)]
pub struct ApiStats {
    pub requests: AtomicU64,
    pub request_errors: AtomicU64,
    pub partition_errors: AtomicU64,
    pub latency: Histogram,
}

/// Traffic counters of one topic.
#[derive(Default)]
pub struct TopicCounters {
    pub messages_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub replication_bytes_out: AtomicU64,
}

/// Plain values of one topic's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicTotals {
    pub messages_in: u64,
    pub bytes_in: u64,
    pub messages_out: u64,
    pub bytes_out: u64,
    pub replication_bytes_out: u64,
}

pub struct Registry {
    apis: Box<[ApiStats]>,
    topics: RwLock<HashMap<String, Arc<TopicCounters>>>,
    pub isr_shrinks: AtomicU64,
    pub isr_expands: AtomicU64,
    /// Fetch sessions evicted from the cache (Kafka's
    /// `IncrementalFetchSessionEvictionsPerSec` counts the same events).
    pub fetch_session_evictions: AtomicU64,
    /// Record bytes of Fetch responses written from the segment files with
    /// sendfile(2) (zero copy), consumers and followers alike.
    pub fetch_zero_copy_bytes: AtomicU64,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            apis: (0..API_SLOTS).map(|_| ApiStats::default()).collect(),
            topics: RwLock::new(HashMap::new()),
            isr_shrinks: AtomicU64::new(0),
            isr_expands: AtomicU64::new(0),
            fetch_session_evictions: AtomicU64::new(0),
            fetch_zero_copy_bytes: AtomicU64::new(0),
        }
    }
}

impl Registry {
    fn api(&self, key: ApiKey) -> Option<&ApiStats> {
        self.apis.get(key as i16 as usize)
    }

    /// One request handled (or refused) by dispatch; `failed` when it got no
    /// answer because it was refused (an API or version not served, an
    /// undecodable body, an unencodable response: the connection is closed).
    pub fn record_request(&self, key: ApiKey, elapsed: Duration, failed: bool) {
        if let Some(api) = self.api(key) {
            api.requests.fetch_add(1, Ordering::Relaxed);
            if failed {
                api.request_errors.fetch_add(1, Ordering::Relaxed);
            }
            api.latency.observe(elapsed);
        }
    }

    /// `count` partitions of a Produce or Fetch answered with an error code.
    pub fn record_partition_errors(&self, key: ApiKey, count: usize) {
        if let Some(api) = self.api(key)
            && count > 0
        {
            api.partition_errors
                .fetch_add(count as u64, Ordering::Relaxed);
        }
    }

    fn topic(&self, topic: &str) -> Arc<TopicCounters> {
        if let Some(counters) = self.topics.read().get(topic) {
            return counters.clone();
        }
        self.topics
            .write()
            .entry(topic.to_owned())
            .or_default()
            .clone()
    }

    /// A leader append of `messages` records in `bytes` of batches.
    pub fn record_produce(&self, topic: &str, messages: u64, bytes: u64) {
        let t = self.topic(topic);
        t.messages_in.fetch_add(messages, Ordering::Relaxed);
        t.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Batches returned by a fetch: a consumer's count as messages and bytes
    /// out, a follower's as replication bytes out.
    pub fn record_fetch(&self, topic: &str, records: &[u8], follower: bool) {
        if records.is_empty() {
            return;
        }
        self.record_fetch_counted(topic, records.len(), count_records(records), follower);
    }

    /// `record_fetch` of `bytes` of batches holding `messages` records
    /// (counted from their headers by the read).
    pub fn record_fetch_counted(&self, topic: &str, bytes: usize, messages: u64, follower: bool) {
        if bytes == 0 {
            return;
        }
        let t = self.topic(topic);
        if follower {
            t.replication_bytes_out
                .fetch_add(bytes as u64, Ordering::Relaxed);
        } else {
            t.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
            t.messages_out.fetch_add(messages, Ordering::Relaxed);
        }
    }

    /// `bytes` of Fetch records were written with sendfile(2).
    pub fn record_fetch_zero_copy(&self, bytes: usize) {
        self.fetch_zero_copy_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A fetch session was evicted to make room for another.
    pub fn record_fetch_session_eviction(&self) {
        self.fetch_session_evictions.fetch_add(1, Ordering::Relaxed);
    }

    /// The leader wrote a new ISR of `after` replicas over one of `before`.
    pub fn record_isr_change(&self, before: usize, after: usize) {
        if after < before {
            self.isr_shrinks.fetch_add(1, Ordering::Relaxed);
        } else if after > before {
            self.isr_expands.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (API, counters) of every API that has seen a request.
    pub fn apis(&self) -> impl Iterator<Item = (ApiKey, &ApiStats)> {
        self.apis.iter().enumerate().filter_map(|(i, stats)| {
            if stats.requests.load(Ordering::Relaxed) == 0 {
                return None;
            }
            let key = ApiKey::try_from(i as i16).ok()?;
            Some((key, stats))
        })
    }

    /// Forgets the counters of topics not in `hosted` (deleted, or moved
    /// away), as Kafka drops a topic's metrics with its last local partition.
    pub fn retain_topics(&self, hosted: &HashSet<&str>) {
        self.topics
            .write()
            .retain(|topic, _| hosted.contains(topic.as_str()));
    }

    /// Every topic's totals, sorted by name.
    pub fn topic_totals(&self) -> Vec<(String, TopicTotals)> {
        let mut out: Vec<_> = self
            .topics
            .read()
            .iter()
            .map(|(name, t)| {
                let totals = TopicTotals {
                    messages_in: t.messages_in.load(Ordering::Relaxed),
                    bytes_in: t.bytes_in.load(Ordering::Relaxed),
                    messages_out: t.messages_out.load(Ordering::Relaxed),
                    bytes_out: t.bytes_out.load(Ordering::Relaxed),
                    replication_bytes_out: t.replication_bytes_out.load(Ordering::Relaxed),
                };
                (name.clone(), totals)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Records in a run of magic-2 batches, read from their headers (batch
/// length at byte 8, record count at byte 57); a torn last batch (a fetch
/// may end mid-batch) is not counted.
pub fn count_records(mut batches: &[u8]) -> u64 {
    const LENGTH_AT: usize = 8;
    const COUNT_AT: usize = 57;
    const HEADER: usize = 61;
    let mut total = 0u64;
    while batches.len() >= HEADER {
        let length = i32::from_be_bytes(
            batches[LENGTH_AT..LENGTH_AT + 4]
                .try_into()
                .expect("4 bytes"),
        );
        let Ok(length) = usize::try_from(length) else {
            break;
        };
        let end = LENGTH_AT + 4 + length;
        if end > batches.len() || end < HEADER {
            break;
        }
        let count =
            i32::from_be_bytes(batches[COUNT_AT..COUNT_AT + 4].try_into().expect("4 bytes"));
        total += count.max(0) as u64;
        batches = &batches[end..];
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(records: i32, body: usize) -> Vec<u8> {
        let mut b = vec![0u8; 61 + body];
        let length = (b.len() - 12) as i32;
        b[8..12].copy_from_slice(&length.to_be_bytes());
        b[57..61].copy_from_slice(&records.to_be_bytes());
        b
    }

    #[test]
    fn counts_records_of_whole_batches_only() {
        let mut bytes = batch(3, 10);
        bytes.extend(batch(5, 0));
        assert_eq!(count_records(&bytes), 8);
        let torn = batch(7, 20);
        bytes.extend_from_slice(&torn[..40]);
        assert_eq!(count_records(&bytes), 8);
        assert_eq!(count_records(&[]), 0);
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(100));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.cumulative[0], 1);
        assert_eq!(s.cumulative[4], 2);
        assert_eq!(*s.cumulative.last().unwrap(), 3);
        assert_eq!(s.cumulative[LATENCY_BUCKETS_MICROS.len() - 1], 2);
        assert_eq!(s.sum_micros, 100 + 3_000 + 100_000_000);
    }

    #[test]
    fn isr_changes_count_by_direction() {
        let r = Registry::default();
        r.record_isr_change(3, 2);
        r.record_isr_change(2, 3);
        r.record_isr_change(2, 3);
        r.record_isr_change(2, 2);
        assert_eq!(r.isr_shrinks.load(Ordering::Relaxed), 1);
        assert_eq!(r.isr_expands.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn topics_count_and_are_forgotten_when_no_longer_hosted() {
        let r = Registry::default();
        r.record_produce("a", 2, 100);
        r.record_produce("a", 1, 50);
        r.record_fetch("b", &[], false);
        r.record_produce("b", 1, 10);
        let totals = r.topic_totals();
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].0, "a");
        assert_eq!((totals[0].1.messages_in, totals[0].1.bytes_in), (3, 150));
        r.retain_topics(&HashSet::from(["b"]));
        let names: Vec<_> = r.topic_totals().into_iter().map(|(t, _)| t).collect();
        assert_eq!(names, ["b"]);
    }
}
