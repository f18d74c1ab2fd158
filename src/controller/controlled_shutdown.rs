//! Controlled shutdown on the controller (Kafka's
//! `KafkaController.doControlledShutdown`): a broker about to stop asks the
//! controller to move its leaderships away first. For each partition with
//! more than one replica: where the broker leads, the next live ISR member
//! that is not shutting down takes over (leader epoch + 1, the broker out of
//! the ISR); where it follows, it leaves the ISR and stops its replica
//! (StopReplica without deletion). The answer lists the partitions it still
//! leads (no other ISR member could take over), and the broker retries.

use std::collections::BTreeSet;

use super::Controller;
use super::ControllerRequest;
use super::context::ControllerContext;
use super::election::controlled_shutdown_leader;
use super::handle::ControllerApiError;
use super::requests;
use super::state_write::update_states;
use crate::model::{BrokerId, TopicPartition};
use crate::zk::{PartitionStateZnode, ZkError};

impl Controller {
    /// Returns the partitions `broker_id` still leads, or why nothing was done.
    pub(super) async fn on_controlled_shutdown(
        &mut self,
        broker_id: BrokerId,
        broker_epoch: i64,
    ) -> Result<Result<Vec<TopicPartition>, ControllerApiError>, ZkError> {
        if !self.ctx.is_live(broker_id) {
            return Ok(Err(ControllerApiError::BrokerNotAvailable(broker_id)));
        }
        // Kafka's check against the epoch the controller knows: a request
        // from an older registration of this broker is refused.
        let current = self.ctx.broker_epoch(broker_id);
        if broker_epoch >= 0 && broker_epoch < current {
            return Ok(Err(ControllerApiError::StaleBrokerEpoch {
                broker: broker_id,
                request: broker_epoch,
                current,
            }));
        }
        self.ctx.shutting_down.insert(broker_id);
        let shutting_down: Vec<BrokerId> = self.ctx.shutting_down.iter().copied().collect();
        let hosted: Vec<TopicPartition> = self
            .ctx
            .partition_states
            .iter()
            .filter(|(tp, (state, _))| {
                let replicas = self.ctx.replicas(tp);
                replicas.len() > 1
                    && replicas.contains(&broker_id)
                    && state.leader.is_valid()
                    && !self.ctx.topics_being_deleted.contains(&tp.topic)
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        let (led, followed): (Vec<TopicPartition>, Vec<TopicPartition>) = hosted
            .iter()
            .cloned()
            .partition(|tp| self.ctx.partition_states[tp].0.leader == broker_id);
        // Looked up once per hosted partition: a set, not a list scan.
        let led: BTreeSet<TopicPartition> = led.into_iter().collect();
        let decide =
            |ctx: &ControllerContext, tp: &TopicPartition, current: &PartitionStateZnode| {
                next_state(ctx, tp, current, broker_id, &shutting_down)
            };
        let mut moved = Vec::new();
        let mut shrunk = Vec::new();
        for (tp, update) in update_states(&self.zk, &mut self.ctx, &hosted, decide).await? {
            let was_leader = led.contains(&tp);
            if update.written() && was_leader {
                tracing::info!(partition = %tp, leader = %self.ctx.partition_states[&tp].0.leader, "controlled shutdown moved leadership");
                moved.push(tp);
            } else if update.written() {
                shrunk.push(tp);
            } else if update.changed() {
                // Written by someone else meanwhile: announced to every replica.
                moved.push(tp);
            }
        }
        // The broker stops following; new leaders (and the broker itself, now
        // a follower) learn the new states; then everyone's metadata.
        if !followed.is_empty() {
            let request =
                requests::stop_replica(&self.ctx, self.settings.broker_id, &followed, false);
            self.send(broker_id, ControllerRequest::StopReplica(request));
        }
        self.send_leader_and_isr_for_partitions(&moved, &[]);
        self.send_leader_and_isr_for_partitions(&shrunk, &[broker_id]);
        let changed: Vec<TopicPartition> = moved.into_iter().chain(shrunk).collect();
        if !changed.is_empty() {
            let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
            self.send_update_metadata(&brokers, &changed, &[]);
        }
        let remaining: Vec<TopicPartition> = self
            .ctx
            .partition_states
            .iter()
            .filter(|(tp, (state, _))| state.leader == broker_id && self.ctx.replicas(tp).len() > 1)
            .map(|(tp, _)| tp.clone())
            .collect();
        tracing::info!(
            broker = %broker_id,
            remaining = remaining.len(),
            "controlled shutdown handled"
        );
        Ok(Ok(remaining))
    }
}

/// The state of `tp` once `broker` is shutting down: led by the next eligible
/// ISR member if `broker` leads it, without `broker` in the ISR if it follows;
/// `None` if nothing changes (or no other ISR member can lead).
fn next_state(
    ctx: &ControllerContext,
    tp: &TopicPartition,
    current: &PartitionStateZnode,
    broker: BrokerId,
    shutting_down: &[BrokerId],
) -> Option<PartitionStateZnode> {
    if current.leader == broker {
        let elected = controlled_shutdown_leader(
            ctx.replicas(tp),
            &current.isr,
            |b| ctx.is_live(b),
            shutting_down,
        )?;
        return Some(PartitionStateZnode::new(
            elected.leader,
            current.leader_epoch.next(),
            elected.isr,
            ctx.epoch,
        ));
    }
    if !current.isr.contains(&broker) {
        return None;
    }
    let isr: Vec<BrokerId> = current
        .isr
        .iter()
        .copied()
        .filter(|&r| r != broker)
        .collect();
    Some(PartitionStateZnode::new(
        current.leader,
        current.leader_epoch.next(),
        isr,
        ctx.epoch,
    ))
}
