//! Controller events and the ZooKeeper watches that post them (re-arming
//! watchers of `zk/watchers.rs`). Watches never act themselves: each posts
//! an event to the controller's single event loop, which re-reads what it
//! needs.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::zk::{WatcherOptions, ZkClient, paths, spawn_children_watcher, spawn_data_watcher};

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
    let options = |post_at_start: bool| WatcherOptions {
        post_at_start,
        stop_when_deleted: false,
        rearm_backoff: REARM_BACKOFF,
        stop: stop.clone(),
    };
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
        spawn_children_watcher(zk.clone(), path, options(true), events.clone(), move |_| {
            event
        });
    }
    // Requests written before we watched are handled at once; /controller
    // only when it changes.
    let znodes = [
        (
            paths::admin_preferred_replica_election(),
            ControllerEvent::PreferredReplicaElection,
            true,
        ),
        (
            paths::admin_reassign_partitions(),
            ControllerEvent::PartitionReassignment,
            true,
        ),
        (
            paths::controller(),
            ControllerEvent::ControllerChange,
            false,
        ),
    ];
    for (path, event, post_at_start) in znodes {
        spawn_data_watcher(
            zk.clone(),
            path,
            options(post_at_start),
            events.clone(),
            move |_| event,
        );
    }
    spawn_partition_modification_watchers(zk, events, stop);
}

/// Watches the data of every topic znode, posting
/// `ControllerEvent::PartitionModifications` when one changes. Topics that
/// appear after the start post one event when their watch is armed, so a
/// change made before the watch existed is not missed. A topic's watcher
/// ends when its znode is deleted; a topic created again gets a new one.
fn spawn_partition_modification_watchers(
    zk: &ZkClient,
    events: mpsc::Sender<ControllerEvent>,
    stop: &CancellationToken,
) {
    let (topics_tx, mut topics_rx) = mpsc::channel::<Vec<String>>(4);
    let options = WatcherOptions {
        post_at_start: true,
        stop_when_deleted: false,
        rearm_backoff: REARM_BACKOFF,
        stop: stop.clone(),
    };
    spawn_children_watcher(
        zk.clone(),
        paths::brokers_topics(),
        options.clone(),
        topics_tx,
        |t| t,
    );
    let zk = zk.clone();
    tokio::spawn(async move {
        // One entry per topic znode: bounded by the topics that exist.
        let mut watched: HashMap<String, JoinHandle<()>> = HashMap::new();
        let mut first = true;
        while let Some(topics) = topics_rx.recv().await {
            watched.retain(|_, watcher| !watcher.is_finished());
            for topic in topics {
                if watched.contains_key(&topic) {
                    continue;
                }
                let topic_options = WatcherOptions {
                    post_at_start: !first,
                    stop_when_deleted: true,
                    ..options.clone()
                };
                let watcher = spawn_data_watcher(
                    zk.clone(),
                    paths::topic(&topic),
                    topic_options,
                    events.clone(),
                    |_| ControllerEvent::PartitionModifications,
                );
                watched.insert(topic, watcher);
            }
            first = false;
        }
    });
}
