//! Child processes of a test binary: spawned so they die with it, run with a
//! time limit, and given free ports and temp dirs.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `cmd` so that it gets SIGKILL when the test binary exits, however it
/// exits (panic, abort, SIGKILL): `PR_SET_PDEATHSIG` in the child. The kernel
/// fires it when the *thread* that forked the child exits, and libtest runs
/// each test on a short-lived thread, so every spawn goes through one
/// dedicated thread that lives as long as the process.
#[allow(unsafe_code)] // pre_exec (prctl PDEATHSIG) in the forked child
pub fn spawn_tied(mut cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("test-process-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("start the process spawner thread");
        tx
    });
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls (prctl, getppid).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent {
                return Err(io::Error::other(
                    "test binary exited before the child started",
                ));
            }
            Ok(())
        });
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner
        .send((cmd, reply_tx))
        .expect("process spawner thread is gone");
    reply_rx.recv().expect("process spawner thread is gone")
}

/// Sends `signal` to `pid` (a child that has not been reaped yet).
#[allow(unsafe_code)] // kill(2): the one signal sender of the test harness
pub fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: plain kill(2).
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        // ESRCH: already a zombie or gone; the caller reaps it.
        if err.raw_os_error() != Some(libc::ESRCH) {
            panic!("kill({pid}, {signal}): {err}");
        }
    }
}

/// Runs `cmd` to completion with `stdin` (or /dev/null), capturing stdout and
/// stderr. If it is still running after `timeout`, it is killed (SIGKILL) and
/// the output so far is returned with the killed status; a note goes to the
/// test's stderr so the failure explains itself.
pub fn run_with_timeout(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let what = describe(&cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = spawn_tied(cmd).unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let pid = child.id();

    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            // A broken pipe just means the program stopped reading.
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let stdout = read_in_thread(child.stdout.take());
    let stderr = read_in_thread(child.stderr.take());

    let (status_tx, status_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = status_tx.send(child.wait());
    });
    let status = match status_rx.recv_timeout(timeout) {
        Ok(status) => status,
        Err(_) => {
            // Not reaped yet (the waiter thread has not returned), so the pid
            // is still ours.
            signal(pid, libc::SIGKILL);
            eprintln!("{what}: still running after {timeout:?}; killed");
            status_rx.recv().expect("waiter thread")
        }
    }
    .unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn read_in_thread(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Panics with the command's stdout and stderr unless it exited 0; returns
/// its stdout as text.
pub fn assert_success(output: &Output, what: &str) -> String {
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            describe_status(output.status),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{status}"),
    }
}

/// `program arg arg...`, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut parts: Vec<OsString> = vec![cmd.get_program().to_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_owned()));
    parts
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A TCP port on 127.0.0.1 that nothing listens on right now, never the same
/// twice in one test binary (so parallel tests don't pick each other's).
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("no free port found");
}

/// Where tests keep their files: cargo's target/tmp for integration tests
/// (so logs of a failed run are easy to find), else the system temp dir.
pub fn test_tmp_root() -> PathBuf {
    let root = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("create {}: {e}", root.display()));
    root
}

/// A fresh temp dir under [`test_tmp_root`], removed when dropped.
pub fn temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(test_tmp_root())
        .expect("create a temp dir")
}

/// True when SLUICE_TEST_KEEP is set: keep every temp dir (logs, data) even
/// when tests pass, for a look afterwards.
pub fn keep_test_dirs() -> bool {
    std::env::var_os("SLUICE_TEST_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The last `n` lines of `text`.
pub fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
