//! The replication settings the replica room runs with, taken from the
//! broker's `replica.*` keys by `broker.rs` (this room does not read config).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicationSettings {
    /// num.replica.fetchers: fetcher tasks per source broker.
    pub num_replica_fetchers: usize,
    /// replica.fetch.max.bytes: per-partition fetch size.
    pub fetch_max_bytes: i32,
    /// replica.fetch.response.max.bytes: whole-response size.
    pub fetch_response_max_bytes: i32,
    /// replica.fetch.min.bytes
    pub fetch_min_bytes: i32,
    /// replica.fetch.wait.max.ms
    pub fetch_wait_max: Duration,
    /// replica.fetch.backoff.ms: pause after a failed fetch.
    pub fetch_backoff: Duration,
    /// replica.socket.timeout.ms
    pub socket_timeout: Duration,
    /// replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR.
    pub lag_time_max: Duration,
    /// max.incremental.fetch.session.cache.slots: fetch sessions kept (KIP-227).
    pub fetch_session_cache_slots: usize,
}

impl Default for ReplicationSettings {
    /// Kafka's defaults.
    fn default() -> Self {
        ReplicationSettings {
            num_replica_fetchers: 1,
            fetch_max_bytes: 1_048_576,
            fetch_response_max_bytes: 10_485_760,
            fetch_min_bytes: 1,
            fetch_wait_max: Duration::from_millis(500),
            fetch_backoff: Duration::from_millis(1000),
            socket_timeout: Duration::from_millis(30_000),
            lag_time_max: Duration::from_millis(30_000),
            fetch_session_cache_slots: 1000,
        }
    }
}
