//! Brokers coming and going (Kafka's `processBrokerChange`,
//! `onBrokerFailure`, `onBrokerStartup`). The live set is compared by id
//! and broker epoch (the czxid of `/brokers/ids/<id>`): a known id with a
//! larger epoch registered again before the controller read the children,
//! a bounce, and is handled as a death followed by a birth (Kafka's
//! `bouncedBrokerIds`), so the new process gets LeaderAndIsr and
//! UpdateMetadata. Also what a broker's channel reports: StopReplica
//! answers, and a broker whose dropped queue must be made up for with its
//! full state (a resync).

use std::collections::{BTreeMap, BTreeSet};

use super::Controller;
use super::channel::ChannelReport;
use super::context::LiveBroker;
use super::partition_state;
use crate::model::BrokerId;
use crate::zk::{BrokerAndEpoch, ZkError};

/// How the registered brokers differ from the live ones the controller knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerChange {
    /// Registered now, unknown before.
    pub born: Vec<BrokerId>,
    /// Known before, not registered now.
    pub dead: Vec<BrokerId>,
    /// Known before and registered now with a larger epoch: restarted.
    pub bounced: Vec<BrokerId>,
}

impl BrokerChange {
    /// Compares the known (id -> epoch) with the registered (id -> epoch).
    pub fn between(
        known: &BTreeMap<BrokerId, i64>,
        registered: &BTreeMap<BrokerId, i64>,
    ) -> BrokerChange {
        let known_ids: BTreeSet<BrokerId> = known.keys().copied().collect();
        let registered_ids: BTreeSet<BrokerId> = registered.keys().copied().collect();
        BrokerChange {
            born: registered_ids.difference(&known_ids).copied().collect(),
            dead: known_ids.difference(&registered_ids).copied().collect(),
            bounced: known
                .iter()
                .filter(|(id, epoch)| registered.get(id).is_some_and(|now| now > epoch))
                .map(|(id, _)| *id)
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.born.is_empty() && self.dead.is_empty() && self.bounced.is_empty()
    }
}

impl Controller {
    pub(super) async fn on_broker_change(&mut self) -> Result<(), ZkError> {
        let mut registered = self.zk.get_all_brokers().await?;
        let known: BTreeMap<BrokerId, i64> = self
            .ctx
            .live_brokers
            .iter()
            .map(|(id, b)| (*id, b.epoch))
            .collect();
        let epochs: BTreeMap<BrokerId, i64> =
            registered.iter().map(|(id, b)| (*id, b.epoch)).collect();
        let change = BrokerChange::between(&known, &epochs);
        if change.is_empty() {
            return Ok(());
        }
        tracing::info!(born = ?change.born, dead = ?change.dead, bounced = ?change.bounced, "broker change");
        // A bounced broker is dead first: its old process's leaderships and
        // ISR places go, and its in-flight requests are void.
        let gone: Vec<BrokerId> = change.dead.iter().chain(&change.bounced).copied().collect();
        for &id in &gone {
            self.ctx.live_brokers.remove(&id);
            self.ctx.shutting_down.remove(&id);
            self.channels.remove_broker(id);
        }
        if !gone.is_empty() {
            self.on_broker_failure(&gone).await?;
        }
        // Then born, like a new broker.
        let arrived: Vec<BrokerId> = change.born.iter().chain(&change.bounced).copied().collect();
        for &id in &arrived {
            if let Some(registration) = registered.remove(&id) {
                self.add_live_broker(registration);
            }
        }
        let unclean = self.settings.unclean_leader_election_enable;
        let all = self.ctx.all_partitions();
        let mut changed =
            partition_state::initialize_new_partitions(&self.zk, &mut self.ctx, &all).await?;
        changed.extend(
            partition_state::elect_offline_partitions(&self.zk, &mut self.ctx, unclean).await?,
        );
        // Leaders learn they lead before anyone's metadata points clients at
        // them; new brokers get every replica they host; then everyone the
        // full picture (the new broker list included).
        for &id in &arrived {
            self.send_leader_and_isr_for_broker(id, None);
        }
        self.send_leader_and_isr_for_partitions(&changed, &arrived);
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, &all, &[]);
        // Deletions waiting for these brokers go on.
        self.ctx.retry_replica_deletions_on(&arrived);
        self.resume_deletions().await
    }

    /// `brokers` are gone (dead, or an old incarnation of a bounced one).
    /// As Kafka's `onBrokerFailure`, in two announced steps: new leaders for
    /// what they led (so clients can use them as soon as the new leaders
    /// applied those), then their removal from the ISRs of what they
    /// followed. Their replica deletions in flight are marked failed.
    async fn on_broker_failure(&mut self, brokers: &[BrokerId]) -> Result<(), ZkError> {
        let unclean = self.settings.unclean_leader_election_enable;
        let elected =
            partition_state::elect_offline_partitions(&self.zk, &mut self.ctx, unclean).await?;
        self.announce_partitions(&elected);
        let shrunk = partition_state::remove_dead_from_isr(&self.zk, &mut self.ctx).await?;
        self.announce_partitions(&shrunk);
        self.ctx.fail_replica_deletions_on(brokers);
        Ok(())
    }

    fn add_live_broker(&mut self, registration: BrokerAndEpoch) {
        let broker = LiveBroker::from_registration(registration);
        let (host, port) = broker.endpoint_for(&self.settings.inter_broker_listener_name);
        self.channels.add_broker(broker.id, host, port);
        self.ctx.live_brokers.insert(broker.id, broker);
    }

    /// What a broker's channel reports.
    pub(super) async fn on_channel_report(&mut self, report: ChannelReport) -> Result<(), ZkError> {
        match report {
            ChannelReport::Resync { broker } => self.resync(broker).await,
            ChannelReport::StopReplicaAnswered { broker, partitions } => {
                self.on_stop_replica_answered(broker, &partitions).await
            }
        }
    }

    /// A broker whose queue was dropped answers again: it gets its full
    /// state (every replica it hosts, every partition's metadata) and its
    /// replica deletions are asked again.
    async fn resync(&mut self, broker: BrokerId) -> Result<(), ZkError> {
        if !self.ctx.is_live(broker) {
            return Ok(());
        }
        tracing::info!(
            %broker,
            "broker answers again after its controller queue was dropped: sending it its full state"
        );
        self.send_leader_and_isr_for_broker(broker, None);
        let all = self.ctx.all_partitions();
        self.send_update_metadata(&[broker], &all, &[]);
        self.ctx.retry_replica_deletions_on(&[broker]);
        self.resume_deletions().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids;

    fn epochs(pairs: &[(i32, i64)]) -> BTreeMap<BrokerId, i64> {
        pairs.iter().map(|&(id, e)| (BrokerId(id), e)).collect()
    }

    #[test]
    fn a_known_id_with_a_larger_epoch_is_a_bounce() {
        let known = epochs(&[(1, 10), (2, 20), (3, 30)]);
        let registered = epochs(&[(1, 10), (3, 35), (4, 40)]);
        assert_eq!(
            BrokerChange::between(&known, &registered),
            BrokerChange {
                born: ids(&[4]),
                dead: ids(&[2]),
                bounced: ids(&[3]),
            }
        );
        assert!(BrokerChange::between(&known, &known).is_empty());
        // An older epoch (a stale read) is not a bounce.
        let older = epochs(&[(1, 9), (2, 20), (3, 30)]);
        assert!(BrokerChange::between(&known, &older).is_empty());
    }
}
