//! ISR changes by the leader (Kafka's maybeShrinkIsr / maybeExpandIsr in ZK
//! mode), the only replica file that talks to ZooKeeper. Every
//! replica.lag.time.max.ms / 2, and whenever a follower catches up, each led
//! partition proposes its ISR; a changed ISR is written by conditional update
//! of `/brokers/topics/<t>/partitions/<p>/state` on the zkVersion from the
//! last LeaderAndIsr, and the changed partitions are announced with an
//! `/isr_change_notification/isr_change_<seq>` node for the controller
//! (retried until written). A version conflict whose znode holds our own
//! proposal is our earlier attempt, whose reply a connection loss ate: it
//! counts as written. Any other conflict means the controller changed the
//! state: the partition makes no more ISR changes until its next LeaderAndIsr.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::ReplicaManager;
use super::partition::{IsrProposal, Partition};
use crate::model::{TopicPartition, ZkVersion};
use crate::zk::{PartitionStateZnode, ZkClient, ZkError};

/// Runs until `shutdown`: the ISR maintenance loop of this broker.
pub async fn run_isr_maintenance(
    replica_manager: Arc<ReplicaManager>,
    zk: ZkClient,
    shutdown: CancellationToken,
) {
    let lag_ms = (replica_manager.settings().lag_time_max.as_millis() as i64).max(2);
    let mut tick = tokio::time::interval(Duration::from_millis((lag_ms / 2) as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wanted = replica_manager.isr_change_wanted();
    // Changed partitions not yet announced to the controller (Kafka's
    // isrChangeSet): kept until a notification is written. A set, so at
    // most one entry per hosted partition.
    let mut unannounced: BTreeSet<TopicPartition> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
            _ = wanted.notified() => {}
        }
        let proposals: Vec<IsrProposal> = replica_manager
            .leader_partitions()
            .iter()
            .filter_map(|p| p.isr_change_proposal(crate::util::now_ms(), lag_ms))
            .collect();
        if !proposals.is_empty() {
            let changed = write_isr_changes(&replica_manager, &zk, proposals).await;
            for tp in &changed {
                replica_manager.announce_partition_change(tp);
            }
            unannounced.extend(changed);
        }
        if !unannounced.is_empty() {
            let partitions: Vec<TopicPartition> = unannounced.iter().cloned().collect();
            match zk.create_isr_change_notification(&partitions).await {
                Ok(_) => unannounced.clear(),
                Err(e) => {
                    tracing::warn!(error = %e, partitions = partitions.len(), "could not write the ISR change notification; retrying");
                }
            }
        }
    }
}

/// Writes each proposal; returns the partitions whose ISR changed.
async fn write_isr_changes(
    replica_manager: &ReplicaManager,
    zk: &ZkClient,
    proposals: Vec<IsrProposal>,
) -> Vec<TopicPartition> {
    let mut changed = Vec::new();
    for proposal in proposals {
        let Some(partition) = replica_manager.get_partition(&proposal.tp) else {
            continue;
        };
        let state = PartitionStateZnode::new(
            proposal.leader_and_isr.leader,
            proposal.leader_and_isr.leader_epoch,
            proposal.leader_and_isr.isr.clone(),
            proposal.controller_epoch,
        );
        let tp = &proposal.tp;
        let written = match zk
            .update_partition_state(
                &tp.topic,
                tp.partition,
                &state,
                proposal.leader_and_isr.zk_version,
            )
            .await
        {
            Ok(new_version) => Some(new_version),
            Err(ZkError::BadVersion { .. }) => landed_version(zk, &proposal, &partition).await,
            Err(e) => {
                tracing::warn!(partition = %tp, error = %e, "ISR update failed; retrying later");
                None
            }
        };
        let Some(new_version) = written else {
            continue;
        };
        let isr_before = partition.isr().len();
        if partition.apply_isr_change(&proposal, new_version) {
            crate::metrics::global()
                .record_isr_change(isr_before, proposal.leader_and_isr.isr.len());
            tracing::info!(partition = %tp, isr = ?proposal.leader_and_isr.isr, zk_version = new_version, "ISR changed");
            changed.push(proposal.tp);
        }
    }
    changed
}

/// A conditional ISR write got BadVersion. If the znode holds our proposal,
/// an earlier attempt landed and only its reply was lost (the ZooKeeper
/// client retried after a connection loss): its zkVersion is ours. Anything
/// else is a controller update: ISR changes wait for its LeaderAndIsr.
async fn landed_version(
    zk: &ZkClient,
    proposal: &IsrProposal,
    partition: &Partition,
) -> Option<ZkVersion> {
    let tp = &proposal.tp;
    match zk.get_partition_state(&tp.topic, tp.partition).await {
        Ok(Some((written, version))) if proposal_landed(proposal, &written) => {
            tracing::info!(partition = %tp, zk_version = version, "ISR change found written after a lost reply; adopting its zkVersion");
            Some(version)
        }
        Ok(_) => {
            tracing::info!(partition = %tp, zk_version = proposal.leader_and_isr.zk_version, "ISR change lost to a controller update; waiting for LeaderAndIsr");
            partition.block_isr_changes(proposal);
            None
        }
        Err(e) => {
            tracing::warn!(partition = %tp, error = %e, "cannot re-read the partition state after a version conflict; retrying later");
            None
        }
    }
}

/// After BadVersion: whether the state znode holds exactly what `proposal`
/// wrote (Kafka's checkLeaderAndIsrZkData), i.e. our own write landed and
/// only its reply was lost to a connection loss before the client retried.
fn proposal_landed(proposal: &IsrProposal, written: &PartitionStateZnode) -> bool {
    written.leader == proposal.leader_and_isr.leader
        && written.leader_epoch == proposal.leader_and_isr.leader_epoch
        && written.isr == proposal.leader_and_isr.isr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LeaderAndIsr;
    use crate::model::{BrokerId, LeaderEpoch, ids};

    fn proposal() -> IsrProposal {
        IsrProposal {
            tp: TopicPartition::new("t", 0),
            leader_and_isr: LeaderAndIsr {
                leader: BrokerId(1),
                leader_epoch: LeaderEpoch::new(4),
                isr: ids(&[1, 2]),
                zk_version: 7,
            },
            controller_epoch: 3,
        }
    }

    #[test]
    fn our_own_write_found_after_bad_version_counts_as_written() {
        let p = proposal();
        let ours = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(4), ids(&[1, 2]), 3);
        assert!(
            proposal_landed(&p, &ours),
            "our write landed before its reply was lost"
        );
        // Another controller epoch stamp on the same state is still ours.
        assert!(proposal_landed(
            &p,
            &PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(4), ids(&[1, 2]), 9)
        ));
        // The controller's write: another epoch, ISR or leader.
        assert!(!proposal_landed(
            &p,
            &PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(5), ids(&[1, 2]), 3)
        ));
        assert!(!proposal_landed(
            &p,
            &PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(4), ids(&[1]), 3)
        ));
        assert!(!proposal_landed(
            &p,
            &PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(4), ids(&[2, 1]), 3)
        ));
        assert!(!proposal_landed(
            &p,
            &PartitionStateZnode::new(BrokerId(2), LeaderEpoch::new(4), ids(&[1, 2]), 3)
        ));
    }
}
