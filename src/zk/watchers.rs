//! Re-arming watch loops on `ZkWatch`: they turn a znode's changes, or its
//! children's, into events on a channel (the controller's event loop and the
//! dynamic config listener take their input this way: watches only post
//! events, the receiver re-reads what it needs). Every loop re-arms across
//! session changes and ends when its receiver is dropped, the client is
//! closed or its stop token is cancelled.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{ZkClient, ZkError, ZkStat, ZkWatch};

/// How a re-arming watcher behaves.
#[derive(Debug, Clone)]
pub struct WatcherOptions {
    /// Post once when the watch is first armed, for what happened before
    /// anyone watched; otherwise only changes are posted.
    pub post_at_start: bool,
    /// A data watcher ends, posting nothing, once the znode is gone;
    /// otherwise it waits for the znode to be created again.
    pub stop_when_deleted: bool,
    /// How long a failed read waits before re-arming.
    pub rearm_backoff: Duration,
    /// Ends the watcher when cancelled.
    pub stop: CancellationToken,
}

impl Default for WatcherOptions {
    fn default() -> Self {
        WatcherOptions {
            post_at_start: true,
            stop_when_deleted: false,
            rearm_backoff: Duration::from_secs(1),
            stop: CancellationToken::new(),
        }
    }
}

/// What one read of a watched znode gave: what to make an event of (if
/// anything) and the watch on its next change; `None` ends the watcher.
type Armed<T> = Option<(Option<T>, ZkWatch)>;

/// Posts `make(children)` to `events` (at the start if
/// `options.post_at_start`) and after every change of the children of
/// `path`. While `path` does not exist it waits for it to be created.
pub fn spawn_children_watcher<E, F>(
    zk: ZkClient,
    path: String,
    options: WatcherOptions,
    events: mpsc::Sender<E>,
    make: F,
) -> JoinHandle<()>
where
    E: Send + 'static,
    F: Fn(Vec<String>) -> E + Send + 'static,
{
    let read = |zk: ZkClient, path: String| async move {
        match zk.get_children_and_watch(&path).await {
            Ok((children, watch)) => Ok(Some((Some(children), watch))),
            Err(ZkError::NoNode { .. }) => zk
                .exists_and_watch(&path)
                .await
                .map(|(_, watch)| Some((None, watch))),
            Err(e) => Err(e),
        }
    };
    tokio::spawn(run_watcher(zk, path, options, events, read, make))
}

/// Posts `make(data)` (`None` while the znode does not exist) to `events`
/// (at the start if `options.post_at_start`) and after every creation,
/// change or deletion of `path`; with `options.stop_when_deleted` it ends
/// instead once the znode is gone.
pub fn spawn_data_watcher<E, F>(
    zk: ZkClient,
    path: String,
    options: WatcherOptions,
    events: mpsc::Sender<E>,
    make: F,
) -> JoinHandle<()>
where
    E: Send + 'static,
    F: Fn(Option<(Vec<u8>, ZkStat)>) -> E + Send + 'static,
{
    let stop_when_deleted = options.stop_when_deleted;
    let read = move |zk: ZkClient, path: String| async move {
        let (data, watch) = zk.get_data_and_watch(&path).await?;
        if data.is_none() && stop_when_deleted {
            return Ok(None);
        }
        Ok(Some((Some(data), watch)))
    };
    tokio::spawn(run_watcher(zk, path, options, events, read, make))
}

/// The loop both watchers share: read and arm, post, wait for the watch.
async fn run_watcher<E, T, R, Fut, F>(
    zk: ZkClient,
    path: String,
    options: WatcherOptions,
    events: mpsc::Sender<E>,
    read: R,
    make: F,
) where
    E: Send + 'static,
    R: Fn(ZkClient, String) -> Fut,
    Fut: Future<Output = Result<Armed<T>, ZkError>>,
    F: Fn(T) -> E,
{
    let mut post = options.post_at_start;
    let mut failures: u64 = 0;
    loop {
        let armed = tokio::select! {
            _ = options.stop.cancelled() => return,
            _ = events.closed() => return,
            armed = read(zk.clone(), path.clone()) => armed,
        };
        match armed {
            Ok(Some((read, watch))) => {
                failures = 0;
                if let Some(read) = read.filter(|_| post)
                    && events.send(make(read)).await.is_err()
                {
                    return;
                }
                post = true;
                tokio::select! {
                    _ = options.stop.cancelled() => return,
                    _ = events.closed() => return,
                    _ = watch => {}
                }
            }
            Ok(None) => return,
            Err(ZkError::Closed { .. }) => return,
            Err(e) => {
                // One warning per run of failures (a ZooKeeper outage would
                // otherwise log one per back-off for every watcher).
                if failures == 0 {
                    tracing::warn!(path = %path, error = %e, "could not watch; retrying");
                } else {
                    tracing::debug!(path = %path, error = %e, failures, "could not watch; retrying");
                }
                failures += 1;
                tokio::select! {
                    _ = options.stop.cancelled() => return,
                    _ = tokio::time::sleep(options.rearm_backoff) => {}
                }
            }
        }
    }
}
