//! ZooKeeper watches as Rust values: `ZkWatch`, a one-shot watch as a future
//! resolving to a `WatchEvent`, and re-arming loops that turn a znode's
//! changes into events on a channel (the controller's event loop takes its
//! input this way: watches only post events).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use zookeeper_client as zkc;

use super::{ZkClient, ZkError, ZkStat};

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

const REARM_BACKOFF: Duration = Duration::from_secs(1);

/// Posts `make(children)` to `events` now and after every change of the
/// children of `path`, re-arming across session changes, until the
/// receiver is dropped or the client closed. While `path` does not exist it
/// waits for it to be created.
pub fn spawn_children_watcher<E, F>(
    zk: ZkClient,
    path: String,
    events: mpsc::Sender<E>,
    make: F,
) -> JoinHandle<()>
where
    E: Send + 'static,
    F: Fn(Vec<String>) -> E + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let armed = match zk.get_children_and_watch(&path).await {
                Ok((children, watch)) => Ok((Some(children), watch)),
                Err(ZkError::NoNode { .. }) => zk
                    .exists_and_watch(&path)
                    .await
                    .map(|(_, watch)| (None, watch)),
                Err(e) => Err(e),
            };
            match armed {
                Ok((children, watch)) => {
                    if let Some(children) = children
                        && events.send(make(children)).await.is_err()
                    {
                        return;
                    }
                    tokio::select! {
                        _ = watch => {}
                        _ = events.closed() => return,
                    }
                }
                Err(ZkError::Closed { .. }) => return,
                Err(e) => {
                    warn!(path = %path, error = %e, "could not watch children; retrying");
                    tokio::time::sleep(REARM_BACKOFF).await;
                }
            }
        }
    })
}

/// Posts `make(data)` (`None` while the znode does not exist) to `events` now
/// and after every creation, change or deletion of `path`, re-arming across
/// session changes, until the receiver is dropped or the client closed.
pub fn spawn_data_watcher<E, F>(
    zk: ZkClient,
    path: String,
    events: mpsc::Sender<E>,
    make: F,
) -> JoinHandle<()>
where
    E: Send + 'static,
    F: Fn(Option<(Vec<u8>, ZkStat)>) -> E + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            match zk.get_data_and_watch(&path).await {
                Ok((data, watch)) => {
                    if events.send(make(data)).await.is_err() {
                        return;
                    }
                    tokio::select! {
                        _ = watch => {}
                        _ = events.closed() => return,
                    }
                }
                Err(ZkError::Closed { .. }) => return,
                Err(e) => {
                    warn!(path = %path, error = %e, "could not watch znode; retrying");
                    tokio::time::sleep(REARM_BACKOFF).await;
                }
            }
        }
    })
}
