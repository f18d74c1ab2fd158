//! Preferred replica election (Kafka's `onReplicaElection` and
//! `checkAndTriggerAutoLeaderRebalance`): moves leadership back to the first
//! replica of the assignment when it is live and in the ISR. Three triggers:
//! the `/admin/preferred_replica_election` znode (deleted when done), the
//! ElectLeaders API, and, with auto.leader.rebalance.enable, a periodic check
//! that acts for a broker whose share of partitions led by someone else
//! exceeds leader.imbalance.per.broker.percentage. ElectLeaders can also ask
//! for an unclean election of partitions without a leader.

use std::collections::BTreeMap;

use super::Controller;
use super::context::ControllerContext;
use super::election::{PreferredSkip, offline_partition_leader, preferred_replica_leader};
use super::handle::{ControllerApiRequest, ElectionOutcome, ElectionType};
use super::state_write::update_states;
use crate::model::{BrokerId, TopicPartition};
use crate::zk::{PartitionStateZnode, ZkError, paths};

/// Partitions to move back to their preferred replica: for each preferred
/// broker, if more than `percentage`% of the partitions it prefers are led by
/// another broker, all of those. `partitions` yields (partition, assignment, leader).
pub fn imbalanced_partitions<'a>(
    partitions: impl Iterator<Item = (&'a TopicPartition, &'a [BrokerId], BrokerId)>,
    percentage: i32,
) -> Vec<TopicPartition> {
    let mut by_preferred: BTreeMap<BrokerId, (usize, Vec<TopicPartition>)> = BTreeMap::new();
    for (tp, assignment, leader) in partitions {
        let Some(&preferred) = assignment.first() else {
            continue;
        };
        let entry = by_preferred.entry(preferred).or_default();
        entry.0 += 1;
        if leader != preferred {
            entry.1.push(tp.clone());
        }
    }
    by_preferred
        .into_values()
        .filter(|(total, misled)| {
            !misled.is_empty() && misled.len() as f64 / *total as f64 > percentage as f64 / 100.0
        })
        .flat_map(|(_, misled)| misled)
        .collect()
}

impl Controller {
    pub(super) async fn on_api_request(
        &mut self,
        request: ControllerApiRequest,
    ) -> Result<(), ZkError> {
        match request {
            ControllerApiRequest::ControlledShutdown {
                broker_id,
                broker_epoch,
                reply,
            } => {
                let answer = self.on_controlled_shutdown(broker_id, broker_epoch).await?;
                let _ = reply.send(answer);
            }
            ControllerApiRequest::ElectLeaders {
                election_type,
                partitions,
                reply,
            } => {
                let partitions = partitions.unwrap_or_else(|| self.ctx.all_partitions());
                let outcome = self.elect_leaders(election_type, &partitions).await?;
                let _ = reply.send(outcome);
            }
            ControllerApiRequest::Reassignment(request) => {
                self.on_reassignment_api_request(request).await?
            }
        }
        Ok(())
    }

    /// Handles `/admin/preferred_replica_election`, then deletes it.
    pub(super) async fn on_preferred_replica_election_request(&mut self) -> Result<(), ZkError> {
        let Some(request) = self.zk.get_preferred_replica_election().await? else {
            return Ok(());
        };
        let partitions: Vec<TopicPartition> = request
            .partitions
            .iter()
            .map(|p| TopicPartition::new(p.topic.clone(), p.partition))
            .collect();
        let outcome = self
            .elect_leaders(ElectionType::Preferred, &partitions)
            .await?;
        tracing::info!(
            ?outcome,
            "preferred replica election requested in ZooKeeper done"
        );
        self.delete_fenced(&[paths::admin_preferred_replica_election()])
            .await
    }

    /// The periodic leader imbalance check.
    pub(super) async fn check_leader_imbalance(&mut self) -> Result<(), ZkError> {
        let candidates = imbalanced_partitions(
            self.ctx
                .partition_states
                .iter()
                .filter(|(tp, _)| !self.ctx.topics_being_deleted.contains(&tp.topic))
                .map(|(tp, (state, _))| (tp, self.ctx.replicas(tp), state.leader)),
            self.settings.leader_imbalance_per_broker_percentage,
        );
        if candidates.is_empty() {
            return Ok(());
        }
        let outcome = self
            .elect_leaders(ElectionType::Preferred, &candidates)
            .await?;
        let moved = outcome
            .values()
            .filter(|&&o| o == ElectionOutcome::Elected)
            .count();
        if moved > 0 {
            tracing::info!(
                moved,
                "leader imbalance: moved leadership to preferred replicas"
            );
        }
        Ok(())
    }

    /// Runs an election for each of `partitions`, writes the new states, and
    /// announces them (LeaderAndIsr to the replicas, UpdateMetadata to all).
    pub(super) async fn elect_leaders(
        &mut self,
        election_type: ElectionType,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, ElectionOutcome>, ZkError> {
        let mut outcome = BTreeMap::new();
        let mut candidates = Vec::new();
        for tp in partitions {
            let Some((current, _)) = self.ctx.partition_states.get(tp) else {
                outcome.insert(tp.clone(), ElectionOutcome::UnknownTopicOrPartition);
                continue;
            };
            if self.ctx.topics_being_deleted.contains(&tp.topic) {
                outcome.insert(tp.clone(), ElectionOutcome::UnknownTopicOrPartition);
                continue;
            }
            match elect(&self.ctx, tp, current, election_type) {
                Err(skip) => {
                    outcome.insert(tp.clone(), skip);
                }
                Ok(_) => candidates.push(tp.clone()),
            }
        }
        let decide =
            |ctx: &ControllerContext, tp: &TopicPartition, current: &PartitionStateZnode| {
                elect(ctx, tp, current, election_type).ok()
            };
        let mut changed = Vec::new();
        for (tp, update) in update_states(&self.zk, &mut self.ctx, &candidates, decide).await? {
            if update.written() {
                let leader = self.ctx.partition_states[&tp].0.leader;
                tracing::info!(partition = %tp, %leader, ?election_type, "elected leader on request");
                outcome.insert(tp.clone(), ElectionOutcome::Elected);
            } else {
                outcome.insert(tp.clone(), ElectionOutcome::Conflict);
            }
            if update.changed() {
                changed.push(tp);
            }
        }
        if !changed.is_empty() {
            self.send_leader_and_isr_for_partitions(&changed, &[]);
            let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
            self.send_update_metadata(&brokers, &changed, &[]);
        }
        Ok(outcome)
    }
}

/// The next state of `tp` under `election_type`, or why there is none.
fn elect(
    ctx: &ControllerContext,
    tp: &TopicPartition,
    current: &PartitionStateZnode,
    election_type: ElectionType,
) -> Result<PartitionStateZnode, ElectionOutcome> {
    let assignment = ctx.replicas(tp);
    let elected = match election_type {
        ElectionType::Preferred => {
            preferred_replica_leader(assignment, &current.isr, current.leader, |b| {
                ctx.is_eligible(b)
            })
            .map_err(|skip| match skip {
                PreferredSkip::AlreadyLeader => ElectionOutcome::NotNeeded,
                PreferredSkip::NotAvailable => ElectionOutcome::PreferredLeaderNotAvailable,
            })?
        }
        ElectionType::Unclean => {
            if ctx.is_live(current.leader) {
                return Err(ElectionOutcome::NotNeeded);
            }
            offline_partition_leader(assignment, &current.isr, |b| ctx.is_eligible(b), true)
                .ok_or(ElectionOutcome::EligibleLeadersNotAvailable)?
        }
    };
    Ok(PartitionStateZnode::new(
        elected.leader,
        current.leader_epoch.next(),
        elected.isr,
        ctx.epoch,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids;

    fn tps(n: i32) -> Vec<TopicPartition> {
        (0..n).map(|p| TopicPartition::new("t", p)).collect()
    }

    #[test]
    fn rebalances_only_brokers_above_the_threshold() {
        let parts = tps(4);
        // Broker 1 prefers p0..p2 and leads only p0 (2/3 misled);
        // broker 2 prefers p3 and leads it.
        let (one_two, two_one) = (ids(&[1, 2]), ids(&[2, 1]));
        let rows = [
            (&parts[0], &one_two[..], BrokerId(1)),
            (&parts[1], &one_two[..], BrokerId(2)),
            (&parts[2], &one_two[..], BrokerId(2)),
            (&parts[3], &two_one[..], BrokerId(2)),
        ];
        let chosen = imbalanced_partitions(rows.iter().copied(), 10);
        assert_eq!(chosen, vec![parts[1].clone(), parts[2].clone()]);
        // 2/3 = 66% is not above 70%.
        assert!(imbalanced_partitions(rows.iter().copied(), 70).is_empty());
        // 0%: any partition off its preferred leader counts.
        let one_off = [
            (&parts[0], &one_two[..], BrokerId(2)),
            (&parts[1], &one_two[..], BrokerId(1)),
        ];
        assert_eq!(
            imbalanced_partitions(one_off.iter().copied(), 0),
            vec![parts[0].clone()]
        );
        assert!(imbalanced_partitions(one_off.iter().copied(), 50).is_empty());
    }
}
