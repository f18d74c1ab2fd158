//! Controller events and the ZooKeeper watches that post them. Watches never
//! act themselves: each watcher task re-arms its watch and posts an event to
//! the controller's single event loop, which re-reads what it needs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::zk::{ZkClient, paths};

/// How long a failed watch waits before re-arming.
const REARM_BACKOFF: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerEvent {
    /// Children of /brokers/ids changed.
    BrokerChange,
    /// Children of /brokers/topics changed.
    TopicChange,
    /// Children of /admin/delete_topics changed.
    TopicDeletion,
    /// Children of /isr_change_notification changed.
    IsrChangeNotification,
    /// /controller changed or vanished: maybe we are no longer controller.
    ControllerChange,
    /// /admin/preferred_replica_election was created or changed.
    PreferredReplicaElection,
    /// Time for the periodic leader imbalance check (auto.leader.rebalance.enable).
    AutoLeaderRebalance,
    /// Some /brokers/topics/<t> znode changed: maybe partitions were added.
    PartitionModifications,
    /// /admin/reassign_partitions was created or changed.
    PartitionReassignment,
}

/// Spawns one watcher task per watched path; they stop with `stop`.
pub fn spawn_watchers(
    zk: &ZkClient,
    events: mpsc::Sender<ControllerEvent>,
    stop: &CancellationToken,
) {
    let children = [
        (paths::brokers_ids(), ControllerEvent::BrokerChange),
        (paths::brokers_topics(), ControllerEvent::TopicChange),
        (paths::admin_delete_topics(), ControllerEvent::TopicDeletion),
        (
            paths::isr_change_notification(),
            ControllerEvent::IsrChangeNotification,
        ),
    ];
    for (path, event) in children {
        let (zk, events, stop) = (zk.clone(), events.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let fired = match zk.get_children_and_watch(&path).await {
                    Ok((_, watch)) => watch,
                    Err(e) => {
                        tracing::debug!(%path, error = %e, "watch failed; retrying");
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(REARM_BACKOFF) => continue,
                        }
                    }
                };
                if events.send(event).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = fired => {}
                }
            }
        });
    }
    spawn_partition_modification_watchers(zk, events.clone(), stop);
    spawn_existence_watcher(
        zk,
        paths::admin_preferred_replica_election(),
        ControllerEvent::PreferredReplicaElection,
        true,
        events.clone(),
        stop,
    );
    spawn_existence_watcher(
        zk,
        paths::admin_reassign_partitions(),
        ControllerEvent::PartitionReassignment,
        true,
        events.clone(),
        stop,
    );
    spawn_existence_watcher(
        zk,
        paths::controller(),
        ControllerEvent::ControllerChange,
        false,
        events,
        stop,
    );
}

/// Watches one znode's existence and data: posts `event` each time the watch
/// fires (and once at the start if `post_at_start`, for a request written
/// before we watched).
fn spawn_existence_watcher(
    zk: &ZkClient,
    path: String,
    event: ControllerEvent,
    post_at_start: bool,
    events: mpsc::Sender<ControllerEvent>,
    stop: &CancellationToken,
) {
    let (zk, stop) = (zk.clone(), stop.clone());
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let fired = match zk.exists_and_watch(&path).await {
                Ok((_, watch)) => watch,
                Err(_) => {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(REARM_BACKOFF) => continue,
                    }
                }
            };
            if first && post_at_start && events.send(event).await.is_err() {
                return;
            }
            first = false;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = fired => {}
            }
            if events.send(event).await.is_err() {
                return;
            }
        }
    });
}

/// Watches the data of every topic znode, posting
/// `ControllerEvent::PartitionModifications` when one changes. Topics that
/// appear after the start post one event when their watch is armed, so a
/// change made before the watch existed is not missed.
fn spawn_partition_modification_watchers(
    zk: &ZkClient,
    events: mpsc::Sender<ControllerEvent>,
    stop: &CancellationToken,
) {
    let (zk, stop) = (zk.clone(), stop.clone());
    let watched: Arc<Mutex<HashSet<String>>> = Arc::default();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let fired = match zk.get_children_and_watch(&paths::brokers_topics()).await {
                Ok((children, watch)) => {
                    for topic in children {
                        if watched.lock().insert(topic.clone()) {
                            spawn_topic_watcher(
                                &zk,
                                topic,
                                !first,
                                events.clone(),
                                &stop,
                                watched.clone(),
                            );
                        }
                    }
                    first = false;
                    watch
                }
                Err(e) => {
                    tracing::debug!(error = %e, "cannot watch topics; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(REARM_BACKOFF) => continue,
                    }
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = fired => {}
            }
        }
    });
}

/// One topic znode's data watch; ends (leaving `watched`) when the znode is gone.
fn spawn_topic_watcher(
    zk: &ZkClient,
    topic: String,
    post_at_start: bool,
    events: mpsc::Sender<ControllerEvent>,
    stop: &CancellationToken,
    watched: Arc<Mutex<HashSet<String>>>,
) {
    let (zk, stop) = (zk.clone(), stop.clone());
    tokio::spawn(async move {
        let path = paths::topic(&topic);
        let mut post = post_at_start;
        loop {
            let fired = match zk.get_data_and_watch(&path).await {
                Ok((Some(_), watch)) => watch,
                Ok((None, _)) => {
                    watched.lock().remove(&topic);
                    return;
                }
                Err(e) => {
                    tracing::debug!(%path, error = %e, "cannot watch topic znode; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(REARM_BACKOFF) => continue,
                    }
                }
            };
            if post
                && events
                    .send(ControllerEvent::PartitionModifications)
                    .await
                    .is_err()
            {
                return;
            }
            post = true;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = fired => {}
            }
        }
    });
}
