//! ZooKeeper watches as Rust values: `ZkWatch`, a one-shot watch as a future
//! resolving to a `WatchEvent` (the re-arming loops built on it are in
//! `watchers.rs`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;
use tracing::debug;
use zookeeper_client as zkc;

/// What fired a one-shot watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEvent {
    NodeCreated,
    NodeDeleted,
    DataChanged,
    ChildrenChanged,
    /// The session expired or the client was closed; re-read and re-watch on
    /// the next session (see `SessionEvent::NewSession`).
    SessionLost,
}

impl WatchEvent {
    fn from_zk(event: &zkc::WatchedEvent) -> WatchEvent {
        match event.event_type {
            zkc::EventType::NodeCreated => WatchEvent::NodeCreated,
            zkc::EventType::NodeDeleted => WatchEvent::NodeDeleted,
            zkc::EventType::NodeDataChanged => WatchEvent::DataChanged,
            zkc::EventType::NodeChildrenChanged => WatchEvent::ChildrenChanged,
            zkc::EventType::Session => WatchEvent::SessionLost,
        }
    }
}

/// A one-shot watch: resolves once, on the next change of what was watched or
/// when the session is lost. Dropping it stops waiting.
///
/// The crate's watcher runs on its own small task, so that a watcher whose
/// session task vanished (a runtime shutting down) reports `SessionLost`
/// instead of panicking in the caller.
#[derive(Debug)]
pub struct ZkWatch {
    task: JoinHandle<WatchEvent>,
}

impl ZkWatch {
    pub(crate) fn new(path: &str, watcher: zkc::OneshotWatcher) -> ZkWatch {
        let path = path.to_string();
        ZkWatch {
            task: tokio::spawn(async move {
                let event = WatchEvent::from_zk(&watcher.changed().await);
                debug!(path = %path, ?event, "ZooKeeper watch fired");
                event
            }),
        }
    }
}

impl Future for ZkWatch {
    type Output = WatchEvent;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WatchEvent> {
        match Pin::new(&mut self.task).poll(cx) {
            Poll::Ready(Ok(event)) => Poll::Ready(event),
            Poll::Ready(Err(_)) => Poll::Ready(WatchEvent::SessionLost),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ZkWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
