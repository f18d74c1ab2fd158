//! Partition reassignment (Kafka's `onPartitionReassignment`): moves a
//! partition's replicas from their original set (ORS) to a target set (TRS).
//! Two triggers: the `/admin/reassign_partitions` znode (what
//! kafka-reassign-partitions.sh writes in ZooKeeper mode; each partition is
//! removed from it when done and the znode deleted when empty) and the
//! AlterPartitionReassignments API (ListPartitionReassignments reads the
//! in-flight state).
//!
//! Phase one writes the topic znode with the full replica set RS = TRS ∪ ORS
//! and its `adding_replicas` / `removing_replicas`, bumps the leader epoch and
//! sends LeaderAndIsr to RS, so the new replicas start following. Phase two
//! runs once every target replica is in the ISR (checked on ISR change
//! notifications): leadership moves into TRS if needed, the ISR shrinks to
//! TRS (new leader epoch), removed replicas get StopReplica with deletion and
//! the topic znode is rewritten with TRS alone. A new controller resumes
//! reassignments from the topic znodes' `adding_replicas` / `removing_replicas`.
//! A topic whose deletion is requested while partitions of it move is
//! ineligible for deletion until they are done (Kafka's
//! `markTopicIneligibleForDeletion` / `resumeDeletionForTopics`); meanwhile
//! new reassignments of it get UNKNOWN_TOPIC_OR_PARTITION.

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::Controller;
use super::context::{ControllerContext, ReassigningReplicas, ReplicaAssignment, minus};
use super::control_request::ControllerRequest;
use super::handle::{
    ControllerApiError, ControllerApiRequest, ControllerHandle, ReassignmentApiRequest,
    ReassignmentError,
};
use super::requests;
use super::state_write::update_state;
use crate::model::{BrokerId, TopicPartition};
use crate::zk::{
    PartitionStateZnode, ReassignPartitions, TopicZnode, ZkError, ZkOp, ZnodeJson, paths,
};

/// How often a topic znode rewrite is retried after someone else changed it.
const TOPIC_WRITE_ATTEMPTS: usize = 5;

/// Checks a target replica list (Kafka's `validateReplicas`): not empty, no
/// duplicates, no negative ids, and every replica it adds is a live broker.
pub fn validate_target(
    current: &ReplicaAssignment,
    target: &[BrokerId],
    is_live: impl Fn(BrokerId) -> bool,
) -> Result<(), ReassignmentError> {
    let invalid = |m: String| Err(ReassignmentError::InvalidReplicaAssignment(m));
    if target.is_empty() {
        return invalid("Empty replica list specified in partition reassignment.".into());
    }
    let mut sorted = target.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != target.len() {
        return invalid(format!(
            "Duplicate replica ids in partition reassignment replica list: {target:?}"
        ));
    }
    if target.iter().any(|r| !r.is_valid()) {
        return invalid(format!("Invalid broker id in replica list: {target:?}"));
    }
    let adding = current.reassign_to(target).adding;
    if adding.iter().any(|&r| !is_live(r)) {
        return invalid(format!(
            "Replica assignment has brokers that are not alive. Replica list: {adding:?}"
        ));
    }
    Ok(())
}

/// True when every target replica is in `isr` (Kafka's `isReassignmentComplete`).
pub fn is_reassignment_complete(assignment: &ReplicaAssignment, isr: &[BrokerId]) -> bool {
    !assignment.is_being_reassigned()
        || assignment.target_replicas().iter().all(|r| isr.contains(r))
}

/// The state of a partition whose replicas become `replicas`: the leader
/// stays if it is one of them and live, otherwise the first of them that is
/// eligible and in the ISR leads (Kafka's reassignment leader election); the
/// ISR keeps only `replicas`; the leader epoch goes up. `None` if no replica
/// can lead.
pub fn shrink_to_replicas(
    ctx: &ControllerContext,
    replicas: &[BrokerId],
    current: &PartitionStateZnode,
) -> Option<PartitionStateZnode> {
    let isr: Vec<BrokerId> = current
        .isr
        .iter()
        .copied()
        .filter(|r| replicas.contains(r))
        .collect();
    let leader = if replicas.contains(&current.leader) && ctx.is_live(current.leader) {
        current.leader
    } else {
        *replicas
            .iter()
            .find(|&&r| ctx.is_eligible(r) && isr.contains(&r))?
    };
    Some(PartitionStateZnode::new(
        leader,
        current.leader_epoch.next(),
        isr,
        ctx.epoch,
    ))
}

impl ControllerContext {
    /// The full assignment of `tp`, with what is being added and removed.
    pub fn full_assignment(&self, tp: &TopicPartition) -> ReplicaAssignment {
        let in_flight = self.reassigning.get(tp).cloned().unwrap_or_default();
        ReplicaAssignment {
            replicas: self.replicas(tp).to_vec(),
            adding: in_flight.adding,
            removing: in_flight.removing,
        }
    }

    fn set_full_assignment(&mut self, tp: &TopicPartition, assignment: &ReplicaAssignment) {
        if let Some(topic) = self.topics.get_mut(&tp.topic) {
            topic
                .assignment
                .insert(tp.partition, assignment.replicas.clone());
        }
        if assignment.is_being_reassigned() {
            self.reassigning.insert(
                tp.clone(),
                ReassigningReplicas {
                    adding: assignment.adding.clone(),
                    removing: assignment.removing.clone(),
                },
            );
        } else {
            self.reassigning.remove(tp);
        }
    }

    fn partition_exists(&self, tp: &TopicPartition) -> bool {
        !self.replicas(tp).is_empty() && !self.topics_being_deleted.contains(&tp.topic)
    }
}

impl ControllerHandle {
    /// Starts, replaces or (target `None`) cancels reassignments; one result per partition.
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: Vec<(TopicPartition, Option<Vec<BrokerId>>)>,
    ) -> Result<BTreeMap<TopicPartition, Result<(), ReassignmentError>>, ControllerApiError> {
        let (reply, answer) = oneshot::channel();
        self.send_reassignment_request(ReassignmentApiRequest::Alter {
            reassignments,
            reply,
        })
        .await?;
        answer.await.map_err(|_| ControllerApiError::NotController)
    }

    /// The in-flight reassignments of `partitions` (all when `None`).
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<BTreeMap<TopicPartition, ReplicaAssignment>, ControllerApiError> {
        let (reply, answer) = oneshot::channel();
        self.send_reassignment_request(ReassignmentApiRequest::List { partitions, reply })
            .await?;
        answer.await.map_err(|_| ControllerApiError::NotController)
    }

    async fn send_reassignment_request(
        &self,
        request: ReassignmentApiRequest,
    ) -> Result<(), ControllerApiError> {
        self.is_active_once_started(super::handle::STARTUP_WAIT)
            .await;
        let sender = self.sender().ok_or(ControllerApiError::NotController)?;
        sender
            .send(ControllerApiRequest::Reassignment(request))
            .await
            .map_err(|_| ControllerApiError::NotController)
    }
}

impl Controller {
    /// Serves AlterPartitionReassignments / ListPartitionReassignments.
    pub(super) async fn on_reassignment_api_request(
        &mut self,
        request: ReassignmentApiRequest,
    ) -> Result<(), ZkError> {
        match request {
            ReassignmentApiRequest::Alter {
                reassignments,
                reply,
            } => {
                let mut results = BTreeMap::new();
                for (tp, target) in reassignments {
                    let result = self.alter_one(&tp, target.as_deref()).await?;
                    results.insert(tp, result);
                }
                let _ = reply.send(results);
            }
            ReassignmentApiRequest::List { partitions, reply } => {
                let partitions =
                    partitions.unwrap_or_else(|| self.ctx.reassigning.keys().cloned().collect());
                let listed = partitions
                    .into_iter()
                    .filter(|tp| self.ctx.partition_exists(tp))
                    .map(|tp| {
                        let assignment = self.ctx.full_assignment(&tp);
                        (tp, assignment)
                    })
                    .filter(|(_, a)| a.is_being_reassigned())
                    .collect();
                let _ = reply.send(listed);
            }
        }
        Ok(())
    }

    /// One partition of AlterPartitionReassignments (Kafka's
    /// `processApiPartitionReassignment`): the latest request wins, so the
    /// partition also leaves `/admin/reassign_partitions`.
    async fn alter_one(
        &mut self,
        tp: &TopicPartition,
        target: Option<&[BrokerId]>,
    ) -> Result<Result<(), ReassignmentError>, ZkError> {
        if !self.ctx.partition_exists(tp) {
            return Ok(Err(ReassignmentError::UnknownTopicOrPartition));
        }
        let current = self.ctx.full_assignment(tp);
        let next = match target {
            Some(target) => {
                if let Err(e) = validate_target(&current, target, |b| self.ctx.is_live(b)) {
                    return Ok(Err(e));
                }
                current.reassign_to(target)
            }
            None if current.is_being_reassigned() => {
                current.reassign_to(&current.origin_replicas())
            }
            None => return Ok(Err(ReassignmentError::NoReassignmentInProgress)),
        };
        self.remove_from_zk_reassignment(std::slice::from_ref(tp))
            .await?;
        tracing::info!(partition = %tp, ?target, replicas = ?next.replicas, "reassignment requested through the API");
        self.on_partition_reassignment(tp, next).await?;
        Ok(Ok(()))
    }

    /// Handles `/admin/reassign_partitions` (created or changed): starts the
    /// reassignment of each partition it names; invalid entries are dropped
    /// from it with a log line.
    pub(super) async fn on_partition_reassignment_request(&mut self) -> Result<(), ZkError> {
        let path = paths::admin_reassign_partitions();
        let Some((data, _)) = self.zk.get_data(&path).await? else {
            return Ok(());
        };
        let request = match ReassignPartitions::decode(&path, &data) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a partition reassignment request with bad JSON; deleting it");
                return self.delete_fenced(&[path]).await;
            }
        };
        let mut rejected = Vec::new();
        for (tp, target) in request.targets() {
            if !self.ctx.partition_exists(&tp) {
                tracing::warn!(partition = %tp, "reassignment request for an unknown partition: dropped");
                rejected.push(tp);
                continue;
            }
            let current = self.ctx.full_assignment(&tp);
            if let Err(e) = validate_target(&current, &target, |b| self.ctx.is_live(b)) {
                tracing::warn!(partition = %tp, ?target, error = %e, "invalid reassignment request: dropped");
                rejected.push(tp);
                continue;
            }
            let next = current.reassign_to(&target);
            if next == current && current.is_being_reassigned() {
                // Already moving there (our own edits of the znode fire its watch too).
                continue;
            }
            tracing::info!(partition = %tp, ?target, replicas = ?next.replicas, "reassignment requested in ZooKeeper");
            self.on_partition_reassignment(&tp, next).await?;
        }
        self.remove_from_zk_reassignment(&rejected).await
    }

    /// A new controller picks up the reassignments in flight (the topic
    /// znodes' `adding_replicas` / `removing_replicas`).
    pub(super) async fn resume_reassignments(&mut self) -> Result<(), ZkError> {
        let topics: Vec<String> = self.ctx.topics.keys().cloned().collect();
        let topic_paths: Vec<String> = topics.iter().map(|t| paths::topic(t)).collect();
        let data = self.zk.get_data_many(&topic_paths).await?;
        for ((topic, path), entry) in topics.iter().zip(&topic_paths).zip(data) {
            let Some((bytes, _)) = entry else {
                continue;
            };
            let znode = match TopicZnode::decode(path, &bytes) {
                Ok(z) => z,
                Err(e) => {
                    tracing::warn!(%topic, error = %e, "unreadable topic znode: no reassignment resumed");
                    continue;
                }
            };
            for (&p, replicas) in znode.assignment() {
                let adding = znode.adding_replicas.get(&p).cloned().unwrap_or_default();
                let removing = znode.removing_replicas.get(&p).cloned().unwrap_or_default();
                if adding.is_empty() && removing.is_empty() {
                    continue;
                }
                let tp = TopicPartition::new(topic.clone(), p);
                let assignment = ReplicaAssignment {
                    replicas: replicas.clone(),
                    adding,
                    removing,
                };
                self.ctx.set_full_assignment(&tp, &assignment);
            }
        }
        let in_flight: Vec<TopicPartition> = self.ctx.reassigning.keys().cloned().collect();
        for tp in in_flight {
            if !self.ctx.partition_exists(&tp) {
                continue;
            }
            tracing::info!(partition = %tp, "resuming reassignment");
            let assignment = self.ctx.full_assignment(&tp);
            self.on_partition_reassignment(&tp, assignment).await?;
        }
        Ok(())
    }

    /// ISRs changed: completes the reassignments whose target replicas all caught up.
    pub(super) async fn on_reassignment_isr_change(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<(), ZkError> {
        for tp in partitions {
            // A topic queued for deletion still finishes its reassignment
            // (the deletion waits for it, see `reassignment_blocks_deletion`).
            if !self.ctx.reassigning.contains_key(tp) || self.ctx.replicas(tp).is_empty() {
                continue;
            }
            let assignment = self.ctx.full_assignment(tp);
            let isr = self
                .ctx
                .partition_states
                .get(tp)
                .map(|(s, _)| s.isr.clone())
                .unwrap_or_default();
            if is_reassignment_complete(&assignment, &isr) {
                tracing::info!(partition = %tp, target = ?assignment.target_replicas(), "target replicas caught up");
                self.on_partition_reassignment(tp, assignment).await?;
            }
        }
        Ok(())
    }

    /// Kafka's `onPartitionReassignment`: record the new full assignment, then
    /// either start the new replicas or, when the targets are all in the ISR,
    /// finish.
    async fn on_partition_reassignment(
        &mut self,
        tp: &TopicPartition,
        next: ReplicaAssignment,
    ) -> Result<(), ZkError> {
        let current = self.ctx.full_assignment(tp);
        if current != next {
            self.write_topic_assignment(tp, &next).await?;
            self.ctx.set_full_assignment(tp, &next);
            // A replaced reassignment may leave replicas nobody wants any more.
            let unneeded = minus(&current.replicas, &next.replicas);
            if !unneeded.is_empty() {
                self.stop_removed_replicas(tp, &next.replicas, &unneeded)
                    .await?;
            }
        }
        if let Some(fresh) = self.zk.get_partition_state(&tp.topic, tp.partition).await? {
            self.ctx.partition_states.insert(tp.clone(), fresh);
        }
        let isr = match self.ctx.partition_states.get(tp) {
            Some((state, _)) => state.isr.clone(),
            None => return Ok(()),
        };
        if !is_reassignment_complete(&next, &isr) {
            // New replicas learn the full replica set and start following.
            let bump = |ctx: &ControllerContext, s: &PartitionStateZnode| {
                Some(PartitionStateZnode::new(
                    s.leader,
                    s.leader_epoch.next(),
                    s.isr.clone(),
                    ctx.epoch,
                ))
            };
            update_state(&self.zk, &mut self.ctx, tp, bump).await?;
            self.announce(tp);
            return Ok(());
        }
        self.complete_reassignment(tp, next).await
    }

    /// Phase two: TRS only, leader inside it, removed replicas stopped and deleted.
    async fn complete_reassignment(
        &mut self,
        tp: &TopicPartition,
        assignment: ReplicaAssignment,
    ) -> Result<(), ZkError> {
        let target = assignment.target_replicas();
        let removing = assignment.removing.clone();
        let can_lead = self
            .ctx
            .partition_states
            .get(tp)
            .and_then(|(s, _)| shrink_to_replicas(&self.ctx, &target, s))
            .is_some();
        if !can_lead {
            tracing::warn!(partition = %tp, ?target, "no live target replica can lead yet: reassignment stays in progress");
            return Ok(());
        }
        let decide =
            |ctx: &ControllerContext, s: &PartitionStateZnode| shrink_to_replicas(ctx, &target, s);
        let update = update_state(&self.zk, &mut self.ctx, tp, decide).await?;
        if !update.written() {
            tracing::warn!(partition = %tp, "could not write the reassigned partition's state; retrying on the next ISR change");
            if update.changed() {
                self.announce(tp);
            }
            return Ok(());
        }
        let done = ReplicaAssignment {
            replicas: target.clone(),
            ..Default::default()
        };
        self.ctx.set_full_assignment(tp, &done);
        self.send_leader_and_isr_for_partitions(std::slice::from_ref(tp), &[]);
        self.send_stop_replica_delete(tp, &removing);
        self.write_topic_assignment(tp, &done).await?;
        self.remove_from_zk_reassignment(std::slice::from_ref(tp))
            .await?;
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, std::slice::from_ref(tp), &[]);
        let leader = self.ctx.partition_states.get(tp).map(|(s, _)| s.leader);
        tracing::info!(partition = %tp, replicas = ?target, ?leader, "reassignment completed");
        self.resume_deletion_after_reassignment(&tp.topic).await
    }

    /// Kafka's `TopicDeletionManager.markTopicIneligibleForDeletion`: a topic
    /// queued for deletion while partitions of it are being reassigned is
    /// not deleted yet (its `/admin/delete_topics` znode stays); new
    /// reassignments of it are refused meanwhile (`partition_exists`).
    pub(super) fn reassignment_blocks_deletion(&self, topic: &str) -> bool {
        let blocked = self.ctx.reassigning.keys().any(|tp| tp.topic == topic);
        if blocked {
            tracing::info!(%topic, "topic ineligible for deletion: a reassignment of its partitions is in progress");
        }
        blocked
    }

    /// Kafka's `resumeDeletionForTopics` once a reassignment completed: the
    /// topic's deletion goes on when none of its partitions is moving.
    async fn resume_deletion_after_reassignment(&mut self, topic: &str) -> Result<(), ZkError> {
        let still_moving = self.ctx.reassigning.keys().any(|tp| tp.topic == topic);
        if !self.ctx.topics_being_deleted.contains(topic) || still_moving {
            return Ok(());
        }
        tracing::info!(%topic, "reassignment done: resuming topic deletion");
        self.resume_deletions().await
    }

    /// `removed` replicas leave `tp` (whose replicas are now `replicas`): out
    /// of the ISR (leadership moves if one of them led), then StopReplica with
    /// log deletion.
    async fn stop_removed_replicas(
        &mut self,
        tp: &TopicPartition,
        replicas: &[BrokerId],
        removed: &[BrokerId],
    ) -> Result<(), ZkError> {
        let needs_change = self.ctx.partition_states.get(tp).is_some_and(|(s, _)| {
            removed.contains(&s.leader) || s.isr.iter().any(|r| removed.contains(r))
        });
        if needs_change {
            let decide = |ctx: &ControllerContext, s: &PartitionStateZnode| {
                shrink_to_replicas(ctx, replicas, s)
            };
            if update_state(&self.zk, &mut self.ctx, tp, decide)
                .await?
                .changed()
            {
                self.announce(tp);
            }
        }
        self.send_stop_replica_delete(tp, removed);
        Ok(())
    }

    /// LeaderAndIsr for `tp` to its live replicas, then UpdateMetadata to every live broker.
    fn announce(&self, tp: &TopicPartition) {
        self.send_leader_and_isr_for_partitions(std::slice::from_ref(tp), &[]);
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, std::slice::from_ref(tp), &[]);
    }

    fn send_stop_replica_delete(&self, tp: &TopicPartition, brokers: &[BrokerId]) {
        for &broker in brokers {
            if !self.ctx.is_live(broker) {
                tracing::info!(partition = %tp, %broker, "removed replica's broker is down: its log stays");
                continue;
            }
            let request = requests::stop_replica(
                &self.ctx,
                self.settings.broker_id,
                std::slice::from_ref(tp),
                true,
            );
            self.send(broker, ControllerRequest::StopReplica(request));
        }
    }

    /// Rewrites `tp`'s entries of the topic znode (replicas, adding and
    /// removing), keeping the rest as it is now; conditional on the znode's
    /// version and fenced on the controller epoch.
    async fn write_topic_assignment(
        &self,
        tp: &TopicPartition,
        assignment: &ReplicaAssignment,
    ) -> Result<(), ZkError> {
        let path = paths::topic(&tp.topic);
        for _ in 0..TOPIC_WRITE_ATTEMPTS {
            let Some((mut znode, version)) = self.zk.get_topic_and_version(&tp.topic).await? else {
                return Ok(());
            };
            apply_assignment(&mut znode, tp.partition, assignment);
            let op = ZkOp::SetData {
                path: path.clone(),
                data: znode.encode(&path)?,
                expected_version: Some(version),
            };
            match self
                .zk
                .controller_fenced_multi(self.ctx.epoch_zk_version, vec![op])
                .await
            {
                Ok(_) => return Ok(()),
                Err(ZkError::BadVersion { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        tracing::warn!(partition = %tp, "topic znode kept changing; reassignment state not written");
        Ok(())
    }

    /// Removes `partitions` from `/admin/reassign_partitions`, deleting it
    /// when nothing is left (Kafka's `maybeRemoveFromZkReassignment`).
    async fn remove_from_zk_reassignment(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<(), ZkError> {
        if partitions.is_empty() {
            return Ok(());
        }
        let path = paths::admin_reassign_partitions();
        for _ in 0..TOPIC_WRITE_ATTEMPTS {
            let Some((data, stat)) = self.zk.get_data(&path).await? else {
                return Ok(());
            };
            let Ok(mut request) = ReassignPartitions::decode(&path, &data) else {
                return self.delete_fenced(&[path]).await;
            };
            let before = request.partitions.len();
            request.partitions.retain(|p| {
                !partitions
                    .iter()
                    .any(|tp| tp.topic == p.topic && tp.partition == p.partition)
            });
            if request.partitions.len() == before {
                return Ok(());
            }
            let op = if request.partitions.is_empty() {
                ZkOp::Delete {
                    path: path.clone(),
                    expected_version: Some(stat.version),
                }
            } else {
                ZkOp::SetData {
                    path: path.clone(),
                    data: request.encode(&path)?,
                    expected_version: Some(stat.version),
                }
            };
            match self
                .zk
                .controller_fenced_multi(self.ctx.epoch_zk_version, vec![op])
                .await
            {
                Ok(_) | Err(ZkError::NoNode { .. }) => return Ok(()),
                Err(ZkError::BadVersion { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Sets partition `partition` of a topic znode to `assignment`.
fn apply_assignment(znode: &mut TopicZnode, partition: i32, assignment: &ReplicaAssignment) {
    znode
        .partitions
        .insert(partition, assignment.replicas.clone());
    for (map, list) in [
        (&mut znode.adding_replicas, &assignment.adding),
        (&mut znode.removing_replicas, &assignment.removing),
    ] {
        if list.is_empty() {
            map.remove(&partition);
        } else {
            map.insert(partition, list.clone());
        }
    }
    // adding_replicas / removing_replicas came with version 2.
    znode.version = znode.version.max(2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::context::LiveBroker;
    use crate::model::{LeaderEpoch, ids};

    fn settled(replicas: &[BrokerId]) -> ReplicaAssignment {
        ReplicaAssignment {
            replicas: replicas.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn completion_needs_every_target_in_the_isr() {
        let moving = settled(&ids(&[1, 2])).reassign_to(&ids(&[2, 3]));
        assert!(!is_reassignment_complete(&moving, &ids(&[1, 2])));
        assert!(is_reassignment_complete(&moving, &ids(&[1, 2, 3])));
        assert!(is_reassignment_complete(&settled(&ids(&[1])), &ids(&[])));
    }

    #[test]
    fn validation_refuses_empty_duplicate_negative_and_dead_replicas() {
        let current = settled(&ids(&[1, 2]));
        let live = |b: BrokerId| (1..=3).contains(&b.0);
        assert!(validate_target(&current, &ids(&[2, 3]), live).is_ok());
        for bad in [ids(&[]), ids(&[2, 2]), ids(&[-1, 2]), ids(&[2, 9])] {
            assert!(
                matches!(
                    validate_target(&current, &bad, live),
                    Err(ReassignmentError::InvalidReplicaAssignment(_))
                ),
                "{bad:?}"
            );
        }
        // A dead broker that is already a replica may stay.
        assert!(validate_target(&settled(&ids(&[1, 9])), &ids(&[9, 2]), live).is_ok());
    }

    #[test]
    fn shrinking_moves_leadership_into_the_new_replicas() {
        let mut ctx = ControllerContext {
            epoch: 7,
            ..Default::default()
        };
        for id in 1..=3 {
            ctx.live_brokers
                .insert(BrokerId(id), LiveBroker::for_tests(BrokerId(id)));
        }
        let current =
            PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(4), ids(&[1, 2, 3]), 1);
        let next = shrink_to_replicas(&ctx, &ids(&[2, 3]), &current).unwrap();
        assert_eq!(
            (next.leader, next.leader_epoch),
            (BrokerId(2), LeaderEpoch::new(5))
        );
        assert_eq!(next.isr, ids(&[2, 3]));
        assert_eq!(next.controller_epoch, 7);
        // The leader stays when it keeps its replica.
        let kept = shrink_to_replicas(&ctx, &ids(&[3, 1]), &current).unwrap();
        assert_eq!((kept.leader, kept.isr), (BrokerId(1), ids(&[1, 3])));
        // No target replica in the ISR: nobody can lead.
        let lagging = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(4), ids(&[1]), 1);
        assert_eq!(shrink_to_replicas(&ctx, &ids(&[2, 3]), &lagging), None);
    }
}
