//! Which fetcher follows which partition (Kafka's ReplicaFetcherManager):
//! num.replica.fetchers tasks per source broker, a partition always on the
//! same one (by hash). Adding a partition moves it to its leader's fetcher in
//! the truncating state; removing the last partition of a fetcher stops it.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::fetcher::{FetchStates, FollowerReplicas, PartitionFetchState, ReplicaFetcher};
use super::settings::ReplicationSettings;
use crate::metadata::BrokerEndpoint;
use crate::model::{BrokerId, LeaderEpoch, TopicPartition};

struct FetcherHandle {
    source: BrokerEndpoint,
    partitions: FetchStates,
    wake: Arc<Notify>,
    stop: CancellationToken,
}

/// A partition to follow: its leader and the leader epoch.
#[derive(Debug, Clone)]
pub struct FollowTarget {
    pub tp: TopicPartition,
    pub leader: BrokerEndpoint,
    pub leader_epoch: LeaderEpoch,
}

pub struct ReplicaFetcherManager {
    broker_id: BrokerId,
    settings: ReplicationSettings,
    /// Fetchers by (source broker id, fetcher index).
    fetchers: Mutex<HashMap<(i32, usize), FetcherHandle>>,
}

impl ReplicaFetcherManager {
    pub fn new(broker_id: BrokerId, settings: ReplicationSettings) -> Self {
        ReplicaFetcherManager {
            broker_id,
            settings,
            fetchers: Mutex::new(HashMap::new()),
        }
    }

    fn fetcher_index(&self, tp: &TopicPartition) -> usize {
        let mut hasher = DefaultHasher::new();
        tp.hash(&mut hasher);
        (hasher.finish() % self.settings.num_replica_fetchers.max(1) as u64) as usize
    }

    /// Starts following `targets`, each truncating first.
    pub fn add_partitions(&self, replicas: &Arc<dyn FollowerReplicas>, targets: Vec<FollowTarget>) {
        if targets.is_empty() {
            return;
        }
        let tps: Vec<TopicPartition> = targets.iter().map(|t| t.tp.clone()).collect();
        self.remove_partitions(&tps);
        let mut fetchers = self.fetchers.lock();
        for target in targets {
            let key = (target.leader.id.0, self.fetcher_index(&target.tp));
            let moved = match fetchers.get(&key) {
                Some(existing) if existing.source != target.leader => {
                    // The leader moved to another address: restart its fetcher.
                    let old = fetchers.remove(&key).expect("present");
                    old.stop.cancel();
                    std::mem::take(&mut *old.partitions.lock())
                }
                _ => HashMap::new(),
            };
            let handle = fetchers
                .entry(key)
                .or_insert_with(|| self.spawn_fetcher(replicas, target.leader.clone()));
            let mut partitions = handle.partitions.lock();
            for (tp, state) in moved {
                partitions.insert(tp, PartitionFetchState::new(state.leader_epoch));
            }
            partitions.insert(target.tp, PartitionFetchState::new(target.leader_epoch));
            drop(partitions);
            handle.wake.notify_one();
        }
    }

    fn spawn_fetcher(
        &self,
        replicas: &Arc<dyn FollowerReplicas>,
        source: BrokerEndpoint,
    ) -> FetcherHandle {
        let handle = FetcherHandle {
            source: source.clone(),
            partitions: FetchStates::default(),
            wake: Arc::new(Notify::new()),
            stop: CancellationToken::new(),
        };
        let fetcher = ReplicaFetcher {
            broker_id: self.broker_id,
            source,
            settings: self.settings,
            replicas: replicas.clone(),
            partitions: handle.partitions.clone(),
            wake: handle.wake.clone(),
            stop: handle.stop.clone(),
        };
        tokio::spawn(fetcher.run());
        handle
    }

    /// Stops following `tps`; fetchers left without partitions stop.
    pub fn remove_partitions(&self, tps: &[TopicPartition]) {
        let mut fetchers = self.fetchers.lock();
        fetchers.retain(|_, handle| {
            let mut partitions = handle.partitions.lock();
            for tp in tps {
                partitions.remove(tp);
            }
            let keep = !partitions.is_empty();
            if !keep {
                handle.stop.cancel();
            }
            keep
        });
    }

    /// The partitions being followed, with their leader.
    pub fn followed(&self) -> Vec<(TopicPartition, i32)> {
        let fetchers = self.fetchers.lock();
        fetchers
            .iter()
            .flat_map(|((source, _), handle)| {
                handle
                    .partitions
                    .lock()
                    .keys()
                    .map(|tp| (tp.clone(), *source))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn shutdown(&self) {
        for (_, handle) in self.fetchers.lock().drain() {
            handle.stop.cancel();
        }
    }
}
