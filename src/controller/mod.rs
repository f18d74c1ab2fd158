//! The controller: every broker runs the election loop; the one that creates
//! the ephemeral `/controller` znode bumps `/controller_epoch`, loads the
//! whole cluster state from ZooKeeper and becomes the only writer of leader
//! and ISR decisions, which it announces to brokers with LeaderAndIsr and
//! UpdateMetadata over the Kafka protocol (Kafka's KafkaController).
//!
//! A single task runs the event loop; ZooKeeper watches only post events to
//! it (`event.rs`). Depends on `zk`, `protocol`, `model` (and `metadata` for
//! the deletion marker); never on the network server or the replica room.

mod broker_change;
mod channel;
mod channel_queue;
mod context;
mod control_request;
mod controlled_shutdown;
mod election;
mod encoded_request;
mod event;
mod fenced_zk;
mod handle;
mod partition_modifications;
mod partition_state;
mod preferred_election;
mod reassignment;
mod requests;
mod state_write;
mod topic_deletion;

pub use context::ReplicaAssignment;
pub use handle::{
    ControllerApiError, ControllerHandle, ElectionOutcome, ElectionType, ReassignmentError,
    UNKNOWN_BROKER_EPOCH,
};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::model::{BrokerId, TopicPartition, ZkVersion};
use crate::zk::{ControllerElection, ZkClient, ZkError, paths};
use channel::ControllerChannelManager;
use context::ControllerContext;
use control_request::ControllerRequest;
use encoded_request::EncodedRequest;
use event::ControllerEvent;
use handle::{ActiveGuard, ControllerApiRequest};

/// The broker settings the controller acts on.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    pub broker_id: BrokerId,
    pub unclean_leader_election_enable: bool,
    pub delete_topic_enable: bool,
    pub socket_timeout: Duration,
    pub auto_leader_rebalance_enable: bool,
    pub leader_imbalance_check_interval: Duration,
    pub leader_imbalance_per_broker_percentage: i32,
    /// inter.broker.listener.name: which endpoint of each broker the controller uses.
    pub inter_broker_listener_name: String,
}

/// Runs the election loop until `shutdown`: campaign, serve while elected, campaign again.
pub async fn run_election_loop(
    zk: ZkClient,
    settings: ControllerSettings,
    handle: ControllerHandle,
    shutdown: CancellationToken,
) {
    let mut sessions = zk.subscribe_session_events();
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        match campaign(&zk, settings.broker_id).await {
            Ok(Some((epoch, epoch_zk_version))) => {
                tracing::info!(broker = %settings.broker_id, epoch, "elected controller");
                let resign = shutdown.child_token();
                let session_watch = {
                    let resign = resign.clone();
                    let mut sessions = zk.subscribe_session_events();
                    tokio::spawn(async move {
                        // Any session event means our ephemeral /controller may be gone.
                        if sessions.recv().await.is_ok() {
                            resign.cancel();
                        }
                    })
                };
                let served = serve(
                    &zk,
                    &settings,
                    &handle,
                    (epoch, epoch_zk_version),
                    resign.clone(),
                )
                .await;
                match served {
                    Err(e @ ZkError::ControllerMoved { .. }) => {
                        tracing::warn!(error = %e, "fenced: another controller took over");
                    }
                    Err(e) => tracing::warn!(error = %e, "controller stopped on a ZooKeeper error"),
                    Ok(()) => {}
                }
                resign.cancel();
                session_watch.abort();
                tracing::info!(broker = %settings.broker_id, epoch, "resigned as controller");
                if !shutdown.is_cancelled() {
                    give_up_controller_znode(&zk, epoch_zk_version).await;
                }
            }
            Ok(None) => {
                handle.deactivate();
                // Someone else is controller: wait until /controller changes.
                match zk.exists_and_watch(&paths::controller()).await {
                    Ok((Some(_), watch)) => {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = watch => {}
                            _ = sessions.recv() => {}
                        }
                    }
                    Ok((None, _)) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot watch /controller");
                        backoff(&shutdown).await;
                    }
                }
            }
            Err(e) => {
                handle.deactivate();
                tracing::warn!(error = %e, "controller election failed; retrying");
                backoff(&shutdown).await;
            }
        }
    }
}

/// Deletes `/controller` if this session still holds it, so another broker
/// (or this one, campaigning again) can take over. Fenced on our epoch when
/// we still own it; when another controller bumped the epoch without
/// taking `/controller` (so the fenced delete fails), our own ephemeral
/// node is deleted by its version.
async fn give_up_controller_znode(zk: &ZkClient, epoch_zk_version: ZkVersion) {
    let path = paths::controller();
    let Ok(Some(stat)) = zk.stat(&path).await else {
        return;
    };
    if stat.ephemeral_owner != zk.session_id() {
        return;
    }
    if let Err(e) = zk.delete_controller(epoch_zk_version).await {
        tracing::info!(error = %e, "fenced delete of /controller failed; deleting our own node");
        let _ = zk.delete(&path, Some(stat.version)).await;
    }
}

async fn backoff(shutdown: &CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
}

/// Tries to become controller (creating `/controller` and bumping
/// `/controller_epoch` in one multi); returns the new epoch and its zkVersion if we won.
async fn campaign(zk: &ZkClient, broker_id: BrokerId) -> Result<Option<(i32, ZkVersion)>, ZkError> {
    match zk
        .register_controller_and_increment_epoch(broker_id)
        .await?
    {
        ControllerElection::Won {
            epoch,
            epoch_zk_version,
        } => Ok(Some((epoch, epoch_zk_version))),
        ControllerElection::Lost { .. } => Ok(None),
    }
}

/// Ticks `interval` if there is one; never completes otherwise.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Serves as controller until `resign` fires or ZooKeeper fails.
async fn serve(
    zk: &ZkClient,
    settings: &ControllerSettings,
    handle: &ControllerHandle,
    (epoch, epoch_zk_version): (i32, ZkVersion),
    resign: CancellationToken,
) -> Result<(), ZkError> {
    // Active from the election on (Kafka's isActive); API requests queue
    // until the failover below is done.
    let (api_tx, mut api_requests) = mpsc::channel::<ControllerApiRequest>(16);
    handle.activate(api_tx);
    let _active = ActiveGuard(handle);
    let mut ctx = ControllerContext::load(zk, epoch, epoch_zk_version).await?;
    ctx.inter_broker_listener_name = settings.inter_broker_listener_name.clone();
    let (reports_tx, mut reports) = mpsc::channel(channel::REPORT_CAPACITY);
    let mut channels =
        ControllerChannelManager::new(settings.broker_id, settings.socket_timeout, reports_tx);
    for broker in ctx.live_brokers.values() {
        let (host, port) = broker.endpoint_for(&settings.inter_broker_listener_name);
        channels.add_broker(broker.id, host, port);
    }
    let mut controller = Controller {
        zk: zk.clone(),
        settings: settings.clone(),
        ctx,
        channels,
        large_requests_queued: AtomicBool::new(false),
    };
    let (events_tx, mut events) = mpsc::channel(64);
    event::spawn_watchers(zk, events_tx, &resign);
    controller.on_failover().await?;
    let mut rebalance = settings.auto_leader_rebalance_enable.then(|| {
        let every = settings
            .leader_imbalance_check_interval
            .max(Duration::from_millis(100));
        tokio::time::interval_at(tokio::time::Instant::now() + every, every)
    });
    loop {
        // What the last event built and queued is encoded by now; the
        // memory a large announcement took goes back to the kernel.
        if controller
            .large_requests_queued
            .swap(false, Ordering::Relaxed)
        {
            crate::malloc_tuning::release_free_memory();
        }
        let event = tokio::select! {
            _ = resign.cancelled() => break,
            e = events.recv() => match e { Some(e) => e, None => break },
            Some(request) = api_requests.recv() => {
                controller.on_api_request(request).await?;
                continue;
            }
            Some(report) = reports.recv() => {
                controller.on_channel_report(report).await?;
                continue;
            }
            _ = tick(&mut rebalance) => ControllerEvent::AutoLeaderRebalance,
        };
        tracing::debug!(?event, "controller event");
        match event {
            ControllerEvent::BrokerChange => controller.on_broker_change().await?,
            ControllerEvent::TopicChange => controller.on_topic_change().await?,
            ControllerEvent::TopicDeletion => controller.on_topic_deletion().await?,
            ControllerEvent::IsrChangeNotification => controller.on_isr_change().await?,
            ControllerEvent::ControllerChange => {
                if zk.get_controller_id().await? != Some(settings.broker_id) {
                    break;
                }
            }
            ControllerEvent::PreferredReplicaElection => {
                controller.on_preferred_replica_election_request().await?
            }
            ControllerEvent::AutoLeaderRebalance => controller.check_leader_imbalance().await?,
            ControllerEvent::PartitionModifications => {
                controller.on_partition_modifications().await?
            }
            ControllerEvent::PartitionReassignment => {
                controller.on_partition_reassignment_request().await?
            }
        }
    }
    controller.channels.shutdown();
    Ok(())
}

struct Controller {
    zk: ZkClient,
    settings: ControllerSettings,
    ctx: ControllerContext,
    channels: ControllerChannelManager,
    /// A request of `LARGE_REQUEST_BYTES` or more was queued since the event
    /// loop last looked.
    large_requests_queued: AtomicBool,
}

/// An encoded request this large (about 1,000 partitions of UpdateMetadata)
/// was a burst of allocations to build.
const LARGE_REQUEST_BYTES: usize = 64 * 1024;

impl Controller {
    /// A new controller: bring every partition online it can, then tell every broker everything.
    async fn on_failover(&mut self) -> Result<(), ZkError> {
        let all = self.ctx.all_partitions();
        let unclean = self.settings.unclean_leader_election_enable;
        // What this failover changes is announced first, new leaders before
        // ISR shrinks (as Kafka's onBrokerFailure), each LeaderAndIsr before
        // its UpdateMetadata (each broker's queue is ordered: clients must
        // not see a leader that does not know it leads yet). Then every
        // broker's metadata, and every broker's full state (Kafka's replica
        // state machine start-up), which at thousands of partitions takes
        // brokers seconds to apply.
        let mut changed =
            partition_state::initialize_new_partitions(&self.zk, &mut self.ctx, &all).await?;
        self.announce_partitions(&changed);
        let elected =
            partition_state::elect_offline_partitions(&self.zk, &mut self.ctx, unclean).await?;
        self.announce_partitions(&elected);
        let shrunk = partition_state::remove_dead_from_isr(&self.zk, &mut self.ctx).await?;
        self.announce_partitions(&shrunk);
        changed.extend(elected);
        changed.extend(shrunk);
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, &all, &[]);
        let changed: BTreeSet<TopicPartition> = changed.into_iter().collect();
        let mut rest_by_broker = BTreeMap::new();
        for &broker in &brokers {
            let rest: Vec<TopicPartition> = all
                .iter()
                .filter(|tp| {
                    !changed.contains(*tp)
                        && self.ctx.replicas(tp).contains(&broker)
                        && !self.ctx.is_deleting(tp)
                })
                .cloned()
                .collect();
            rest_by_broker.insert(broker, rest);
        }
        drop(changed);
        drop(all);
        self.send_leader_and_isr(rest_by_broker);
        self.resume_reassignments().await?;
        self.on_topic_deletion().await
    }

    /// LeaderAndIsr for `partitions` to their live replicas, then
    /// UpdateMetadata for them to every live broker.
    fn announce_partitions(&self, partitions: &[TopicPartition]) {
        if partitions.is_empty() {
            return;
        }
        self.send_leader_and_isr_for_partitions(partitions, &[]);
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, partitions, &[]);
    }

    async fn on_topic_change(&mut self) -> Result<(), ZkError> {
        let current: BTreeSet<String> = self.zk.get_all_topics().await?.into_iter().collect();
        self.ctx.topics.retain(|name, _| current.contains(name));
        self.ctx
            .partition_states
            .retain(|tp, _| current.contains(&tp.topic));
        self.ctx
            .reassigning
            .retain(|tp, _| current.contains(&tp.topic));
        let mut new_partitions = Vec::new();
        for name in current {
            if self.ctx.topics.contains_key(&name) {
                continue;
            }
            if let Some(info) = ControllerContext::read_topic(&self.zk, &name).await? {
                tracing::info!(topic = %name, partitions = info.assignment.len(), "new topic");
                self.ctx.topics.insert(name.clone(), info);
                new_partitions.extend(self.ctx.partitions_of(&name));
            }
        }
        if new_partitions.is_empty() {
            return Ok(());
        }
        let online =
            partition_state::initialize_new_partitions(&self.zk, &mut self.ctx, &new_partitions)
                .await?;
        self.send_leader_and_isr_for_partitions(&online, &[]);
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, &online, &[]);
        Ok(())
    }

    /// Leaders changed ISRs and left notifications: refresh those partitions and tell everyone.
    async fn on_isr_change(&mut self) -> Result<(), ZkError> {
        let notifications = self.zk.get_isr_change_notifications().await?;
        if notifications.is_empty() {
            return Ok(());
        }
        let partitions: BTreeSet<TopicPartition> = self
            .zk
            .get_isr_change_notification_partitions(&notifications)
            .await?
            .into_iter()
            .collect();
        let partitions: Vec<TopicPartition> = partitions.into_iter().collect();
        let mut refreshed = Vec::new();
        for (tp, state) in self.zk.get_partition_states(&partitions).await? {
            if self.ctx.topics.contains_key(&tp.topic) {
                self.ctx.partition_states.insert(tp.clone(), state);
                refreshed.push(tp);
            }
        }
        let brokers: Vec<BrokerId> = self.ctx.live_brokers.keys().copied().collect();
        self.send_update_metadata(&brokers, &refreshed, &[]);
        self.on_reassignment_isr_change(&refreshed).await?;
        let paths: Vec<String> = notifications.iter().map(|n| paths::isr_change(n)).collect();
        self.delete_fenced(&paths).await
    }

    /// Queues `request` for `broker`, carrying that broker's epoch.
    fn send(&self, broker: BrokerId, request: ControllerRequest) {
        self.send_to_all(&[broker], request);
    }

    /// Queues `request` for each of `brokers`, each carrying its broker's
    /// epoch: encoded once, one shared encoding in every queue.
    fn send_to_all(&self, brokers: &[BrokerId], request: ControllerRequest) {
        let Some(encoded) = encode(&request) else {
            return;
        };
        drop(request);
        if encoded.body_len() >= LARGE_REQUEST_BYTES {
            self.large_requests_queued.store(true, Ordering::Relaxed);
        }
        for &broker in brokers {
            self.channels
                .send(broker, self.ctx.broker_epoch(broker), encoded.clone());
        }
    }

    /// `send`, and the broker's answer comes back as a `ChannelReport`.
    fn send_reported(&self, broker: BrokerId, request: ControllerRequest) {
        if let Some(encoded) = encode(&request) {
            if encoded.body_len() >= LARGE_REQUEST_BYTES {
                self.large_requests_queued.store(true, Ordering::Relaxed);
            }
            self.channels
                .send_reported(broker, self.ctx.broker_epoch(broker), encoded);
        }
    }

    fn send_update_metadata(
        &self,
        brokers: &[BrokerId],
        partitions: &[TopicPartition],
        deleted: &[(TopicPartition, uuid::Uuid)],
    ) {
        if brokers.is_empty() {
            return;
        }
        let request =
            requests::update_metadata(&self.ctx, self.settings.broker_id, partitions, deleted);
        self.send_to_all(brokers, ControllerRequest::UpdateMetadata(request));
    }

    /// LeaderAndIsr to one broker for all its replicas (or just `only`).
    fn send_leader_and_isr_for_broker(&self, broker: BrokerId, only: Option<&[TopicPartition]>) {
        let hosted: Vec<TopicPartition> = match only {
            Some(list) => list.to_vec(),
            None => self
                .ctx
                .all_partitions()
                .into_iter()
                .filter(|tp| self.ctx.replicas(tp).contains(&broker) && !self.ctx.is_deleting(tp))
                .collect(),
        };
        self.send_leader_and_isr(BTreeMap::from([(broker, hosted)]));
    }

    /// LeaderAndIsr for `partitions` to each of their live replicas, except brokers in `skip`.
    fn send_leader_and_isr_for_partitions(&self, partitions: &[TopicPartition], skip: &[BrokerId]) {
        let mut by_broker: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
        for tp in partitions {
            for &r in self.ctx.replicas(tp) {
                if self.ctx.is_live(r) && !skip.contains(&r) {
                    by_broker.entry(r).or_default().push(tp.clone());
                }
            }
        }
        self.send_leader_and_isr(by_broker);
    }

    /// LeaderAndIsr to each broker for its partitions. Brokers given the
    /// same partitions share one request (built and encoded once): with
    /// as many brokers as replicas, every broker hosts every partition.
    fn send_leader_and_isr(&self, by_broker: BTreeMap<BrokerId, Vec<TopicPartition>>) {
        for (partitions, brokers) in requests::same_partitions(by_broker) {
            let request = requests::leader_and_isr(&self.ctx, self.settings.broker_id, &partitions);
            drop(partitions);
            self.send_to_all(&brokers, ControllerRequest::LeaderAndIsr(request));
        }
    }
}

/// `request` encoded for the channels; `None` (logged) if it cannot be,
/// which only a field its version cannot carry would cause.
fn encode(request: &ControllerRequest) -> Option<Arc<EncodedRequest>> {
    match EncodedRequest::new(request) {
        Ok(encoded) => Some(Arc::new(encoded)),
        Err(e) => {
            tracing::error!(error = %e, "controller request not sent");
            None
        }
    }
}
