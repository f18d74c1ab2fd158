//! A real `sluice broker` process for a test, and a cluster of them.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::process::{
    describe, describe_status, free_port, keep_test_dirs, signal, spawn_tied, tail_lines, temp_dir,
};
use super::wait::wait_until;
use super::zk::zk;
use super::zookeeper::{unique_chroot, zk_address, zk_connect};

/// How long a broker may take from spawn to accepting connections and being
/// registered in ZooKeeper (a debug build on a busy 2-core CI machine).
pub const BROKER_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a clean shutdown (SIGTERM, controlled shutdown) may take.
pub const BROKER_STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Lines of the broker's log shown when something fails.
const LOG_TAIL_LINES: usize = 50;

/// What to start. `overrides` are written into server.properties after the
/// harness's defaults and replace them (see [`Broker::start`]).
#[derive(Clone, Debug, Default)]
pub struct BrokerSpec {
    pub id: i32,
    pub zk_connect: String,
    /// The listener port; a free one when `None`.
    pub port: Option<u16>,
    pub overrides: Vec<(String, String)>,
    /// `log.dirs`; `<temp dir>/data` when `None`.
    pub log_dir: Option<PathBuf>,
    /// Extra environment variables of the process (e.g. `TOKIO_WORKER_THREADS`).
    pub env: Vec<(String, String)>,
}

impl BrokerSpec {
    pub fn new(id: i32, zk_connect: impl Into<String>) -> Self {
        BrokerSpec {
            id,
            zk_connect: zk_connect.into(),
            ..Default::default()
        }
    }

    /// Sets an environment variable of the broker process.
    pub fn env(mut self, key: &str, value: impl ToString) -> Self {
        self.env.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds a server.properties override (`key=value`).
    pub fn set(mut self, key: &str, value: impl ToString) -> Self {
        self.overrides.push((key.to_owned(), value.to_string()));
        self
    }
}

/// A running (or stopped) `sluice broker` process. Its files live in a temp
/// dir: `server.properties`, `broker.log` (stdout + stderr, RUST_LOG=info,
/// appended across restarts), and `data/` (log.dirs) unless the spec names
/// another. Dropping it kills the process (SIGKILL); when the test is
/// panicking, the temp dir is kept and the log's tail printed.
pub struct Broker {
    spec: BrokerSpec,
    port: u16,
    log_dir: PathBuf,
    dir: Option<TempDir>,
    child: Option<Child>,
    status: Option<ExitStatus>,
    /// The owner session of `/brokers/ids/<id>` before this start: a
    /// registration counts only once a new session owns the znode.
    stale_owner: Option<i64>,
}

impl Broker {
    /// Writes server.properties, spawns the broker, and waits until it accepts
    /// connections on its port and has registered `/brokers/ids/<id>` in
    /// ZooKeeper (when `zk_connect` points at the shared server). Panics with
    /// the log's tail if it exits or is not ready within
    /// [`BROKER_START_TIMEOUT`].
    ///
    /// The properties are `broker.id`, `listeners=PLAINTEXT://127.0.0.1:PORT`,
    /// `log.dirs`, `zookeeper.connect`, plus test-friendly defaults
    /// (`zookeeper.session.timeout.ms=6000`, `group.initial.rebalance.delay.ms=0`),
    /// then `overrides`, each key once (an override replaces a default).
    pub fn start(spec: BrokerSpec) -> Broker {
        let mut broker = Broker::spawn(spec);
        broker.wait_ready();
        broker
    }

    /// Like [`Broker::start`] without waiting: for tests of start-up failures
    /// (then see [`Broker::wait_exit`]) or to start several brokers at once.
    pub fn spawn(spec: BrokerSpec) -> Broker {
        let dir = temp_dir(&format!("broker-{}-", spec.id));
        let port = spec.port.unwrap_or_else(free_port);
        let log_dir = spec
            .log_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("data"));
        let mut props = vec![
            ("broker.id".to_owned(), spec.id.to_string()),
            (
                "listeners".to_owned(),
                format!("PLAINTEXT://127.0.0.1:{port}"),
            ),
            ("log.dirs".to_owned(), log_dir.display().to_string()),
            ("zookeeper.connect".to_owned(), spec.zk_connect.clone()),
            ("zookeeper.session.timeout.ms".to_owned(), "6000".to_owned()),
            (
                "group.initial.rebalance.delay.ms".to_owned(),
                "0".to_owned(),
            ),
        ];
        for (key, value) in &spec.overrides {
            match props.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => props.push((key.clone(), value.clone())),
            }
        }
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        fs::write(dir.path().join("server.properties"), text).expect("write server.properties");

        let mut broker = Broker {
            spec,
            port,
            log_dir,
            dir: Some(dir),
            child: None,
            status: None,
            stale_owner: None,
        };
        broker.launch();
        broker
    }

    fn launch(&mut self) {
        self.stale_owner = self
            .registration_path()
            .and_then(|(chroot, path)| zk(&chroot).ephemeral_owner(&path));
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open broker.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.arg("broker")
            .arg(self.config_path())
            .current_dir(self.dir())
            .env(
                "RUST_LOG",
                std::env::var("SLUICE_TEST_RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .env("RUST_BACKTRACE", "1")
            .env("NO_COLOR", "1")
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log file"))
            .stderr(log.try_clone().expect("dup log file"));
        let _ = writeln!(log, "=== harness: {} ===", describe(&cmd));
        let child = spawn_tied(cmd)
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", env!("CARGO_BIN_EXE_sluice")));
        self.child = Some(child);
        self.status = None;
    }

    /// Waits until the broker accepts connections and (with the shared
    /// ZooKeeper) a new session owns `/brokers/ids/<id>`. Panics with the
    /// log's tail if the process exits first or [`BROKER_START_TIMEOUT`] passes.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + BROKER_START_TIMEOUT;
        let registration = self
            .registration_path()
            .map(|(chroot, path)| (zk(&chroot), path));
        let mut listening = false;
        loop {
            listening = listening || TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            let registered = match &registration {
                Some((zk, path)) => zk
                    .ephemeral_owner(path)
                    .is_some_and(|owner| owner != 0 && Some(owner) != self.stale_owner),
                None => true,
            };
            if listening && registered {
                return;
            }
            let state = format!(
                "listening on {}: {listening}, registered in ZooKeeper: {registered}",
                self.port
            );
            if let Some(status) = self.poll_exit() {
                self.fail(&format!(
                    "exited ({}) before it was ready ({state})",
                    describe_status(status)
                ));
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "not ready after {BROKER_START_TIMEOUT:?} ({state})"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The chroot and path of this broker's registration, if its
    /// zookeeper.connect points at the shared server.
    fn registration_path(&self) -> Option<(String, String)> {
        let connect = &self.spec.zk_connect;
        let (servers, chroot) = match connect.find('/') {
            Some(i) => connect.split_at(i),
            None => (connect.as_str(), ""),
        };
        (servers == zk_address())
            .then(|| (chroot.to_owned(), format!("/brokers/ids/{}", self.id())))
    }

    /// Panics with `problem`, the log's path and its last lines.
    fn fail(&self, problem: &str) -> ! {
        panic!(
            "broker {} (port {}): {problem}\nlog: {}\n--- last {LOG_TAIL_LINES} lines ---\n{}",
            self.id(),
            self.port,
            self.log_path().display(),
            tail_lines(&self.log_text(), LOG_TAIL_LINES)
        );
    }

    pub fn id(&self) -> i32 {
        self.spec.id
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// "127.0.0.1:PORT", for `bootstrap.servers` / `kcat -b`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn spec(&self) -> &BrokerSpec {
        &self.spec
    }

    /// The pid of the current process (also after it exited, until restart).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("broker process").id()
    }

    /// `log.dirs`: where the broker keeps partitions.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    fn dir(&self) -> &Path {
        self.dir.as_ref().expect("broker temp dir").path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir().join("server.properties")
    }

    /// The broker's stdout + stderr.
    pub fn log_path(&self) -> PathBuf {
        self.dir().join("broker.log")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; returns the log.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        wait_until(
            &format!("broker {} to log {needle:?}", self.id()),
            timeout,
            || Some(self.log_text()).filter(|t| t.contains(needle)),
        )
    }

    /// True while the process has not exited (a paused one is running).
    pub fn is_running(&mut self) -> bool {
        self.poll_exit();
        self.child.is_some() && self.status.is_none()
    }

    fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Some(child) = self.child.as_mut()
        {
            self.status = child.try_wait().expect("try_wait on broker");
        }
        self.status
    }

    /// Waits up to `timeout` for the process to exit by itself; returns its
    /// status. Panics (with the log) if it is still running then.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.poll_exit() {
                return status;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("still running after {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, sig: libc::c_int) {
        if self.poll_exit().is_some() {
            self.fail(&format!("cannot send signal {sig}: the broker has exited"));
        }
        signal(self.pid(), sig);
    }

    /// SIGKILL, then reap. Nothing happens if it has already exited.
    pub fn kill(&mut self) {
        if self.poll_exit().is_none()
            && let Some(child) = self.child.as_mut()
        {
            let _ = child.kill();
            self.status = Some(child.wait().expect("wait for killed broker"));
        }
    }

    /// SIGTERM (and SIGCONT, in case it is paused), then waits up to
    /// [`BROKER_STOP_TIMEOUT`] for the clean shutdown; returns the exit
    /// status (0 expected). On timeout: SIGKILL and a panic with the log.
    pub fn terminate(&mut self) -> ExitStatus {
        if let Some(status) = self.poll_exit() {
            return status;
        }
        self.send(libc::SIGTERM);
        signal(self.pid(), libc::SIGCONT);
        let deadline = Instant::now() + BROKER_STOP_TIMEOUT;
        loop {
            if let Some(status) = self.poll_exit() {
                return status;
            }
            if Instant::now() >= deadline {
                self.kill();
                self.fail(&format!(
                    "did not exit within {BROKER_STOP_TIMEOUT:?} of SIGTERM; killed"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGSTOP: the process freezes (no requests served, no ZooKeeper pings:
    /// its session expires after zookeeper.session.timeout.ms).
    pub fn pause(&mut self) {
        self.send(libc::SIGSTOP);
    }

    /// Same as [`Broker::pause`] (SIGSTOP), named like `kill -STOP`.
    pub fn stop(&mut self) {
        self.pause();
    }

    /// SIGCONT after [`Broker::pause`].
    pub fn resume(&mut self) {
        self.send(libc::SIGCONT);
    }

    /// Starts the broker again with the same server.properties (same id, port
    /// and log dir) and waits until it is ready. A running broker is first
    /// stopped cleanly ([`Broker::terminate`], which must exit 0); call
    /// [`Broker::kill`] before for an unclean restart.
    ///
    /// After a kill, the dead process's ephemeral `/brokers/ids/<id>` stays
    /// until ZooKeeper expires its session (zookeeper.session.timeout.ms, 6 s
    /// by default here), and like Kafka the broker refuses to start while its
    /// id is registered: so this first waits for that znode to go, as an
    /// operator would.
    pub fn restart(&mut self) {
        if self.is_running() {
            let status = self.terminate();
            if !status.success() {
                self.fail(&format!(
                    "exited with {} on SIGTERM before restart",
                    describe_status(status)
                ));
            }
        }
        if let Some((chroot, path)) = self.registration_path() {
            let zk = zk(&chroot);
            wait_until(
                &format!("the old registration {chroot}{path} to expire before restart"),
                BROKER_START_TIMEOUT,
                || (!zk.exists(&path)).then_some(()),
            );
        }
        self.launch();
        self.wait_ready();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let Some(dir) = self.dir.take() else { return };
        if thread::panicking() || keep_test_dirs() {
            let path = dir.keep();
            if thread::panicking() {
                eprintln!(
                    "broker {} (port {}): files kept in {}\n--- last {LOG_TAIL_LINES} lines of broker.log ---\n{}",
                    self.spec.id,
                    self.port,
                    path.display(),
                    tail_lines(
                        &fs::read_to_string(path.join("broker.log")).unwrap_or_default(),
                        LOG_TAIL_LINES
                    )
                );
            }
        }
    }
}

/// ZooKeeper chroot + N brokers (ids 1..=N) on free ports.
pub struct TestCluster {
    pub chroot: String,
    pub brokers: Vec<Broker>,
}

impl TestCluster {
    /// Starts `n` brokers under a fresh chroot named after `name`, all at
    /// once, and waits until each is ready.
    pub fn start(name: &str, n: usize) -> TestCluster {
        Self::start_with(name, n, |spec| spec)
    }

    /// Like [`TestCluster::start`]; `customize` adjusts each broker's spec
    /// (e.g. `|s| s.set("default.replication.factor", 3)`).
    pub fn start_with(
        name: &str,
        n: usize,
        customize: impl Fn(BrokerSpec) -> BrokerSpec,
    ) -> TestCluster {
        let chroot = unique_chroot(name);
        let mut brokers: Vec<Broker> = (1..=n as i32)
            .map(|id| Broker::spawn(customize(BrokerSpec::new(id, zk_connect(&chroot)))))
            .collect();
        for broker in &mut brokers {
            broker.wait_ready();
        }
        TestCluster { chroot, brokers }
    }

    /// All brokers' addresses, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(Broker::bootstrap)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The broker with `broker.id` = `id`.
    pub fn broker(&mut self, id: i32) -> &mut Broker {
        self.brokers
            .iter_mut()
            .find(|b| b.id() == id)
            .unwrap_or_else(|| panic!("no broker {id} in this cluster"))
    }
}

/// Seconds of the day of a broker log line's leading RFC 3339 timestamp
/// (the benches time steps by the brokers' own log lines).
pub fn log_line_seconds(line: &str) -> Option<f64> {
    let stamp = line.split_whitespace().next()?;
    let time = stamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}
