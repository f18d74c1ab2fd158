//! Kafka's notification and admin-request znodes: ISR change notifications
//! (leaders tell the controller), partition reassignment and preferred
//! replica election requests (admin tools tell the controller), and the
//! producer id block brokers claim ids from.

use tracing::info;

use super::data::ZnodeJson;
use super::data_admin::{
    IsrChangeNotification, PreferredReplicaElection, ProducerIdBlock, ReassignPartitions,
};
use super::{CreateMode, ZkClient, ZkError, paths};
use crate::model::{BrokerId, TopicPartition};

/// Attempts to claim a producer id block against competing brokers.
const PRODUCER_ID_BLOCK_ATTEMPTS: usize = 10;

impl ZkClient {
    /// Records that the ISR of `partitions` changed
    /// (`/isr_change_notification/isr_change_<seq>`); returns the created path.
    pub async fn create_isr_change_notification(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<String, ZkError> {
        let prefix = paths::isr_change_prefix();
        let data = IsrChangeNotification::new(partitions).encode(&prefix)?;
        self.create_recursive(&prefix, &data, CreateMode::PersistentSequential)
            .await
    }

    /// Names of the pending ISR change notifications (`isr_change_<seq>`), oldest first.
    pub async fn get_isr_change_notifications(&self) -> Result<Vec<String>, ZkError> {
        let mut names = self
            .get_children(&paths::isr_change_notification())
            .await?
            .unwrap_or_default();
        names.retain(|n| n.starts_with(paths::ISR_CHANGE_PREFIX));
        names.sort();
        Ok(names)
    }

    /// The partitions named by the notifications `names` (vanished ones
    /// skipped), deduplicated and sorted.
    pub async fn get_isr_change_notification_partitions(
        &self,
        names: &[String],
    ) -> Result<Vec<TopicPartition>, ZkError> {
        let notification_paths: Vec<String> = names.iter().map(|n| paths::isr_change(n)).collect();
        let data = self.get_data_many(&notification_paths).await?;
        let mut partitions = Vec::new();
        for (path, entry) in notification_paths.iter().zip(data) {
            if let Some((bytes, _)) = entry {
                partitions.extend(IsrChangeNotification::decode(path, &bytes)?.topic_partitions());
            }
        }
        partitions.sort();
        partitions.dedup();
        Ok(partitions)
    }

    /// Deletes ISR change notifications by name; fine if gone.
    pub async fn delete_isr_change_notifications(&self, names: &[String]) -> Result<(), ZkError> {
        for name in names {
            match self.delete(&paths::isr_change(name), None).await {
                Ok(()) | Err(ZkError::NoNode { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The pending partition reassignment request, `None` if none.
    pub async fn get_partition_reassignment(&self) -> Result<Option<ReassignPartitions>, ZkError> {
        let path = paths::admin_reassign_partitions();
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, _)) => Ok(Some(ReassignPartitions::decode(&path, &data)?)),
        }
    }

    /// Removes the partition reassignment request; fine if gone.
    pub async fn delete_partition_reassignment(&self) -> Result<(), ZkError> {
        match self.delete(&paths::admin_reassign_partitions(), None).await {
            Ok(()) | Err(ZkError::NoNode { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The pending preferred replica election request, `None` if none.
    pub async fn get_preferred_replica_election(
        &self,
    ) -> Result<Option<PreferredReplicaElection>, ZkError> {
        let path = paths::admin_preferred_replica_election();
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, _)) => Ok(Some(PreferredReplicaElection::decode(&path, &data)?)),
        }
    }

    /// Removes the preferred replica election request; fine if gone.
    pub async fn delete_preferred_replica_election(&self) -> Result<(), ZkError> {
        match self
            .delete(&paths::admin_preferred_replica_election(), None)
            .await
        {
            Ok(()) | Err(ZkError::NoNode { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Claims the next block of `block_size` producer ids for `broker_id`
    /// (Kafka's ZK producer id manager): reads `/latest_producer_id_block`,
    /// writes the following block conditionally, retries if another broker
    /// claimed one first. An empty znode means no block was handed out yet.
    pub async fn allocate_producer_id_block(
        &self,
        broker_id: BrokerId,
        block_size: i64,
    ) -> Result<ProducerIdBlock, ZkError> {
        let path = paths::latest_producer_id_block();
        for _ in 0..PRODUCER_ID_BLOCK_ATTEMPTS {
            let (current, version) = match self.get_data(&path).await? {
                None => {
                    self.ensure_path(&path).await?;
                    continue;
                }
                Some((data, stat)) if data.is_empty() => (None, stat.version),
                Some((data, stat)) => (Some(ProducerIdBlock::decode(&path, &data)?), stat.version),
            };
            let first_id = current
                .as_ref()
                .map_or(0, ProducerIdBlock::next_block_first_id);
            if first_id > i64::MAX - block_size {
                return Err(ZkError::bad_data(&path, "producer ids are exhausted"));
            }
            let block = ProducerIdBlock::new(broker_id, first_id, block_size);
            match self
                .set_data(&path, &block.encode(&path)?, Some(version))
                .await
            {
                Ok(_) => {
                    info!(
                        %broker_id,
                        block_start = block.block_start,
                        block_end = block.block_end,
                        "claimed producer id block"
                    );
                    return Ok(block);
                }
                Err(ZkError::BadVersion { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ZkError::BadVersion { path })
    }
}
