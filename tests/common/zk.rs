//! Looking into the shared ZooKeeper from a test, two ways:
//!
//! - `zk_get` / `zk_children` / `zk_stat_ephemeral_owner` / `zk_cli` run
//!   Debian's `zkCli.sh`, so a test sees exactly what an operator would. Each
//!   call starts a JVM (~0.5 s): fine for assertions, slow for polling.
//! - [`zk`] gives a [`Zk`] on one shared session of the Rust `zookeeper-client`
//!   crate (milliseconds per call): use it inside `wait_until` loops, and for
//!   writes (including ephemerals of a session of its own, [`Zk::new_session`]).
//!
//! Both take a chroot (as from `unique_chroot`; "" for none) and a path under it.

use std::future::Future;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use zookeeper_client as zkc;

use super::process::{describe_status, run_with_timeout};
use super::zookeeper::zk_address;

const ZK_CLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";
const ZK_CLI_TIMEOUT: Duration = Duration::from_secs(60);
const ZK_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `chroot` + `path`, e.g. ("/sluice-x-1-0", "/brokers/ids") ->
/// "/sluice-x-1-0/brokers/ids"; ("/c", "/") -> "/c"; ("", "/") -> "/".
pub fn chroot_path(chroot: &str, path: &str) -> String {
    assert!(
        path.starts_with('/'),
        "ZooKeeper path must start with '/': {path:?}"
    );
    let chroot = chroot.trim_end_matches('/');
    match (chroot.is_empty(), path == "/") {
        (true, _) => path.to_owned(),
        (false, true) => chroot.to_owned(),
        (false, false) => format!("{chroot}{path}"),
    }
}

// ---------------------------------------------------------------- zkCli.sh

/// Runs `zkCli.sh -server <shared server> -waitforconnection ARGS...` (for
/// example `&["create", "/x", "data"]`) and returns its raw output.
pub fn zk_cli(args: &[&str]) -> Output {
    if !Path::new(ZK_CLI).exists() {
        panic!("{ZK_CLI} not found: run scripts/test.sh once (it installs ZooKeeper)");
    }
    let mut cmd = Command::new(ZK_CLI);
    cmd.args(["-server", &zk_address(), "-waitforconnection"])
        .args(args)
        // A short-lived client JVM: start it quickly.
        .env(
            "CLIENT_JVMFLAGS",
            "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto",
        );
    run_with_timeout(cmd, None, ZK_CLI_TIMEOUT)
}

/// The data of `path` under `chroot` as `zkCli.sh get` prints it (UTF-8; a
/// znode with null data prints as "null"), or `None` if the znode is absent.
pub fn zk_get(chroot: &str, path: &str) -> Option<String> {
    zk_cli_read("get", &chroot_path(chroot, path))
}

/// The children of `path` under `chroot` (sorted), or `None` if it is absent.
pub fn zk_children(chroot: &str, path: &str) -> Option<Vec<String>> {
    let listing = zk_cli_read("ls", &chroot_path(chroot, path))?;
    let inner = listing
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or_else(|| panic!("unexpected zkCli ls output: {listing:?}"));
    let mut children: Vec<String> = inner
        .split(", ")
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    children.sort();
    Some(children)
}

/// The `ephemeralOwner` that `zkCli.sh stat` shows for `path` under `chroot`:
/// the owning session id for an ephemeral znode, 0 for a persistent one;
/// `None` if the znode is absent.
pub fn zk_stat_ephemeral_owner(chroot: &str, path: &str) -> Option<i64> {
    let stat = zk_cli_read("stat", &chroot_path(chroot, path))?;
    let value = stat
        .lines()
        .find_map(|l| l.trim().strip_prefix("ephemeralOwner = "))
        .unwrap_or_else(|| panic!("no ephemeralOwner in zkCli stat output: {stat:?}"));
    let hex = value.trim().trim_start_matches("0x");
    Some(
        u64::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("bad ephemeralOwner {value:?}: {e}"))
            as i64,
    )
}

/// Runs a reading zkCli command on a full path: `Some(output)` on success,
/// `None` when the znode does not exist, a panic on anything else.
fn zk_cli_read(command: &str, full_path: &str) -> Option<String> {
    let out = zk_cli(&[command, full_path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return Some(zk_cli_body(&stdout));
    }
    if stderr.contains("Node does not exist") || stdout.contains("Node does not exist") {
        return None;
    }
    panic!(
        "zkCli {command} {full_path} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        describe_status(out.status)
    );
}

/// What a zkCli command printed, without the connection chatter around it:
/// "Connecting to HOST", and each watcher notice ("\nWATCHER::" and
/// "\nWatchedEvent state:..."), wherever the watcher thread printed them.
pub fn zk_cli_body(stdout: &str) -> String {
    let mut body: Vec<&str> = Vec::new();
    let mut seen_connecting = false;
    for line in stdout.split('\n') {
        if !seen_connecting && line.starts_with("Connecting to ") {
            seen_connecting = true;
        } else if line == "WATCHER::" || line.starts_with("WatchedEvent ") {
            // Each notice is printed as "\n" + notice: drop that blank line too.
            if body.last() == Some(&"") {
                body.pop();
            }
        } else {
            body.push(line);
        }
    }
    // The command's own output ends with a newline.
    if body.last() == Some(&"") {
        body.pop();
    }
    body.join("\n")
}

// ------------------------------------------------------- zookeeper-client

/// A handle on the shared ZooKeeper through the Rust client, under a chroot.
/// Cheap to make: all handles from [`zk`] share one session.
#[derive(Clone)]
pub struct Zk {
    client: zkc::Client,
    chroot: String,
}

/// A [`Zk`] under `chroot` on the shared session.
pub fn zk(chroot: &str) -> Zk {
    static SHARED: OnceLock<zkc::Client> = OnceLock::new();
    let client = SHARED.get_or_init(|| connect(&zk_address())).clone();
    Zk {
        client,
        chroot: chroot.to_owned(),
    }
}

fn connect(address: &str) -> zkc::Client {
    let address = address.to_owned();
    block_on(async move {
        zkc::Client::connector()
            .with_session_timeout(Duration::from_secs(30))
            .connect(&address)
            .await
    })
    .unwrap_or_else(|e| panic!("connect to ZooKeeper: {e}"))
}

/// Runs `fut` on the harness's own tokio runtime (one worker thread that also
/// serves the sessions' pings) and waits for it. Works from plain tests and
/// from inside `#[tokio::test]` alike.
fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-zk-client")
            .enable_all()
            .build()
            .expect("build the ZooKeeper client runtime")
    });
    let (tx, rx) = mpsc::channel();
    runtime.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv_timeout(ZK_REQUEST_TIMEOUT)
        .unwrap_or_else(|_| panic!("ZooKeeper request took over {ZK_REQUEST_TIMEOUT:?}"))
}

/// `Ok(Some(v))` -> `Some(v)`; `NoNode` -> `None`; other errors panic.
fn absent_as_none<T>(what: &str, result: Result<T, zkc::Error>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(zkc::Error::NoNode) => None,
        Err(e) => panic!("ZooKeeper {what}: {e}"),
    }
}

impl Zk {
    /// A handle with a session of its own under `chroot`, closed when the last
    /// clone is dropped (its ephemerals vanish then).
    pub fn new_session(chroot: &str) -> Zk {
        Zk {
            client: connect(&zk_address()),
            chroot: chroot.to_owned(),
        }
    }

    pub fn session_id(&self) -> i64 {
        self.client.session_id().0
    }

    fn full(&self, path: &str) -> String {
        chroot_path(&self.chroot, path)
    }

    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        let (client, full) = (self.client.clone(), self.full(path));
        let result = block_on(async move { client.get_data(&full).await });
        absent_as_none(&format!("get {path}"), result).map(|(data, _stat)| data)
    }

    pub fn get_string(&self, path: &str) -> Option<String> {
        self.get(path)
            .map(|d| String::from_utf8(d).unwrap_or_else(|e| panic!("{path} is not UTF-8: {e}")))
    }

    /// The data parsed as JSON (Kafka's znodes hold JSON).
    pub fn get_json(&self, path: &str) -> Option<serde_json::Value> {
        self.get(path).map(|d| {
            serde_json::from_slice(&d).unwrap_or_else(|e| {
                panic!("{path} is not JSON ({e}): {}", String::from_utf8_lossy(&d))
            })
        })
    }

    /// Children names, sorted; `None` if `path` is absent.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        let (client, full) = (self.client.clone(), self.full(path));
        let result = block_on(async move { client.list_children(&full).await });
        absent_as_none(&format!("ls {path}"), result).map(|mut c| {
            c.sort();
            c
        })
    }

    pub fn stat(&self, path: &str) -> Option<zkc::Stat> {
        let (client, full) = (self.client.clone(), self.full(path));
        let result = block_on(async move { client.check_stat(&full).await });
        absent_as_none(&format!("stat {path}"), result).flatten()
    }

    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_some()
    }

    /// The owning session id of an ephemeral znode, 0 for a persistent one.
    pub fn ephemeral_owner(&self, path: &str) -> Option<i64> {
        self.stat(path).map(|s| s.ephemeral_owner)
    }

    /// Creates a persistent znode with `data`, and its missing parents
    /// (including the chroot) empty. Panics if it exists.
    pub fn create(&self, path: &str, data: &[u8]) {
        self.create_with(path, data, zkc::CreateMode::Persistent);
    }

    /// Creates an ephemeral znode owned by this handle's session (parents are
    /// created persistent).
    pub fn create_ephemeral(&self, path: &str, data: &[u8]) {
        self.create_with(path, data, zkc::CreateMode::Ephemeral);
    }

    fn create_with(&self, path: &str, data: &[u8], mode: zkc::CreateMode) {
        let (client, full, data) = (self.client.clone(), self.full(path), data.to_vec());
        let result = block_on(async move {
            let persistent = zkc::CreateMode::Persistent.with_acls(zkc::Acls::anyone_all());
            if let Some((parent, _)) = full.rsplit_once('/')
                && !parent.is_empty()
            {
                client.mkdir(parent, &persistent).await?;
            }
            let options = mode.with_acls(zkc::Acls::anyone_all());
            client.create(&full, &data, &options).await.map(|_| ())
        });
        result.unwrap_or_else(|e| panic!("ZooKeeper create {path}: {e}"));
    }

    /// Sets the data of an existing znode (any version).
    pub fn set(&self, path: &str, data: &[u8]) {
        let (client, full, data) = (self.client.clone(), self.full(path), data.to_vec());
        block_on(async move { client.set_data(&full, &data, None).await })
            .unwrap_or_else(|e| panic!("ZooKeeper set {path}: {e}"));
    }

    /// Deletes `path` and everything below it; absent is fine.
    pub fn delete_recursive(&self, path: &str) {
        for child in self.children(path).unwrap_or_default() {
            let child_path = if path == "/" {
                format!("/{child}")
            } else {
                format!("{path}/{child}")
            };
            self.delete_recursive(&child_path);
        }
        let (client, full) = (self.client.clone(), self.full(path));
        match block_on(async move { client.delete(&full, None).await }) {
            Ok(()) | Err(zkc::Error::NoNode) => {}
            Err(e) => panic!("ZooKeeper delete {path}: {e}"),
        }
    }
}
