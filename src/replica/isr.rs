//! ISR changes by the leader (Kafka's maybeShrinkIsr / maybeExpandIsr in ZK
//! mode), the only replica file that talks to ZooKeeper. Every
//! replica.lag.time.max.ms / 2, and whenever a follower catches up, each led
//! partition proposes its ISR; a changed ISR is written by conditional update
//! of `/brokers/topics/<t>/partitions/<p>/state` on the zkVersion from the
//! last LeaderAndIsr, and the changed partitions are announced with an
//! `/isr_change_notification/isr_change_<seq>` node for the controller. A
//! version conflict means the controller changed the state: the partition
//! makes no more ISR changes until its next LeaderAndIsr.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::ReplicaManager;
use super::partition::IsrProposal;
use crate::model::TopicPartition;
use crate::zk::{PartitionStateZnode, ZkClient, ZkError};

/// Runs until `shutdown`: the ISR maintenance loop of this broker.
pub async fn run_isr_maintenance(
    replica_manager: Arc<ReplicaManager>,
    zk: ZkClient,
    shutdown: CancellationToken,
) {
    let lag_ms = replica_manager.settings().lag_time_max_ms.max(2);
    let mut tick = tokio::time::interval(Duration::from_millis((lag_ms / 2) as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wanted = replica_manager.isr_change_wanted();
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
        if proposals.is_empty() {
            continue;
        }
        let changed = write_isr_changes(&replica_manager, &zk, proposals).await;
        if !changed.is_empty() {
            for tp in &changed {
                replica_manager.announce_partition_change(tp);
            }
            if let Err(e) = zk.create_isr_change_notification(&changed).await {
                tracing::warn!(error = %e, "could not write the ISR change notification");
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
            proposal.leader,
            proposal.leader_epoch,
            proposal.isr.clone(),
            proposal.controller_epoch,
        );
        match zk
            .update_partition_state(
                &proposal.tp.topic,
                proposal.tp.partition,
                &state,
                proposal.zk_version,
            )
            .await
        {
            Ok(new_version) => {
                let isr_before = partition.isr().len();
                if partition.apply_isr_change(&proposal, new_version) {
                    crate::metrics::global().record_isr_change(isr_before, proposal.isr.len());
                    tracing::info!(partition = %proposal.tp, isr = ?proposal.isr, zk_version = new_version, "ISR changed");
                    changed.push(proposal.tp);
                }
            }
            Err(ZkError::BadVersion { .. }) => {
                tracing::info!(partition = %proposal.tp, zk_version = proposal.zk_version, "ISR change lost to a controller update; waiting for LeaderAndIsr");
                partition.block_isr_changes(&proposal);
            }
            Err(e) => {
                tracing::warn!(partition = %proposal.tp, error = %e, "ISR update failed; retrying later");
            }
        }
    }
    changed
}
