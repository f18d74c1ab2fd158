//! Kafka's controller election and fencing: the ephemeral `/controller`, the
//! conditionally incremented `/controller_epoch`, and controller writes
//! fenced on the epoch znode's zkVersion (a multi with a check op, as Kafka's
//! controller does), so a deposed controller cannot write.

use tracing::info;

use super::data::{ControllerZnode, ZnodeJson, decode_controller_epoch, encode_controller_epoch};
use super::{CreateMode, ZkClient, ZkError, ZkOp, ZkOpResult, ZkStat, paths};
use crate::model::{BrokerId, ControllerEpoch, ZkVersion};

/// The outcome of `register_controller_and_increment_epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerElection {
    /// This broker is the controller with this epoch; fence writes on `epoch_zk_version`.
    Won {
        epoch: ControllerEpoch,
        epoch_zk_version: ZkVersion,
    },
    /// Another broker won (its id, if it is still there).
    Lost { controller_id: Option<BrokerId> },
}

/// Kafka's `KafkaController.InitialControllerEpoch`: `/controller_epoch` is
/// created with 0, so the first controller's epoch is 1.
const INITIAL_CONTROLLER_EPOCH: ControllerEpoch = 0;

impl ZkClient {
    /// Tries to become controller by creating the ephemeral `/controller`.
    /// `Ok(false)` if another session holds it; `Ok(true)` also when this
    /// session already holds it (a retried create).
    pub async fn try_create_controller(&self, broker_id: BrokerId) -> Result<bool, ZkError> {
        let path = paths::controller();
        let data = ControllerZnode::new(broker_id).encode(&path)?;
        match self.create(&path, &data, CreateMode::Ephemeral).await {
            Ok(_) => Ok(true),
            Err(ZkError::NodeExists { .. }) => Ok(self
                .stat(&path)
                .await?
                .is_some_and(|s| s.ephemeral_owner == self.session_id())),
            Err(e) => Err(e),
        }
    }

    /// The current controller's broker id, `None` if there is none.
    pub async fn get_controller_id(&self) -> Result<Option<BrokerId>, ZkError> {
        Ok(self.get_controller().await?.map(|(c, _)| c.brokerid))
    }

    /// `/controller` with its stat, `None` if there is no controller.
    pub async fn get_controller(&self) -> Result<Option<(ControllerZnode, ZkStat)>, ZkError> {
        let path = paths::controller();
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, stat)) => Ok(Some((ControllerZnode::decode(&path, &data)?, stat))),
        }
    }

    /// `(epoch, zk_version)` of `/controller_epoch`, `None` if absent.
    pub async fn get_controller_epoch(
        &self,
    ) -> Result<Option<(ControllerEpoch, ZkVersion)>, ZkError> {
        let path = paths::controller_epoch();
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, stat)) => Ok(Some((decode_controller_epoch(&path, &data)?, stat.version))),
        }
    }

    /// The current `(epoch, zk_version)`, creating `/controller_epoch` with
    /// Kafka's initial epoch 0 if absent.
    async fn get_or_create_controller_epoch(
        &self,
    ) -> Result<(ControllerEpoch, ZkVersion), ZkError> {
        if let Some(current) = self.get_controller_epoch().await? {
            return Ok(current);
        }
        let path = paths::controller_epoch();
        let data = encode_controller_epoch(INITIAL_CONTROLLER_EPOCH);
        match self.create(&path, &data, CreateMode::Persistent).await {
            Ok(_) => Ok((INITIAL_CONTROLLER_EPOCH, 0)),
            Err(ZkError::NodeExists { .. }) => self
                .get_controller_epoch()
                .await?
                .ok_or(ZkError::NoNode { path }),
            Err(e) => Err(e),
        }
    }

    /// Bumps `/controller_epoch` by one with a conditional set and returns the
    /// new `(epoch, zk_version)`. `ZkError::BadVersion` means another
    /// controller bumped it first. (Creates it with 0 first if absent, so the
    /// first controller gets epoch 1, as in Kafka.)
    pub async fn increment_controller_epoch(
        &self,
    ) -> Result<(ControllerEpoch, ZkVersion), ZkError> {
        let (epoch, version) = self.get_or_create_controller_epoch().await?;
        let new_epoch = epoch + 1;
        let path = paths::controller_epoch();
        let new_version = self
            .set_data(&path, &encode_controller_epoch(new_epoch), Some(version))
            .await?;
        Ok((new_epoch, new_version))
    }

    /// Kafka's election (`registerControllerAndIncrementControllerEpoch`): in
    /// one multi, create the ephemeral `/controller` and bump
    /// `/controller_epoch` conditionally on the version just read.
    pub async fn register_controller_and_increment_epoch(
        &self,
        broker_id: BrokerId,
    ) -> Result<ControllerElection, ZkError> {
        let (epoch, version) = self.get_or_create_controller_epoch().await?;
        let new_epoch = epoch + 1;
        let controller_path = paths::controller();
        let ops = [
            ZkOp::Create {
                path: controller_path.clone(),
                data: ControllerZnode::new(broker_id).encode(&controller_path)?,
                mode: CreateMode::Ephemeral,
            },
            ZkOp::SetData {
                path: paths::controller_epoch(),
                data: encode_controller_epoch(new_epoch),
                expected_version: Some(version),
            },
        ];
        match self.multi(&ops).await {
            Ok(results) => {
                let epoch_zk_version = match results.get(1) {
                    Some(ZkOpResult::DataSet { version }) => *version,
                    _ => version + 1,
                };
                info!(
                    %broker_id,
                    epoch = new_epoch,
                    epoch_zk_version,
                    "elected controller"
                );
                Ok(ControllerElection::Won {
                    epoch: new_epoch,
                    epoch_zk_version,
                })
            }
            Err(ZkError::NodeExists { .. } | ZkError::BadVersion { .. }) => {
                // Lost, or our own earlier attempt succeeded before a connection loss.
                let controller_id = self.get_controller_id().await?;
                if controller_id == Some(broker_id)
                    && let Some((epoch, epoch_zk_version)) = self.get_controller_epoch().await?
                    && epoch == new_epoch
                {
                    return Ok(ControllerElection::Won {
                        epoch,
                        epoch_zk_version,
                    });
                }
                Ok(ControllerElection::Lost { controller_id })
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `ops` atomically only while `/controller_epoch` still has
    /// `epoch_zk_version` (this controller is still the controller);
    /// otherwise `ZkError::ControllerMoved`. Returns the results of `ops`.
    pub async fn controller_fenced_multi(
        &self,
        epoch_zk_version: ZkVersion,
        ops: Vec<ZkOp>,
    ) -> Result<Vec<ZkOpResult>, ZkError> {
        let epoch_path = paths::controller_epoch();
        let mut fenced = Vec::with_capacity(ops.len() + 1);
        fenced.push(ZkOp::Check {
            path: epoch_path.clone(),
            version: epoch_zk_version,
        });
        fenced.extend(ops);
        match self.multi(&fenced).await {
            Ok(mut results) => {
                results.remove(0);
                Ok(results)
            }
            Err(ZkError::BadVersion { path } | ZkError::NoNode { path }) if path == epoch_path => {
                Err(ZkError::ControllerMoved {
                    path,
                    expected_zk_version: epoch_zk_version,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes `/controller` while still controller (fenced), to resign.
    /// Fine if it is already gone.
    pub async fn delete_controller(&self, epoch_zk_version: ZkVersion) -> Result<(), ZkError> {
        let ops = vec![ZkOp::Delete {
            path: paths::controller(),
            expected_version: None,
        }];
        match self.controller_fenced_multi(epoch_zk_version, ops).await {
            Ok(_) | Err(ZkError::NoNode { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
