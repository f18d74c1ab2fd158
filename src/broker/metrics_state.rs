//! Where the metrics endpoint's state gauges come from on a broker: the
//! `StateSource` of `metrics`, reading the replica manager, the metadata
//! cache, the controller handle and ZooKeeper at scrape time, so nothing on
//! the hot path maintains them. Partitions led and hosted, under-replicated
//! partitions (led partitions whose ISR is smaller than their replica set in
//! the metadata cache), log sizes, whether this broker is the active
//! controller and, on the active controller only (as Kafka reports
//! OfflinePartitionsCount), the partitions without a live leader; the
//! incremental fetch sessions held and their partitions.
//!
//! Lag is reported by the leader of each partition: for every group with
//! committed offsets in ZooKeeper (`/consumers/<g>/offsets`, read fresh, not
//! from the coordinator's cache, since another broker may coordinate the
//! group), and every partition of it this broker leads, lag = high watermark
//! minus committed offset (at least 0). Summed over the brokers of a cluster
//! that covers every group and partition exactly once.

use std::sync::Arc;
use std::time::Duration;

use crate::controller::ControllerHandle;
use crate::metadata::{LEADER_DURING_DELETE, MetadataCache};
use crate::metrics::{GaugeFuture, StateGauges, StateSource};
use crate::model::TopicPartition;
use crate::replica::ReplicaManager;
use crate::zk::ZkClient;

/// At most this many groups are read per scrape (sorted by name).
pub const MAX_LAG_GROUPS: usize = 1000;
/// The ZooKeeper reads for lag give up after this long; lag is then omitted.
pub const LAG_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What the state gauges are read from.
#[derive(Clone)]
pub struct BrokerStateSource {
    pub replica_manager: Arc<ReplicaManager>,
    pub metadata: Arc<MetadataCache>,
    pub controller: ControllerHandle,
    pub zk: ZkClient,
}

impl StateSource for BrokerStateSource {
    fn collect(&self) -> GaugeFuture {
        let source = self.clone();
        Box::pin(async move { collect(&source).await })
    }
}

async fn collect(sources: &BrokerStateSource) -> StateGauges {
    let snapshot = sources.metadata.snapshot();
    let active_controller = sources.controller.is_active();
    let leaders = sources.replica_manager.leader_partitions();
    let under_replicated_partitions = leaders
        .iter()
        .filter(|p| {
            let isr = p.isr().len();
            let replicas = snapshot
                .partition(&p.tp.topic, p.tp.partition)
                .map_or(isr, |m| m.replicas.len());
            isr < replicas
        })
        .count();
    let offline_partitions = active_controller.then(|| {
        snapshot
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|m| {
                m.leader != LEADER_DURING_DELETE && !snapshot.brokers.contains_key(&m.leader)
            })
            .count()
    });
    let group_lag = tokio::time::timeout(LAG_READ_TIMEOUT, group_lag(sources))
        .await
        .ok()
        .flatten();
    let mut log_sizes: Vec<(TopicPartition, u64)> = sources
        .replica_manager
        .log_manager()
        .all_logs()
        .into_iter()
        .map(|(tp, log)| (tp, log.size_bytes()))
        .collect();
    log_sizes.sort();
    let sessions = sources.replica_manager.fetch_manager().stats();
    StateGauges {
        active_controller,
        fetch_sessions: sessions.sessions,
        fetch_session_partitions: sessions.partitions_cached,
        partitions: sources.replica_manager.partition_count(),
        leader_partitions: leaders.len(),
        under_replicated_partitions,
        offline_partitions,
        log_sizes,
        group_lag,
    }
}

async fn group_lag(sources: &BrokerStateSource) -> Option<Vec<(String, TopicPartition, i64)>> {
    let groups = match sources.zk.get_consumer_groups().await {
        Ok(groups) => groups,
        Err(e) => {
            tracing::debug!(error = %e, "metrics: cannot list consumer groups");
            return None;
        }
    };
    let mut lag = Vec::new();
    for group in groups.into_iter().take(MAX_LAG_GROUPS) {
        let committed = match sources.zk.get_consumer_offsets(&group).await {
            Ok(committed) => committed,
            Err(e) => {
                tracing::debug!(%group, error = %e, "metrics: cannot read committed offsets");
                continue;
            }
        };
        for (tp, offset) in committed {
            let Ok(partition) = sources.replica_manager.leader_partition(&tp) else {
                continue;
            };
            let behind = (partition.high_watermark() - offset).max(0);
            lag.push((group.clone(), tp, behind));
        }
    }
    Some(lag)
}
