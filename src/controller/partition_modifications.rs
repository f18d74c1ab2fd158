//! Partition additions (Kafka's PartitionModificationsHandler and
//! processPartitionModifications): the controller watches the data of every
//! `/brokers/topics/<t>` znode (`event.rs`); when one gains partitions (CreatePartitions
//! rewrote it), the new partitions are added to the controller context and
//! brought online like a new topic's (state znodes, LeaderAndIsr to their
//! replicas, UpdateMetadata to every broker). Existing partitions are never
//! touched here: a rewrite that adds none (a reassignment changing replicas,
//! a topic id being assigned) is ignored.

use std::collections::BTreeMap;

use super::Controller;
use super::partition_state;
use crate::model::{BrokerId, TopicPartition};
use crate::zk::{TopicZnode, ZkError, ZnodeJson, paths};

/// Partitions present in the znode's assignment but unknown to the controller.
fn added_partitions(
    known: &BTreeMap<i32, Vec<BrokerId>>,
    znode: &BTreeMap<i32, Vec<BrokerId>>,
) -> BTreeMap<i32, Vec<BrokerId>> {
    znode
        .iter()
        .filter(|(p, _)| !known.contains_key(p))
        .map(|(p, r)| (*p, r.clone()))
        .collect()
}

impl Controller {
    /// Some topic znode changed: bring every partition the controller does
    /// not know yet online. Topics being deleted get no new partitions.
    pub(super) async fn on_partition_modifications(&mut self) -> Result<(), ZkError> {
        let topics: Vec<String> = self.ctx.topics.keys().cloned().collect();
        let topic_paths: Vec<String> = topics.iter().map(|t| paths::topic(t)).collect();
        let data = self.zk.get_data_many(&topic_paths).await?;
        let mut added = Vec::new();
        for ((name, path), entry) in topics.iter().zip(&topic_paths).zip(data) {
            let Some((bytes, _)) = entry else {
                continue;
            };
            let znode = match TopicZnode::decode(path, &bytes) {
                Ok(z) => z,
                Err(e) => {
                    tracing::warn!(topic = %name, error = %e, "unreadable topic znode; ignored");
                    continue;
                }
            };
            let Some(info) = self.ctx.topics.get_mut(name) else {
                continue;
            };
            let new = added_partitions(&info.assignment, znode.assignment());
            if new.is_empty() {
                continue;
            }
            if self.ctx.topics_being_deleted.contains(name) {
                tracing::warn!(topic = %name, partitions = ?new.keys().collect::<Vec<_>>(),
                    "skipping partitions added to a topic being deleted");
                continue;
            }
            tracing::info!(topic = %name, partitions = ?new, "new partitions to be added");
            for (partition, replicas) in new {
                info.assignment.insert(partition, replicas);
                added.push(TopicPartition::new(name.clone(), partition));
            }
        }
        if added.is_empty() {
            return Ok(());
        }
        let online =
            partition_state::initialize_new_partitions(&self.zk, &mut self.ctx, &added).await?;
        self.send_leader_and_isr_for_partitions(&online, &[]);
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, &online, &[]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids;

    #[test]
    fn only_unknown_partitions_count_as_added() {
        let known: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1, 2])), (1, ids(&[2, 3]))].into();
        // A reassignment of partition 1 adds nothing.
        let moved: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1, 2])), (1, ids(&[3, 1]))].into();
        assert!(added_partitions(&known, &moved).is_empty());
        let grown: BTreeMap<i32, Vec<BrokerId>> =
            [(0, ids(&[1, 2])), (1, ids(&[2, 3])), (2, ids(&[3, 1]))].into();
        assert_eq!(
            added_partitions(&known, &grown),
            BTreeMap::from([(2, ids(&[3, 1]))])
        );
    }
}
