//! Re-arming watch loops on `ZkWatch`: they turn a znode's changes, or its
//! children's, into events on a channel (the controller's event loop takes
//! its input this way: watches only post events).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

use super::{ZkClient, ZkError, ZkStat};

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
