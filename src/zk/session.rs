//! The ZooKeeper session behind a `ZkClient`: connecting (creating the chroot
//! first, as Kafka does), a background task that watches the session state,
//! and rebuilding the client after the session expires, announced as
//! `SessionEvent`s so the broker can re-register its ephemeral znodes and the
//! controller can re-elect. Operations always use the current client.
//!
//! Only a server ends a session: when the crate gives one up by itself (no
//! server for 1.4 x the session timeout, e.g. while ZooKeeper restarts), the
//! supervisor reconnects to the same session first (ZooKeeper keeps sessions
//! across restarts), silently, and starts a new one only if a server says the
//! old one expired, as Kafka's Java client behaves.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tracing::{debug, info, warn};
use zookeeper_client as zkc;

use super::{ZkError, paths};

/// How to reach ZooKeeper (`zookeeper.connect`, `zookeeper.session.timeout.ms`,
/// `zookeeper.connection.timeout.ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkConfig {
    /// `host1:2181,host2:2181/optional/chroot`.
    pub connect: String,
    /// The session timeout asked of the server (Kafka's default is 18000).
    pub session_timeout_ms: u64,
    /// How long to wait for a session to be established (on start-up, after
    /// expiry, and for an operation waiting on a new session).
    pub connection_timeout_ms: u64,
}

impl ZkConfig {
    /// Kafka's default `zookeeper.session.timeout.ms`.
    pub const DEFAULT_SESSION_TIMEOUT_MS: u64 = 18_000;

    /// Kafka's defaults: 18 s session timeout, connection timeout = session timeout.
    pub fn new(connect: impl Into<String>) -> Self {
        ZkConfig {
            connect: connect.into(),
            session_timeout_ms: Self::DEFAULT_SESSION_TIMEOUT_MS,
            connection_timeout_ms: Self::DEFAULT_SESSION_TIMEOUT_MS,
        }
    }
}

/// A change of ZooKeeper session, broadcast to `subscribe_session_events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// The session expired (or failed authentication): every ephemeral znode
    /// it owned is gone and its watches have fired with `SessionLost`.
    Expired { session_id: i64 },
    /// A new session is established: re-register ephemerals and watches.
    NewSession { session_id: i64 },
}

/// The current client; `None` only after `close`.
struct Slot {
    client: Option<zkc::Client>,
    closed: bool,
}

pub(super) struct Session {
    cfg: ZkConfig,
    slot: watch::Sender<Slot>,
    events: broadcast::Sender<SessionEvent>,
}

const SESSION_EVENT_CAPACITY: usize = 64;
const REBUILD_BACKOFF_MIN: Duration = Duration::from_millis(100);
const REBUILD_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long `close` waits for the server to confirm the end of the session.
const CLOSE_CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);

impl Session {
    /// Connects and starts the task that supervises the session.
    pub(super) async fn start(cfg: ZkConfig) -> Result<Arc<Session>, ZkError> {
        let client = establish(&cfg).await?;
        let state = client.state_watcher();
        let session_id = client.session_id().0;
        let (events, _) = broadcast::channel(SESSION_EVENT_CAPACITY);
        let (slot, _) = watch::channel(Slot {
            client: Some(client),
            closed: false,
        });
        let session = Arc::new(Session { cfg, slot, events });
        tokio::spawn(supervise(Arc::downgrade(&session), state, session_id));
        Ok(session)
    }

    pub(super) fn config(&self) -> &ZkConfig {
        &self.cfg
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    /// The current session's id (0 once closed).
    pub(super) fn session_id(&self) -> i64 {
        self.slot
            .borrow()
            .client
            .as_ref()
            .map_or(0, |c| c.session_id().0)
    }

    /// The current client without waiting (for diagnostics and tests).
    pub(super) fn current(&self) -> Option<zkc::Client> {
        self.slot.borrow().client.clone()
    }

    fn is_closed(&self) -> bool {
        self.slot.borrow().closed
    }

    /// Makes `client` the current one and returns its state watcher; `None`
    /// if the session was closed meanwhile (dropping `client` closes it).
    fn install(&self, client: zkc::Client) -> Option<zkc::StateWatcher> {
        let state = client.state_watcher();
        let mut new_client = Some(client);
        self.slot.send_if_modified(|slot| {
            if slot.closed {
                return false;
            }
            slot.client = new_client.take();
            true
        });
        new_client.is_none().then_some(state)
    }

    /// Whether the current session is connected to a server right now.
    pub(super) fn is_connected(&self) -> bool {
        self.slot.borrow().client.as_ref().is_some_and(|c| {
            matches!(
                c.state(),
                zkc::SessionState::SyncConnected | zkc::SessionState::ConnectedReadOnly
            )
        })
    }

    /// The client to run an operation on `path` with: the current one unless
    /// its session is over, in which case wait (up to the connection timeout)
    /// for the supervisor to install a new one.
    pub(super) async fn client_for(&self, path: &str) -> Result<zkc::Client, ZkError> {
        if let Some(client) = usable(&self.slot.borrow()) {
            return client.map_err(|()| ZkError::Closed {
                path: path.to_string(),
            });
        }
        let mut rx = self.slot.subscribe();
        let timeout_ms = self.cfg.connection_timeout_ms;
        let waited = tokio::time::timeout(Duration::from_millis(timeout_ms), async {
            rx.wait_for(|slot| usable(slot).is_some())
                .await
                .ok()
                .and_then(|slot| usable(&slot))
        })
        .await;
        match waited {
            Ok(Some(client)) => client.map_err(|()| ZkError::Closed {
                path: path.to_string(),
            }),
            Ok(None) => Err(ZkError::Closed {
                path: path.to_string(),
            }),
            Err(_) => Err(ZkError::Timeout {
                path: path.to_string(),
                timeout_ms,
            }),
        }
    }

    /// Closes the session: its ephemeral znodes vanish at once. Operations
    /// after this fail with `ZkError::Closed`. Waits at most
    /// `CLOSE_CONFIRM_TIMEOUT` (bounded by the session timeout) for the
    /// server's answer, and not at all when no server is reachable: the
    /// server then expires the session by itself.
    pub(super) async fn close(&self) {
        let mut taken = None;
        self.slot.send_modify(|slot| {
            slot.closed = true;
            taken = slot.client.take();
        });
        let Some(client) = taken else { return };
        let session_id = client.session_id().0;
        let mut state = client.state_watcher();
        let connected = matches!(
            client.state(),
            zkc::SessionState::SyncConnected | zkc::SessionState::ConnectedReadOnly
        );
        drop(client);
        if !connected {
            warn!(
                session_id = %format!("{session_id:#x}"),
                "ZooKeeper is unreachable: not waiting for the session close; the server will expire the session"
            );
            return;
        }
        // Dropping the last handle sends CloseSession; wait for the server's answer.
        let wait = async {
            while !state.peek_state().is_terminated() {
                state.changed().await;
            }
        };
        let timeout = Duration::from_millis(self.cfg.session_timeout_ms).min(CLOSE_CONFIRM_TIMEOUT);
        if tokio::time::timeout(timeout, wait).await.is_err() {
            warn!(
                session_id = %format!("{session_id:#x}"),
                "ZooKeeper session close not confirmed; other operations may still hold it"
            );
        } else {
            info!(
                session_id = %format!("{session_id:#x}"),
                "closed ZooKeeper session"
            );
        }
    }

    /// Ends the current session as an expiry would, for fault-injection
    /// tests: the session is closed at the server (its ephemerals vanish, its
    /// watches fire), then the supervisor treats it like an expired session:
    /// `SessionEvent::Expired`, a new session, `SessionEvent::NewSession`.
    ///
    /// (Attaching a second client to the session and closing it, the classic
    /// trick, is unreliable with this crate: it reconnects at once and takes
    /// the session back before the second client can close it.)
    pub(super) async fn force_expiry(&self) -> Result<(), ZkError> {
        let mut taken = None;
        self.slot.send_modify(|slot| {
            if !slot.closed {
                taken = slot.client.take();
            }
        });
        let Some(client) = taken else {
            return Err(ZkError::Closed {
                path: "/".to_string(),
            });
        };
        let session_id = client.session_id().0;
        let mut state = client.state_watcher();
        drop(client);
        let wait = async {
            while !state.peek_state().is_terminated() {
                state.changed().await;
            }
        };
        let _ =
            tokio::time::timeout(Duration::from_millis(self.cfg.session_timeout_ms), wait).await;
        warn!(session_id = %format!("{session_id:#x}"), "forced the end of the ZooKeeper session");
        Ok(())
    }
}

/// The slot's client if its session is still usable; `Err(())` once closed.
fn usable(slot: &Slot) -> Option<Result<zkc::Client, ()>> {
    if slot.closed {
        return Some(Err(()));
    }
    slot.client
        .as_ref()
        .filter(|c| !c.state().is_terminated())
        .map(|c| Ok(c.clone()))
}

/// Splits `servers[/chroot]` the way ZooKeeper does: the chroot starts at the
/// first `/` after the last server's address. `None` for no chroot or `/`.
pub(super) fn split_connect(connect: &str) -> Result<(&str, Option<&str>), ZkError> {
    let invalid = |detail: &str| ZkError::InvalidConnect {
        connect: connect.to_string(),
        detail: detail.to_string(),
    };
    let last_start = connect.rfind(',').map_or(0, |i| i + 1);
    let last = &connect[last_start..];
    let scheme_len = last.find("://").map_or(0, |i| i + 3);
    let (servers, chroot) = match last[scheme_len..].find('/') {
        None => (connect, None),
        Some(i) => {
            let (servers, chroot) = connect.split_at(last_start + scheme_len + i);
            (servers, Some(chroot))
        }
    };
    if servers.is_empty() || servers.split(',').any(str::is_empty) {
        return Err(invalid("expected host:port[,host:port...][/chroot]"));
    }
    match chroot {
        None | Some("/") => Ok((servers, None)),
        Some(root) => {
            if root[1..].split('/').all(paths::is_valid_segment) {
                Ok((servers, Some(root)))
            } else {
                Err(invalid(
                    "the chroot must be an absolute path without empty, '.' or '..' segments or a trailing '/'",
                ))
            }
        }
    }
}

/// Connects a new session: first without the chroot to create it (Kafka does
/// this), then roots the same session at the chroot. Fails after the
/// connection timeout when no server answers.
async fn establish(cfg: &ZkConfig) -> Result<zkc::Client, ZkError> {
    establish_with(cfg, None).await
}

/// `establish`, or with `resume` the same for an existing session (its id
/// and password): `ZkError::SessionExpired` if a server says it is over.
async fn establish_with(
    cfg: &ZkConfig,
    resume: Option<&zkc::SessionInfo>,
) -> Result<zkc::Client, ZkError> {
    let (servers, chroot) = split_connect(&cfg.connect)?;
    let connect = async {
        let mut connector = zkc::Client::connector()
            .with_session_timeout(Duration::from_millis(cfg.session_timeout_ms));
        if let Some(session) = resume {
            connector = connector.with_session(session.clone());
        }
        let client = connector.connect(servers).await.map_err(|e| match e {
            zkc::Error::Timeout | zkc::Error::NoHosts => ZkError::ConnectTimeout {
                connect: cfg.connect.clone(),
                timeout_ms: cfg.connection_timeout_ms,
            },
            e => ZkError::from_zk("/", e),
        })?;
        let Some(root) = chroot else {
            return Ok(client);
        };
        let options = zkc::CreateMode::Persistent.with_acls(zkc::Acls::anyone_all());
        client
            .mkdir(root, &options)
            .await
            .map_err(|e| ZkError::from_zk(root, e))?;
        client.chroot(root).map_err(|_| ZkError::InvalidConnect {
            connect: cfg.connect.clone(),
            detail: format!("bad chroot {root}"),
        })
    };
    let client = tokio::time::timeout(Duration::from_millis(cfg.connection_timeout_ms), connect)
        .await
        .map_err(|_| ZkError::ConnectTimeout {
            connect: cfg.connect.clone(),
            timeout_ms: cfg.connection_timeout_ms,
        })??;
    info!(
        session_id = %format!("{:#x}", client.session_id().0),
        negotiated_timeout_ms = client.session_timeout().as_millis() as u64,
        connect = %cfg.connect,
        "ZooKeeper session established"
    );
    Ok(client)
}

/// Follows the session state; after expiry, rebuilds the client and tells
/// subscribers. Ends when the session is closed or every `ZkClient` is gone.
async fn supervise(weak: Weak<Session>, mut state: zkc::StateWatcher, mut session_id: i64) {
    loop {
        let new_state = state.changed().await;
        let id = format!("{session_id:#x}");
        match new_state {
            zkc::SessionState::Disconnected => {
                warn!(session_id = %id, "disconnected from ZooKeeper; reconnecting")
            }
            zkc::SessionState::SyncConnected => {
                info!(session_id = %id, "reconnected to ZooKeeper")
            }
            zkc::SessionState::ConnectedReadOnly => {
                warn!(session_id = %id, "connected to a read-only ZooKeeper server")
            }
            zkc::SessionState::Expired
            | zkc::SessionState::AuthFailed
            | zkc::SessionState::Closed => {
                let Some(session) = weak.upgrade() else {
                    return;
                };
                if session.is_closed() {
                    debug!(session_id = %id, "ZooKeeper session supervisor stopping");
                    return;
                }
                // The crate gives a session up by itself after 1.4 x its
                // timeout without a server; only a server knows whether it
                // ended. Ask one (Kafka's Java client never gives up).
                let resumable = (new_state == zkc::SessionState::Expired)
                    .then(|| session.current().map(|c| c.session().clone()))
                    .flatten();
                drop(session);
                if let Some(info) = resumable {
                    match resume(&weak, &info).await {
                        Resumed::Yes(new_state) => {
                            state = new_state;
                            continue;
                        }
                        Resumed::Expired => {}
                        Resumed::Closed => return,
                    }
                }
                let Some(session) = weak.upgrade() else {
                    return;
                };
                warn!(session_id = %id, state = %new_state, "ZooKeeper session ended; establishing a new one");
                let _ = session.events.send(SessionEvent::Expired { session_id });
                drop(session);
                match rebuild(&weak).await {
                    Some((new_state, new_id)) => {
                        state = new_state;
                        session_id = new_id;
                    }
                    None => return,
                }
            }
        }
    }
}

/// What asking a server for an expired-looking session gave.
enum Resumed {
    /// The server still had it: the same session on a new client.
    Yes(zkc::StateWatcher),
    /// The server said it expired: start a new one.
    Expired,
    /// The `ZkClient` was closed or dropped meanwhile.
    Closed,
}

/// Reconnects to `info`'s session, retrying with backoff until a server
/// answers: it either gives the session back (ZooKeeper keeps sessions
/// across restarts and restarts their timeouts) or says it expired.
async fn resume(weak: &Weak<Session>, info: &zkc::SessionInfo) -> Resumed {
    let session_id = format!("{:#x}", info.id().0);
    let mut backoff = REBUILD_BACKOFF_MIN;
    // A restarted server gives each session one timeout from its start:
    // retry well within it.
    let max_backoff = match weak.upgrade() {
        Some(session) => {
            Duration::from_millis(session.cfg.session_timeout_ms / 4).max(REBUILD_BACKOFF_MIN)
        }
        None => return Resumed::Closed,
    }
    .min(REBUILD_BACKOFF_MAX);
    loop {
        let Some(session) = weak.upgrade() else {
            return Resumed::Closed;
        };
        if session.is_closed() {
            return Resumed::Closed;
        }
        match establish_with(&session.cfg, Some(info)).await {
            Ok(client) => {
                let Some(state) = session.install(client) else {
                    return Resumed::Closed;
                };
                warn!(session_id = %session_id, "ZooKeeper answered again: resumed the session (its ephemeral znodes stay)");
                return Resumed::Yes(state);
            }
            Err(ZkError::SessionExpired { .. }) => {
                info!(session_id = %session_id, "ZooKeeper confirmed the session expired");
                return Resumed::Expired;
            }
            Err(e) => {
                debug!(session_id = %session_id, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot reach ZooKeeper to resume the session yet");
                drop(session);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }
}

/// Establishes a new session, retrying with backoff until a server answers
/// or the `ZkClient` is closed or dropped; installs it and announces it.
async fn rebuild(weak: &Weak<Session>) -> Option<(zkc::StateWatcher, i64)> {
    let mut backoff = REBUILD_BACKOFF_MIN;
    loop {
        let session = weak.upgrade()?;
        if session.is_closed() {
            return None;
        }
        match establish(&session.cfg).await {
            Ok(client) => {
                let session_id = client.session_id().0;
                let state = session.install(client)?;
                let _ = session.events.send(SessionEvent::NewSession { session_id });
                return Some((state, session_id));
            }
            Err(e) => {
                warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "could not establish a new ZooKeeper session");
                drop(session);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(REBUILD_BACKOFF_MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_connect_strings_like_zookeeper() {
        assert_eq!(split_connect("h:2181").unwrap(), ("h:2181", None));
        assert_eq!(
            split_connect("a:1,b:2/kafka/prod").unwrap(),
            ("a:1,b:2", Some("/kafka/prod"))
        );
        assert_eq!(split_connect("a:1/").unwrap(), ("a:1", None));
        assert_eq!(
            split_connect("tcp://a:1,tcp://b:2/k").unwrap(),
            ("tcp://a:1,tcp://b:2", Some("/k"))
        );
        assert!(split_connect("a:1/k/").is_err());
        assert!(split_connect("a:1//k").is_err());
        assert!(split_connect("/k").is_err());
        assert!(split_connect("a:1,,b:2").is_err());
    }
}
