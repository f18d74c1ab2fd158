//! Configuration handling at start-up, running the real `sluice broker`
//! binary: bad values, a missing required key, a missing file and malformed
//! `--override` arguments exit non-zero quickly with a message naming the
//! culprit; unknown keys are warned about but do not stop the broker;
//! `--override` replaces file values; `log.dir` (singular), `log.roll.hours`
//! and `log.retention.minutes` take effect (seen on disk and through
//! DescribeConfigs from confluent-kafka); SIGTERM and SIGINT shut down
//! cleanly with exit code 0; an unreachable ZooKeeper fails start-up within
//! a bounded time.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tempfile::TempDir;

/// A failing start-up must end well within this (a debug build on a busy
/// machine; a config error takes milliseconds).
const QUICK_EXIT: Duration = Duration::from_secs(20);

/// server.properties text from `(key, value)` pairs.
fn properties(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// A complete, valid configuration for broker `id` under `chroot`, data in
/// `dir/data`: what each failure case changes one key of.
fn valid_config(id: i32, chroot: &str, dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("broker.id", id.to_string()),
        (
            "listeners",
            format!("PLAINTEXT://127.0.0.1:{}", free_port()),
        ),
        ("log.dirs", dir.join("data").display().to_string()),
        ("zookeeper.connect", zk_connect(chroot)),
        ("zookeeper.session.timeout.ms", "6000".to_owned()),
    ]
}

/// With `key` set to `value` (replaced if present, else added).
fn with(
    mut config: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    match config.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value.to_owned(),
        None => config.push((key, value.to_owned())),
    }
    config
}

fn without(config: Vec<(&'static str, String)>, key: &str) -> Vec<(&'static str, String)> {
    config.into_iter().filter(|(k, _)| *k != key).collect()
}

fn sluice_command(config: &Path, extra_args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.arg("broker")
        .arg(config)
        .args(extra_args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `sluice broker <config> ARGS` expecting it to exit by itself: its
/// output and how long it ran. Panics if it exits 0 or is still running
/// after [`QUICK_EXIT`] (then it is killed).
fn run_expecting_failure(config: &Path, extra_args: &[&str], what: &str) -> (String, Duration) {
    let start = Instant::now();
    let out: Output = run_with_timeout(sluice_command(config, extra_args), None, QUICK_EXIT * 3);
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.code().is_some_and(|c| c != 0),
        "{what}: expected a non-zero exit code, got {}; stderr:\n{stderr}",
        describe_status(out.status)
    );
    assert!(
        elapsed < QUICK_EXIT,
        "{what}: took {elapsed:?} to fail; stderr:\n{stderr}"
    );
    (stderr, elapsed)
}

/// Writes `text` as `dir/server.properties`.
fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("server.properties");
    fs::write(&path, text).expect("write server.properties");
    path
}

/// A `sluice broker` started by this file (for command lines the harness's
/// `Broker` does not make: `--override`, no `log.dirs`). Output goes to
/// `broker.log` in its dir; dropping it kills the process.
struct Sluice {
    child: Child,
    log: PathBuf,
    chroot: String,
    id: i32,
}

impl Sluice {
    /// Spawns the broker and waits until `/brokers/ids/<id>` is registered
    /// under `chroot` by a live session.
    fn start(dir: &Path, config: &Path, extra_args: &[&str], chroot: &str, id: i32) -> Sluice {
        let log = dir.join("broker.log");
        let file = fs::File::create(&log).expect("create broker.log");
        let mut cmd = sluice_command(config, extra_args);
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let child = spawn_tied(cmd).expect("spawn sluice");
        let mut sluice = Sluice {
            child,
            log,
            chroot: chroot.to_owned(),
            id,
        };
        sluice.wait_registered();
        sluice
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_registered(&mut self) {
        let path = format!("/brokers/ids/{}", self.id);
        let zk = zk(&self.chroot);
        wait_until(
            &format!("sluice to register {path}"),
            BROKER_START_TIMEOUT,
            || {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!(
                        "sluice exited ({}) before registering:\n{}",
                        describe_status(status),
                        tail_lines(&self.log_text(), 30)
                    );
                }
                zk.ephemeral_owner(&path).filter(|&owner| owner != 0)
            },
        );
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- sluice log {} ---\n{}",
                self.log.display(),
                tail_lines(&self.log_text(), 40)
            );
        }
    }
}

fn new_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(test_tmp_root())
        .expect("temp dir")
}

// -------------------------------------------------------------------- tests

#[test]
fn bad_values_fail_fast_and_name_the_key() {
    let chroot = unique_chroot("bad-values");
    let dir = new_dir("bad-values-");
    let cases = [
        ("broker.id", "abc"),
        ("listeners", "garbage"),
        ("log.segment.bytes", "-5"),
        ("num.partitions", "0"),
        ("zookeeper.session.timeout.ms", "soon"),
    ];
    for (key, value) in cases {
        let config = with(valid_config(1, &chroot, dir.path()), key, value);
        let path = write_config(dir.path(), &properties(&config));
        let (stderr, _) = run_expecting_failure(&path, &[], &format!("{key}={value}"));
        assert!(
            stderr.contains(key) && stderr.contains(value),
            "{key}={value}: stderr should name the key and the value:\n{stderr}"
        );
    }
    // Nothing got as far as registering.
    assert!(!zk(&chroot).exists("/brokers/ids/1"));
}

#[test]
fn a_missing_required_key_fails_naming_it() {
    let chroot = unique_chroot("missing-key");
    let dir = new_dir("missing-key-");
    let config = without(valid_config(1, &chroot, dir.path()), "zookeeper.connect");
    let path = write_config(dir.path(), &properties(&config));
    let (stderr, _) = run_expecting_failure(&path, &[], "no zookeeper.connect");
    assert!(stderr.contains("zookeeper.connect"), "{stderr}");
}

#[test]
fn a_missing_config_file_fails_naming_the_path() {
    let dir = new_dir("missing-file-");
    let path = dir.path().join("nowhere").join("server.properties");
    let (stderr, _) = run_expecting_failure(&path, &[], "a missing file");
    assert!(
        stderr.contains(&path.display().to_string()),
        "stderr should name {}:\n{stderr}",
        path.display()
    );
}

#[test]
fn malformed_overrides_fail_with_a_clear_error() {
    let chroot = unique_chroot("bad-override");
    let dir = new_dir("bad-override-");
    let path = write_config(
        dir.path(),
        &properties(&valid_config(1, &chroot, dir.path())),
    );
    for arg in ["broker.id", "=5"] {
        let (stderr, _) = run_expecting_failure(&path, &["--override", arg], arg);
        assert!(
            stderr.contains("override") && stderr.contains(arg),
            "--override {arg}: stderr should say the override is malformed and quote it:\n{stderr}"
        );
    }
    // A well-formed override with a bad value names the key like a file value.
    let (stderr, _) = run_expecting_failure(
        &path,
        &["--override", "num.partitions=0"],
        "num.partitions=0",
    );
    assert!(stderr.contains("num.partitions"), "{stderr}");
}

#[test]
fn overrides_replace_file_values_and_the_last_one_wins() {
    let chroot = unique_chroot("override");
    let dir = new_dir("override-");
    let path = write_config(
        dir.path(),
        &properties(&valid_config(1, &chroot, dir.path())),
    );
    let broker = Sluice::start(
        dir.path(),
        &path,
        &[
            "--override",
            "broker.id=5",
            "--override",
            "broker.id=7",
            "--override",
            "num.partitions=3",
        ],
        &chroot,
        7,
    );
    let ids = zk(&chroot).children("/brokers/ids").unwrap_or_default();
    assert_eq!(ids, ["7"], "registered ids");
    // num.partitions=3 from an override: an auto-created topic gets 3.
    let registration = zk(&chroot)
        .get_json("/brokers/ids/7")
        .expect("registration");
    let port = registration["port"].as_i64().expect("port in registration");
    let bootstrap = format!("127.0.0.1:{port}");
    let out = kcat(&["-b", &bootstrap, "-t", "three", "-P"], Some(b"x\n"));
    assert_success(&out, "kcat produce");
    let assignment = wait_until(
        "the auto-created topic's znode",
        Duration::from_secs(30),
        || zk(&chroot).get_json("/brokers/topics/three"),
    );
    let partitions = assignment["partitions"]
        .as_object()
        .expect("partitions in the topic znode");
    assert_eq!(partitions.len(), 3, "{assignment}");
    drop(broker);
}

#[test]
fn unknown_keys_are_warned_about_and_the_broker_starts() {
    let chroot = unique_chroot("unknown-key");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("sluice.no.such.key", "1")
            .set("log.retention.hourz", "5")
            // A Kafka key Sluice does not act on: accepted, not "unknown".
            .set("num.network.threads", "3"),
    );
    let log = broker.log_text();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("sluice.no.such.key"))
        .unwrap_or_else(|| panic!("no warning naming the unknown key:\n{log}"));
    assert!(warning.contains("log.retention.hourz"), "{warning}");
    assert!(!warning.contains("num.network.threads"), "{warning}");
    // And it serves.
    let out = kcat(&["-b", &broker.bootstrap(), "-L"], None);
    let listing = assert_success(&out, "kcat -L");
    assert!(listing.contains("1 brokers"), "{listing}");
}

#[test]
fn log_dir_singular_and_hour_and_minute_keys_take_effect() {
    let chroot = unique_chroot("log-dir");
    let dir = new_dir("log-dir-");
    let data = dir.path().join("singular");
    let config = without(valid_config(1, &chroot, dir.path()), "log.dirs");
    let config = with(config, "log.dir", &data.display().to_string());
    let config = with(config, "log.roll.hours", "5");
    let config = with(config, "log.retention.minutes", "90");
    let path = write_config(dir.path(), &properties(&config));
    let broker = Sluice::start(dir.path(), &path, &[], &chroot, 1);
    assert!(
        data.join("meta.properties").is_file(),
        "meta.properties in log.dir {}",
        data.display()
    );
    let registration = zk(&chroot)
        .get_json("/brokers/ids/1")
        .expect("registration");
    let bootstrap = format!("127.0.0.1:{}", registration["port"]);

    // A topic created by confluent-kafka's admin client reports the derived
    // segment.ms and retention.ms. Their source is DEFAULT_CONFIG, as Kafka
    // reports it: its synonym list for segment.ms starts at log.roll.ms
    // (unset), and Kafka drops the entries before that name, so the static
    // log.roll.hours does not show (likewise log.retention.minutes).
    let script = r#"
import json, sys
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource
bootstrap, topic = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=60)
resource = ConfigResource("topic", topic)
configs = admin.describe_configs([resource])[resource].result(timeout=60)
print(json.dumps({k: [v.value, v.source] for k, v in configs.items()}))
"#;
    let out = run_python(script, &[&bootstrap, "units"]);
    let text = assert_success(&out, "describe_configs");
    let configs: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON");
    const DEFAULT_CONFIG: i64 = 5;
    assert_eq!(configs["segment.ms"][0], "18000000", "5 hours: {configs}");
    assert_eq!(configs["segment.ms"][1], DEFAULT_CONFIG);
    assert_eq!(
        configs["retention.ms"][0], "5400000",
        "90 minutes: {configs}"
    );
    assert_eq!(configs["retention.ms"][1], DEFAULT_CONFIG);

    // Data lands under log.dir.
    let out = kcat(&["-b", &bootstrap, "-t", "units", "-P"], Some(b"on disk\n"));
    assert_success(&out, "kcat produce");
    let segment = data.join("units-0").join("00000000000000000000.log");
    let size = fs::metadata(&segment)
        .unwrap_or_else(|e| panic!("{}: {e}", segment.display()))
        .len();
    assert!(size > 0, "{} is empty", segment.display());
    drop(broker);
}

/// Whether `pid` has a handler for SIGTERM (bit 15 of /proc's SigCgt mask).
fn catches_sigterm(pid: u32) -> bool {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
}

/// A SIGTERM that arrives while the broker starts (here: waiting for a
/// ZooKeeper it cannot reach yet) is kept: the broker finishes starting and
/// shuts down cleanly (exit 0), instead of dying by the signal's default
/// action before its handler exists.
#[test]
fn a_sigterm_during_start_up_shuts_the_broker_down_cleanly_once_started() {
    let chroot = unique_chroot("sigterm-start");
    let zookeeper_port: u16 = zk_address().rsplit_once(':').unwrap().1.parse().unwrap();
    let proxy = TcpProxy::start(zookeeper_port);
    proxy.cut();
    let mut broker = Broker::spawn(
        BrokerSpec::new(1, format!("127.0.0.1:{}{chroot}", proxy.port()))
            .set("zookeeper.connection.timeout.ms", "60000"),
    );
    let pid = broker.pid();
    wait_until(
        "the starting broker to listen for SIGTERM",
        Duration::from_secs(30),
        || catches_sigterm(pid).then_some(()),
    );
    assert!(broker.is_running(), "still starting: ZooKeeper is cut off");
    // The first SIGTERM arrives mid-start; had it killed the broker, the
    // status below says so (terminate's own SIGTERM finds it exited).
    signal(pid, libc::SIGTERM);
    proxy.restore();
    let status = broker.terminate();
    assert!(
        status.success(),
        "exit after a SIGTERM during start-up: {}\n{}",
        describe_status(status),
        tail_lines(&broker.log_text(), 20)
    );
}

#[test]
fn sigterm_shuts_down_cleanly_with_exit_code_0() {
    let chroot = unique_chroot("sigterm");
    let mut broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let status = broker.terminate();
    assert!(
        status.success(),
        "exit after SIGTERM: {}\n{}",
        describe_status(status),
        tail_lines(&broker.log_text(), 20)
    );
    assert!(
        broker.log_text().contains("shut down cleanly"),
        "{}",
        tail_lines(&broker.log_text(), 20)
    );
    // The session was closed, not left to expire (6 s): the registration is
    // gone at once.
    wait_until(
        "/brokers/ids/1 to vanish with the closed session",
        Duration::from_secs(3),
        || (!zk(&chroot).exists("/brokers/ids/1")).then_some(()),
    );
}

#[test]
#[allow(unsafe_code)] // kill(2) with SIGINT
fn sigint_shuts_down_cleanly_with_exit_code_0() {
    let chroot = unique_chroot("sigint");
    let mut broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    // SAFETY: kill(2) on our own, not yet reaped, child.
    let rc = unsafe { libc::kill(broker.pid() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "kill -INT");
    let status = broker.wait_exit(BROKER_STOP_TIMEOUT);
    assert!(
        status.success(),
        "exit after SIGINT: {}\n{}",
        describe_status(status),
        tail_lines(&broker.log_text(), 20)
    );
    assert!(
        broker.log_text().contains("shut down cleanly"),
        "{}",
        tail_lines(&broker.log_text(), 20)
    );
    wait_until(
        "/brokers/ids/1 to vanish with the closed session",
        Duration::from_secs(3),
        || (!zk(&chroot).exists("/brokers/ids/1")).then_some(()),
    );
}

#[test]
fn unreachable_zookeeper_fails_start_up_in_bounded_time() {
    let dir = new_dir("no-zk-");
    // A port nothing listens on.
    let address = format!("127.0.0.1:{}", free_port());
    let config = valid_config(1, "", dir.path());
    let config = with(config, "zookeeper.connect", &address);
    let config = with(config, "zookeeper.connection.timeout.ms", "2000");
    let path = write_config(dir.path(), &properties(&config));
    let (stderr, elapsed) = run_expecting_failure(&path, &[], "no ZooKeeper");
    assert!(
        stderr.contains(&address) || stderr.contains("zookeeper.connect"),
        "stderr should name the ZooKeeper address or zookeeper.connect:\n{stderr}"
    );
    assert!(
        stderr.contains("2000") || stderr.contains("zookeeper.connection.timeout.ms"),
        "stderr should name the timeout:\n{stderr}"
    );
    assert!(
        elapsed >= Duration::from_millis(1_500),
        "gave up after {elapsed:?}, before the 2000 ms connection timeout"
    );
}
