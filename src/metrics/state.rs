//! The gauges that describe state rather than traffic. They are computed at
//! scrape time by whoever owns the state (on a broker,
//! `broker/metrics_state.rs`), through the [`StateSource`] the endpoint is
//! started with, so this room depends on nothing internal.

use std::future::Future;
use std::pin::Pin;

use crate::model::TopicPartition;

/// One scrape's state.
#[derive(Debug, Default)]
pub struct StateGauges {
    pub active_controller: bool,
    pub partitions: usize,
    pub leader_partitions: usize,
    pub under_replicated_partitions: usize,
    /// `None` unless this broker is the active controller.
    pub offline_partitions: Option<usize>,
    /// (partition, size in bytes) of every local log, sorted; read last, so
    /// topics hosted now have a log here (traffic counters of topics without
    /// one are dropped).
    pub log_sizes: Vec<(TopicPartition, u64)>,
    /// (group, partition, lag), sorted; `None` when it could not be read.
    pub group_lag: Option<Vec<(String, TopicPartition, i64)>>,
    /// Incremental fetch sessions held (Kafka's NumIncrementalFetchSessions).
    pub fetch_sessions: usize,
    /// Their partitions (NumIncrementalFetchPartitionsCached).
    pub fetch_session_partitions: usize,
}

pub type GaugeFuture = Pin<Box<dyn Future<Output = StateGauges> + Send>>;

/// Computes the state gauges for one scrape.
pub trait StateSource: Send + Sync + 'static {
    fn collect(&self) -> GaugeFuture;
}
