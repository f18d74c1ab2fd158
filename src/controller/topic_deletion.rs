//! Topic deletion (Kafka's TopicDeletionManager). A deletion request
//! (`/admin/delete_topics/<t>`) queues the topic: clients stop seeing it at
//! once (UpdateMetadata marks its partitions with the deletion leader -2),
//! and every replica gets StopReplica with deletion. Each replica's answer
//! comes back through the channel; the topic's znodes (and the request)
//! are removed only when every replica has deleted its log. A replica on a
//! dead broker, or one that answered with an error, makes the deletion wait
//! (ineligible) until that broker registers again (or answers again after
//! its queue was dropped); then the deletion resumes. Meanwhile the topic
//! znode stays, so the name cannot be reused, and the topic gets no
//! elections, no new partitions and no LeaderAndIsr. A topic with
//! partitions being reassigned waits for them first (`reassignment.rs`).

use std::collections::BTreeMap;

use super::Controller;
use super::context::{ControllerContext, ReplicaDeletion};
use super::control_request::ControllerRequest;
use super::requests;
use crate::model::{BrokerId, TopicPartition};
use crate::zk::{ZkError, paths};

/// What the deletion of one topic needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletionStep {
    /// Every replica is deleted: remove the topic's znodes.
    Complete,
    /// StopReplica with deletion to these brokers for these partitions (now `Started`).
    Send(BTreeMap<BrokerId, Vec<TopicPartition>>),
    /// Answers are awaited, or brokers must return first.
    Wait,
}

impl ControllerContext {
    /// True for a partition of a topic queued for deletion, unless it is
    /// being reassigned (the deletion waits for that): it gets no
    /// elections and no LeaderAndIsr.
    pub fn is_deleting(&self, tp: &TopicPartition) -> bool {
        self.topics_being_deleted.contains(&tp.topic) && !self.reassigning.contains_key(tp)
    }

    /// Every (partition, replica) of `topic`.
    fn topic_replicas(&self, topic: &str) -> Vec<(TopicPartition, BrokerId)> {
        self.partitions_of(topic)
            .into_iter()
            .flat_map(|tp| {
                self.replicas(&tp)
                    .iter()
                    .map(move |&r| (tp.clone(), r))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Moves the deletion of `topic` on: replicas not asked yet are asked
    /// (`Started`) if their broker is live, else marked `Ineligible`.
    pub fn next_deletion_step(&mut self, topic: &str) -> DeletionStep {
        let replicas = self.topic_replicas(topic);
        let mut send: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
        for (tp, broker) in &replicas {
            let key = (tp.clone(), *broker);
            if self.replica_deletion.contains_key(&key) {
                continue;
            }
            if self.is_live(*broker) {
                self.replica_deletion.insert(key, ReplicaDeletion::Started);
                send.entry(*broker).or_default().push(tp.clone());
            } else {
                tracing::info!(partition = %tp, %broker, "replica of a topic being deleted is offline: the deletion waits for its broker");
                self.replica_deletion
                    .insert(key, ReplicaDeletion::Ineligible);
            }
        }
        let all_deleted = replicas.iter().all(|(tp, b)| {
            self.replica_deletion.get(&(tp.clone(), *b)) == Some(&ReplicaDeletion::Successful)
        });
        if all_deleted {
            DeletionStep::Complete
        } else if send.is_empty() {
            DeletionStep::Wait
        } else {
            DeletionStep::Send(send)
        }
    }

    /// Records a broker's StopReplica answer; true if any replica's state changed.
    pub fn record_stop_replica_answer(
        &mut self,
        broker: BrokerId,
        partitions: &[(TopicPartition, i16)],
    ) -> bool {
        let mut changed = false;
        for (tp, code) in partitions {
            let key = (tp.clone(), broker);
            if self.replica_deletion.get(&key) != Some(&ReplicaDeletion::Started) {
                continue;
            }
            let state = if *code == 0 {
                ReplicaDeletion::Successful
            } else {
                tracing::warn!(partition = %tp, %broker, error_code = code, "replica deletion failed: retried when the broker registers again");
                ReplicaDeletion::Ineligible
            };
            self.replica_deletion.insert(key, state);
            changed = true;
        }
        changed
    }

    /// `brokers` died: their deletions in flight will not be answered.
    pub fn fail_replica_deletions_on(&mut self, brokers: &[BrokerId]) {
        for ((_, broker), state) in self.replica_deletion.iter_mut() {
            if brokers.contains(broker) && *state == ReplicaDeletion::Started {
                *state = ReplicaDeletion::Ineligible;
            }
        }
    }

    /// `brokers` registered again (or answer again after their queue was
    /// dropped): their unfinished deletions are asked again.
    pub fn retry_replica_deletions_on(&mut self, brokers: &[BrokerId]) {
        self.replica_deletion.retain(|(_, broker), state| {
            !brokers.contains(broker) || *state == ReplicaDeletion::Successful
        });
    }

    /// Forgets a deleted topic.
    fn forget_topic(&mut self, topic: &str) {
        self.topics.remove(topic);
        self.partition_states.retain(|tp, _| tp.topic != topic);
        self.reassigning.retain(|tp, _| tp.topic != topic);
        self.replica_deletion.retain(|(tp, _), _| tp.topic != topic);
        self.topics_being_deleted.remove(topic);
    }
}

impl Controller {
    /// `/admin/delete_topics` changed (or a new controller starts): queue
    /// the requested topics, then move every deletion on.
    pub(super) async fn on_topic_deletion(&mut self) -> Result<(), ZkError> {
        let requested = self.zk.get_delete_topic_requests().await?;
        for topic in requested {
            if !self.settings.delete_topic_enable {
                tracing::info!(%topic, "delete.topic.enable is false: ignoring deletion request");
                self.delete_fenced(&[paths::admin_delete_topic(&topic)])
                    .await?;
                continue;
            }
            if !self.ctx.topics.contains_key(&topic) {
                // Nothing left of it (a request for an unknown topic, or
                // znodes removed by hand): just forget the request.
                self.delete_topic_znodes_fenced(&topic).await?;
                self.ctx.forget_topic(&topic);
                continue;
            }
            if self.ctx.topics_being_deleted.insert(topic.clone()) {
                tracing::info!(%topic, "topic queued for deletion");
                // Clients stop seeing it now (UpdateMetadata with leader -2).
                let partitions = self.ctx.partitions_of(&topic);
                let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
                self.send_update_metadata(&brokers, &partitions, &[]);
            }
        }
        self.resume_deletions().await
    }

    /// Moves every queued deletion on (Kafka's `resumeDeletions`).
    pub(super) async fn resume_deletions(&mut self) -> Result<(), ZkError> {
        let topics: Vec<String> = self.ctx.topics_being_deleted.iter().cloned().collect();
        for topic in topics {
            if self.reassignment_blocks_deletion(&topic) {
                continue;
            }
            match self.ctx.next_deletion_step(&topic) {
                DeletionStep::Complete => self.complete_delete_topic(&topic).await?,
                DeletionStep::Send(by_broker) => {
                    for (broker, partitions) in by_broker {
                        tracing::info!(%topic, %broker, partitions = partitions.len(), "deleting replicas");
                        let request = requests::stop_replica_delete(
                            &self.ctx,
                            self.settings.broker_id,
                            &partitions,
                        );
                        self.send_reported(broker, ControllerRequest::StopReplica(request));
                    }
                }
                DeletionStep::Wait => {}
            }
        }
        Ok(())
    }

    /// A broker answered StopReplica: record it, and finish deletions.
    pub(super) async fn on_stop_replica_answered(
        &mut self,
        broker: BrokerId,
        partitions: &[(TopicPartition, i16)],
    ) -> Result<(), ZkError> {
        if self.ctx.record_stop_replica_answer(broker, partitions) {
            self.resume_deletions().await?;
        }
        Ok(())
    }

    /// Every replica is gone: the topic's znodes, then the request, and
    /// every broker forgets the partitions.
    async fn complete_delete_topic(&mut self, topic: &str) -> Result<(), ZkError> {
        let topic_id = self.ctx.topic_id(topic);
        let partitions = self.ctx.partitions_of(topic);
        self.delete_topic_znodes_fenced(topic).await?;
        self.ctx.forget_topic(topic);
        let deleted: Vec<(TopicPartition, uuid::Uuid)> =
            partitions.into_iter().map(|tp| (tp, topic_id)).collect();
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, &[], &deleted);
        tracing::info!(%topic, "deleted topic");
        Ok(())
    }
}

#[cfg(test)]
#[path = "topic_deletion_tests.rs"]
mod tests;
