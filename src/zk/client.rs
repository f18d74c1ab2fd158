//! `ZkClient`: the handle the broker, controller and group coordinator share
//! (cheap to clone), and the generic znode operations every typed Kafka
//! operation is built from. Each operation runs on the session's current
//! client, retries on connection loss (as Kafka's `retryRequestsUntilConnected`
//! does) and once more on a new session after an expiry.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tracing::debug;
use zookeeper_client as zkc;

use super::session::Session;
use super::{SessionEvent, ZkConfig, ZkError, ZkWatch, paths};

/// A znode's metadata (ZooKeeper's `Stat`), the parts Kafka uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkStat {
    /// Data version, for conditional writes (`ZkVersion`).
    pub version: i32,
    /// Children version.
    pub cversion: i32,
    /// Session id owning an ephemeral znode, 0 for persistent ones.
    pub ephemeral_owner: i64,
    /// Creating transaction id; Kafka uses a broker znode's as the broker epoch.
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime_ms: i64,
    pub mtime_ms: i64,
    pub num_children: i32,
    pub data_length: i32,
}

impl From<&zkc::Stat> for ZkStat {
    fn from(s: &zkc::Stat) -> Self {
        ZkStat {
            version: s.version,
            cversion: s.cversion,
            ephemeral_owner: s.ephemeral_owner,
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime_ms: s.ctime,
            mtime_ms: s.mtime,
            num_children: s.num_children,
            data_length: s.data_length,
        }
    }
}

/// How a znode is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    Persistent,
    PersistentSequential,
    Ephemeral,
    EphemeralSequential,
}

impl CreateMode {
    fn options(self) -> zkc::CreateOptions<'static> {
        let mode = match self {
            CreateMode::Persistent => zkc::CreateMode::Persistent,
            CreateMode::PersistentSequential => zkc::CreateMode::PersistentSequential,
            CreateMode::Ephemeral => zkc::CreateMode::Ephemeral,
            CreateMode::EphemeralSequential => zkc::CreateMode::EphemeralSequential,
        };
        // Kafka's default ACL without zookeeper.set.acl: world, all permissions.
        mode.with_acls(zkc::Acls::anyone_all())
    }

    fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential | CreateMode::EphemeralSequential
        )
    }
}

/// One operation of an atomic `multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkOp {
    Create {
        path: String,
        data: Vec<u8>,
        mode: CreateMode,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        expected_version: Option<i32>,
    },
    Delete {
        path: String,
        expected_version: Option<i32>,
    },
    /// Fails the whole `multi` unless `path` has data version `version`.
    Check { path: String, version: i32 },
}

impl ZkOp {
    pub fn path(&self) -> &str {
        match self {
            ZkOp::Create { path, .. }
            | ZkOp::SetData { path, .. }
            | ZkOp::Delete { path, .. }
            | ZkOp::Check { path, .. } => path,
        }
    }
}

/// The result of one operation of a successful `multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkOpResult {
    /// The created path (with the sequence number for sequential nodes).
    Created {
        path: String,
    },
    /// The new data version.
    DataSet {
        version: i32,
    },
    Deleted,
    Checked,
}

/// A failed attempt: the crate's error and, for a `multi`, which operation failed.
pub(super) struct Failure {
    err: zkc::Error,
    index: Option<usize>,
}

impl From<zkc::Error> for Failure {
    fn from(err: zkc::Error) -> Self {
        Failure { err, index: None }
    }
}

/// The handle to ZooKeeper. Clones share one session.
#[derive(Clone)]
pub struct ZkClient {
    session: Arc<Session>,
}

impl std::fmt::Debug for ZkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkClient")
            .field("connect", &self.session.config().connect)
            .field("session_id", &format_args!("{:#x}", self.session_id()))
            .finish()
    }
}

impl ZkClient {
    /// Connects (creating the chroot if missing) and starts supervising the
    /// session. Fails with `ZkError::ConnectTimeout` after
    /// `connection_timeout_ms` when no server answers.
    pub async fn connect(cfg: ZkConfig) -> Result<ZkClient, ZkError> {
        Ok(ZkClient {
            session: Session::start(cfg).await?,
        })
    }

    pub fn config(&self) -> &ZkConfig {
        self.session.config()
    }

    /// The current session's id (0 after `close`).
    pub fn session_id(&self) -> i64 {
        self.session.session_id()
    }

    /// The session timeout the server granted, in ms (0 after `close`).
    pub fn negotiated_session_timeout_ms(&self) -> u64 {
        self.session
            .current()
            .map_or(0, |c| c.session_timeout().as_millis() as u64)
    }

    /// Session expiries and new sessions, as they happen.
    pub fn subscribe_session_events(&self) -> broadcast::Receiver<SessionEvent> {
        self.session.subscribe()
    }

    /// Whether the session is connected to a ZooKeeper server right now
    /// (false while disconnected, between sessions and after `close`).
    pub fn is_connected(&self) -> bool {
        self.session.is_connected()
    }

    /// Closes the session; its ephemeral znodes vanish at once (without
    /// waiting when ZooKeeper is unreachable).
    pub async fn close(&self) {
        self.session.close().await
    }

    /// Ends the current session as an expiry would, for fault-injection
    /// tests: it is closed at the server (ephemerals vanish, watches report
    /// `SessionLost`), then the client broadcasts `SessionEvent::Expired`,
    /// builds a new session and broadcasts `SessionEvent::NewSession`.
    pub async fn force_session_expiry(&self) -> Result<(), ZkError> {
        self.session.force_expiry().await
    }

    /// Runs `op` on the current client: retries on connection loss until the
    /// session would have expired, and once on a new session after an expiry.
    pub(super) async fn run<T, F, Fut>(
        &self,
        op_name: &'static str,
        path: &str,
        op: F,
        map_err: impl Fn(Failure) -> ZkError,
    ) -> Result<T, ZkError>
    where
        F: Fn(zkc::Client) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let cfg = self.session.config();
        let deadline = Instant::now()
            + Duration::from_millis(cfg.session_timeout_ms + cfg.connection_timeout_ms);
        let mut retried_on_new_session = false;
        loop {
            let client = self.session.client_for(path).await?;
            debug!(op = op_name, path, "zk op");
            let failure = match op(client).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            match failure.err {
                zkc::Error::ConnectionLoss if Instant::now() < deadline => {
                    debug!(op = op_name, path, "connection lost; retrying");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                zkc::Error::SessionExpired | zkc::Error::ClientClosed
                    if !retried_on_new_session =>
                {
                    debug!(
                        op = op_name,
                        path, "session ended; retrying on the next session"
                    );
                    retried_on_new_session = true;
                }
                _ => return Err(map_err(failure)),
            }
        }
    }

    /// `run` for an operation on a single path.
    async fn run_on<T, F, Fut>(
        &self,
        op_name: &'static str,
        path: &str,
        op: F,
    ) -> Result<T, ZkError>
    where
        F: Fn(zkc::Client) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        self.run(op_name, path, op, |f| ZkError::from_zk(path, f.err))
            .await
    }

    /// Creates `path`; returns the created path (sequential nodes get the
    /// server's counter appended). `NodeExists` / `NoNode` (parent) as errors.
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
    ) -> Result<String, ZkError> {
        Ok(self.create_with_stat(path, data, mode).await?.0)
    }

    /// `create`, also returning the new znode's stat.
    pub async fn create_with_stat(
        &self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
    ) -> Result<(String, ZkStat), ZkError> {
        let options = &mode.options();
        self.run_on("create", path, |c| async move {
            let (stat, sequence) = c.create(path, data, options).await?;
            let created = if mode.is_sequential() {
                paths::with_sequence(path, sequence)
            } else {
                path.to_string()
            };
            Ok((created, ZkStat::from(&stat)))
        })
        .await
    }

    /// Creates `path`, creating missing parents (persistent, empty) first.
    /// `NodeExists` if `path` itself exists (Kafka's `createRecursive`).
    pub async fn create_recursive(
        &self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
    ) -> Result<String, ZkError> {
        match self.create(path, data, mode).await {
            Err(ZkError::NoNode { .. }) => {
                if let Some(parent) = paths::parent(path) {
                    self.ensure_path(parent).await?;
                }
                self.create(path, data, mode).await
            }
            result => result,
        }
    }

    /// Makes sure the persistent `path` and its parents exist (`mkdir -p`;
    /// Kafka's `makeSurePersistentPathExists`).
    pub async fn ensure_path(&self, path: &str) -> Result<(), ZkError> {
        let options = &CreateMode::Persistent.options();
        self.run_on("ensure_path", path, |c| async move {
            c.mkdir(path, options).await?;
            Ok(())
        })
        .await
    }

    /// The data and stat of `path`, `None` if it does not exist.
    pub async fn get_data(&self, path: &str) -> Result<Option<(Vec<u8>, ZkStat)>, ZkError> {
        self.run_on("get_data", path, |c| async move {
            match c.get_data(path).await {
                Ok((data, stat)) => Ok(Some((data, ZkStat::from(&stat)))),
                Err(zkc::Error::NoNode) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Writes `data`, only if the version is `expected_version` when given
    /// (`BadVersion` otherwise); returns the new version.
    pub async fn set_data(
        &self,
        path: &str,
        data: &[u8],
        expected_version: Option<i32>,
    ) -> Result<i32, ZkError> {
        self.run_on("set_data", path, |c| async move {
            let stat = c.set_data(path, data, expected_version).await?;
            Ok(stat.version)
        })
        .await
    }

    /// Deletes `path` (conditionally when `expected_version` is given).
    pub async fn delete(&self, path: &str, expected_version: Option<i32>) -> Result<(), ZkError> {
        self.run_on("delete", path, |c| async move {
            c.delete(path, expected_version).await?;
            Ok(())
        })
        .await
    }

    /// `path` and every znode below it, breadth-first (parents before their
    /// children); just `path` if it has no children or does not exist.
    pub async fn subtree(&self, path: &str) -> Result<Vec<String>, ZkError> {
        let mut nodes = vec![path.to_string()];
        let mut i = 0;
        while i < nodes.len() {
            if let Some(children) = self.get_children(&nodes[i]).await? {
                let parent = nodes[i].clone();
                nodes.extend(children.iter().map(|c| paths::child(&parent, c)));
            }
            i += 1;
        }
        Ok(nodes)
    }

    /// Deletes `path` and everything below it; fine if it does not exist.
    pub async fn delete_recursive(&self, path: &str) -> Result<(), ZkError> {
        const ATTEMPTS: usize = 5;
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            // Collect the subtree breadth-first, delete it deepest-first.
            let nodes = self.subtree(path).await?;
            let mut raced = false;
            for node in nodes.iter().rev() {
                match self.delete(node, None).await {
                    Ok(()) | Err(ZkError::NoNode { .. }) => {}
                    Err(e @ ZkError::NotEmpty { .. }) => {
                        // A child appeared meanwhile: walk again.
                        last_error = Some(e);
                        raced = true;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !raced {
                return Ok(());
            }
        }
        Err(last_error.unwrap_or_else(|| ZkError::NotEmpty {
            path: path.to_string(),
        }))
    }

    /// The children of `path` (names only), `None` if it does not exist.
    pub async fn get_children(&self, path: &str) -> Result<Option<Vec<String>>, ZkError> {
        self.run_on("get_children", path, |c| async move {
            match c.list_children(path).await {
                Ok(children) => Ok(Some(children)),
                Err(zkc::Error::NoNode) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Whether `path` exists.
    pub async fn exists(&self, path: &str) -> Result<bool, ZkError> {
        Ok(self.stat(path).await?.is_some())
    }

    /// The stat of `path`, `None` if it does not exist.
    pub async fn stat(&self, path: &str) -> Result<Option<ZkStat>, ZkError> {
        self.run_on("stat", path, |c| async move {
            Ok(c.check_stat(path).await?.as_ref().map(ZkStat::from))
        })
        .await
    }

    /// The children of `path` and a watch that fires when they change (or
    /// `path` is deleted, or the session is lost). `NoNode` if absent.
    pub async fn get_children_and_watch(
        &self,
        path: &str,
    ) -> Result<(Vec<String>, ZkWatch), ZkError> {
        self.run_on("get_children_and_watch", path, |c| async move {
            let (children, watcher) = c.list_and_watch_children(path).await?;
            Ok((children, ZkWatch::new(path, watcher)))
        })
        .await
    }

    /// The data of `path` (`None` if absent) and a watch that fires on its
    /// creation, change or deletion, or when the session is lost.
    pub async fn get_data_and_watch(
        &self,
        path: &str,
    ) -> Result<(Option<(Vec<u8>, ZkStat)>, ZkWatch), ZkError> {
        let data = self
            .run_on("get_data_and_watch", path, |c| async move {
                match c.get_and_watch_data(path).await {
                    Ok((data, stat, watcher)) => Ok(Some((
                        data,
                        ZkStat::from(&stat),
                        ZkWatch::new(path, watcher),
                    ))),
                    Err(zkc::Error::NoNode) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        if let Some((data, stat, watch)) = data {
            return Ok((Some((data, stat)), watch));
        }
        // Absent: an exists watch fires on creation. It is armed before the
        // read below, so a change in between still fires it.
        let (stat, watch) = self.exists_and_watch(path).await?;
        if stat.is_none() {
            return Ok((None, watch));
        }
        Ok((self.get_data(path).await?, watch))
    }

    /// The stat of `path` (`None` if absent) and a watch that fires on its
    /// creation, data change or deletion, or when the session is lost.
    pub async fn exists_and_watch(&self, path: &str) -> Result<(Option<ZkStat>, ZkWatch), ZkError> {
        self.run_on("exists_and_watch", path, |c| async move {
            let (stat, watcher) = c.check_and_watch_stat(path).await?;
            Ok((stat.as_ref().map(ZkStat::from), ZkWatch::new(path, watcher)))
        })
        .await
    }

    /// Runs `ops` atomically: all succeed or none. The error names the path of
    /// the operation that failed.
    pub async fn multi(&self, ops: &[ZkOp]) -> Result<Vec<ZkOpResult>, ZkError> {
        self.multi_pinned(ops, None).await
    }

    /// `multi` that runs only on session `session_id`: once that session is
    /// gone it fails with `SessionExpired` instead of running on the next
    /// one (writes fenced by what the old session held).
    pub(super) async fn multi_in_session(
        &self,
        ops: &[ZkOp],
        session_id: i64,
    ) -> Result<Vec<ZkOpResult>, ZkError> {
        self.multi_pinned(ops, Some(session_id)).await
    }

    async fn multi_pinned(
        &self,
        ops: &[ZkOp],
        pinned_session: Option<i64>,
    ) -> Result<Vec<ZkOpResult>, ZkError> {
        let first_path = ops.first().map_or("/", ZkOp::path);
        let options: Vec<_> = ops
            .iter()
            .map(|op| match op {
                ZkOp::Create { mode, .. } => Some(mode.options()),
                _ => None,
            })
            .collect();
        let options = &options;
        let map_err = |f: Failure| {
            let path = f
                .index
                .and_then(|i| ops.get(i))
                .map_or(first_path, ZkOp::path);
            ZkError::from_zk(path, f.err)
        };
        self.run(
            "multi",
            first_path,
            |c| async move {
                if pinned_session.is_some_and(|id| id != c.session_id().0) {
                    return Err(zkc::Error::SessionExpired.into());
                }
                let mut writer = c.new_multi_writer();
                for (op, options) in ops.iter().zip(options) {
                    match (op, options) {
                        (ZkOp::Create { path, data, .. }, Some(options)) => {
                            writer.add_create(path, data, options)?
                        }
                        (
                            ZkOp::SetData {
                                path,
                                data,
                                expected_version,
                            },
                            _,
                        ) => writer.add_set_data(path, data, *expected_version)?,
                        (
                            ZkOp::Delete {
                                path,
                                expected_version,
                            },
                            _,
                        ) => writer.add_delete(path, *expected_version)?,
                        (ZkOp::Check { path, version }, _) => {
                            writer.add_check_version(path, *version)?
                        }
                        (ZkOp::Create { .. }, None) => {
                            return Err(zkc::Error::UnexpectedError(
                                "create without options".into(),
                            )
                            .into());
                        }
                    }
                }
                let results = writer.commit().await.map_err(|e| match e {
                    zkc::MultiWriteError::RequestFailed { source } => Failure::from(source),
                    zkc::MultiWriteError::OperationFailed { index, source } => Failure {
                        err: source,
                        index: Some(index),
                    },
                })?;
                Ok(results
                    .into_iter()
                    .map(|r| match r {
                        zkc::MultiWriteResult::Create { path, .. } => ZkOpResult::Created { path },
                        zkc::MultiWriteResult::SetData { stat } => ZkOpResult::DataSet {
                            version: stat.version,
                        },
                        zkc::MultiWriteResult::Delete => ZkOpResult::Deleted,
                        zkc::MultiWriteResult::Check => ZkOpResult::Checked,
                        _ => ZkOpResult::Checked,
                    })
                    .collect())
            },
            map_err,
        )
        .await
    }

    /// Reads many znodes in few round trips (one multi-read per
    /// `MULTI_CHUNK` paths); `None` for those that do not exist.
    pub async fn get_data_many(
        &self,
        paths: &[String],
    ) -> Result<Vec<Option<(Vec<u8>, ZkStat)>>, ZkError> {
        let mut all = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(MULTI_CHUNK) {
            let first_path = chunk.first().map_or("/", String::as_str);
            let read = self
                .run_on("get_data_many", first_path, |c| async move {
                    let mut reader = c.new_multi_reader();
                    for path in chunk {
                        reader.add_get_data(path)?;
                    }
                    let results = reader.commit().await?;
                    results
                        .into_iter()
                        .map(|r| match r {
                            zkc::MultiReadResult::Data { data, stat } => {
                                Ok(Some((data, ZkStat::from(&stat))))
                            }
                            zkc::MultiReadResult::Error {
                                err: zkc::Error::NoNode,
                            } => Ok(None),
                            zkc::MultiReadResult::Error { err } => Err(err.into()),
                            _ => Err(zkc::Error::UnexpectedError(
                                "unexpected result in a data read".into(),
                            )
                            .into()),
                        })
                        .collect::<Result<Vec<_>, Failure>>()
                })
                .await?;
            all.extend(read);
        }
        Ok(all)
    }
}

/// Operations per multi request, well under ZooKeeper's 1 MB `jute.maxbuffer`.
pub(super) const MULTI_CHUNK: usize = 1000;
