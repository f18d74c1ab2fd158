//! The ZooKeeper server a test binary shares: Debian's real server, started
//! on first use through `scripts/zookeeper.sh` (one source of truth for the
//! class path) on a free port, data in a temp dir, killed when the binary
//! exits. Tests stay independent by each using its own chroot.
//!
//! A fault-injection test binary may also crash and restart its server
//! ([`ZooKeeper::kill`], [`ZooKeeper::start_again`], same port and data dir,
//! so sessions and znodes survive as after a real crash); other binaries never
//! do, and see the server exactly as before.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::process::{free_port, keep_test_dirs, spawn_tied, tail_lines, temp_dir};

/// How long ZooKeeper (a JVM) may take to answer `ruok` after its start.
const ZK_START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct ZooKeeper {
    port: u16,
    /// The current server process (a new one after `start_again`).
    pid: AtomicU32,
    dir: PathBuf,
    child: Mutex<Child>,
    /// Killed on purpose ([`ZooKeeper::kill`]) and not started again yet.
    down: AtomicBool,
}

static SERVER: OnceLock<ZooKeeper> = OnceLock::new();

/// The shared server, started on first call. Panics (with the server's log)
/// if it cannot start or has died since.
pub fn zookeeper() -> &'static ZooKeeper {
    let server = SERVER.get_or_init(ZooKeeper::start);
    server.check_alive();
    server
}

/// `127.0.0.1:PORT` of the shared server.
pub fn zk_address() -> String {
    format!("127.0.0.1:{}", zookeeper().port)
}

/// A `zookeeper.connect` value for a broker: the shared server plus `chroot`
/// (e.g. from [`unique_chroot`]; "" for none).
pub fn zk_connect(chroot: &str) -> String {
    format!("{}{}", zk_address(), chroot)
}

/// A chroot no other test (in this or another test binary) uses:
/// `/sluice-<name>-<pid>-<counter>`, `name` reduced to `[A-Za-z0-9_-]`.
pub fn unique_chroot(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("/sluice-{name}-{}-{n}", std::process::id())
}

/// Sends a four-letter-word command (`ruok`, `srvr`, `stat`, `cons`, `mntr`,
/// ...) to the shared server and returns its answer.
pub fn four_letter_word(cmd: &str) -> String {
    four_letter_word_at(zookeeper().port, cmd)
        .unwrap_or_else(|e| panic!("ZooKeeper '{cmd}' failed: {e}"))
}

fn four_letter_word_at(port: u16, cmd: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(cmd.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

impl ZooKeeper {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// Whether the server was killed on purpose and is not back yet.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    /// Crashes the server (SIGKILL) for a fault-injection test: clients lose
    /// their connections, sessions live on in its data dir. Until
    /// [`ZooKeeper::start_again`], [`zookeeper`] does not treat the dead
    /// process as a failure.
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        self.down.store(true, Ordering::SeqCst);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again after [`ZooKeeper::kill`], with the same
    /// config (port, data dir), and waits until it answers `ruok`. Panics
    /// with the log's tail if it does not come up.
    pub fn start_again(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if !self.down.load(Ordering::SeqCst) {
            return;
        }
        // The old process may still hold the port for a moment: retry a few
        // times on "Address already in use".
        let mut last_log = String::new();
        for _ in 0..5 {
            match spawn_server(&self.dir, self.port, true) {
                Ok(new_child) => {
                    self.pid.store(new_child.id(), Ordering::SeqCst);
                    *child = new_child;
                    self.down.store(false, Ordering::SeqCst);
                    return;
                }
                Err(log) => last_log = log,
            }
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!(
            "ZooKeeper did not start again on port {}; log in {}:\n{}",
            self.port,
            self.dir.display(),
            tail_lines(&last_log, 50)
        );
    }

    /// [`ZooKeeper::kill`], then [`ZooKeeper::start_again`].
    pub fn restart(&self) {
        self.kill();
        self.start_again();
    }

    /// The server's stdout/stderr (log4j console output).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("zookeeper.log")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn check_alive(&self) {
        if self.is_down() {
            return;
        }
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if !self.is_down()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!(
                "the shared ZooKeeper (port {}) exited ({status}); last log lines:\n{}",
                self.port,
                tail_lines(&self.log_text(), 50)
            );
        }
    }

    #[allow(unsafe_code)] // atexit(3), to stop the shared ZooKeeper at exit
    fn start() -> ZooKeeper {
        let dir = temp_dir("zookeeper-").keep();
        // A free port can be taken by someone else before the server binds it:
        // try a few.
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            match Self::try_start(&dir, port) {
                Ok(server) => {
                    // SAFETY: registering a plain extern "C" fn.
                    unsafe { libc::atexit(stop_at_exit) };
                    return server;
                }
                Err(log) => last_log = log,
            }
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!(
            "ZooKeeper did not start (run scripts/test.sh once to install it); log in {}:\n{}",
            dir.display(),
            tail_lines(&last_log, 50)
        );
    }

    /// Starts a server on `port`; on failure returns its log.
    fn try_start(dir: &Path, port: u16) -> Result<ZooKeeper, String> {
        let cfg = dir.join("zoo.cfg");
        let data = dir.join("data");
        fs::write(
            &cfg,
            format!(
                "tickTime=2000\n\
                 dataDir={}\n\
                 clientPort={port}\n\
                 clientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n\
                 maxClientCnxns=0\n\
                 minSessionTimeout=4000\n\
                 maxSessionTimeout=60000\n\
                 4lw.commands.whitelist=*\n\
                 forceSync=no\n",
                data.display()
            ),
        )
        .expect("write zoo.cfg");
        let child = spawn_server(dir, port, false)?;
        Ok(ZooKeeper {
            port,
            pid: AtomicU32::new(child.id()),
            dir: dir.to_owned(),
            child: Mutex::new(child),
            down: AtomicBool::new(false),
        })
    }
}

/// Runs the server of `dir/zoo.cfg` (listening on `port`), its output in
/// `dir/zookeeper.log` (appended to when `append`), and waits until it
/// answers `ruok`; on failure returns the log.
fn spawn_server(dir: &Path, port: u16, append: bool) -> Result<Child, String> {
    let cfg = dir.join("zoo.cfg");
    let log_path = dir.join("zookeeper.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&log_path)
        .expect("open zookeeper.log");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/zookeeper.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .arg("--no-install")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log file"))
        .stderr(log);
    let mut child =
        spawn_tied(cmd).unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let deadline = Instant::now() + ZK_START_TIMEOUT;
    loop {
        if four_letter_word_at(port, "ruok").is_ok_and(|a| a == "imok") {
            return Ok(child);
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || Instant::now() >= deadline {
            if !exited {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(fs::read_to_string(&log_path).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// At a normal exit of the test binary: kill the server and remove its files
/// (PDEATHSIG would kill it anyway, but not clean up).
#[allow(unsafe_code)] // kill(2)/waitpid(2) of the shared ZooKeeper
extern "C" fn stop_at_exit() {
    if let Some(server) = SERVER.get()
        && !server.is_down()
    {
        // SAFETY: kill/waitpid on our own child.
        let pid = server.pid() as libc::pid_t;
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        if !keep_test_dirs() {
            let _ = fs::remove_dir_all(&server.dir);
        }
    }
}
