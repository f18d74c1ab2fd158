//! Restart at scale (issue 14, "Scale and speed", Restart): how long a broker
//! hosting many partition replicas takes to come back. A three-broker
//! cluster (the integration tests' harness: a real ZooKeeper and real
//! `sluice broker` processes of this build) gets PARTITIONS partitions at
//! replication factor 3 (empty, topics of 100), every ISR full; then a
//! broker that is not the controller is
//!
//! 1. SIGKILLed (`kill` round): its ZooKeeper session expires, it is started
//!    again on the same log dir and recovers every log (unclean shutdown);
//! 2. stopped with SIGTERM (`term` round: controlled shutdown, clean logs)
//!    and started again.
//!
//! Each round prints, from the new process's launch: when it listens, when
//! it is registered in ZooKeeper, when the controller's Metadata shows it in
//! every partition's ISR again; and from its own log (timestamps of its
//! lines), the seconds spent loading the logs (`LogManager` start-up). A
//! table, never an assertion: speed is measured, not tested.
//!
//! ```text
//! scripts/restart_bench.sh            # or, by hand:
//! PARTITIONS=3000 cargo bench --bench restart_scale
//! ```
//! Environment: PARTITIONS (default 3000), RESTARTS (default `kill,term`),
//! RECOVERY_THREADS (sets `num.recovery.threads.per.data.dir`; unset: the
//! broker's default), SLUICE_TEST_KEEP=1 keeps the brokers' files.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::cluster::*;
use common::cluster_view::*;
use common::*;

/// Partitions per topic; the topics are `restart-0`, `restart-1`, ...
const PER_TOPIC: i32 = 100;
/// How long creating the topics may take (9,000 replicas' logs, debug build).
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);
/// How long a restarted broker may take to listen, register and rejoin.
const RESTART_TIMEOUT: Duration = Duration::from_secs(600);

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Partitions whose ISR (in broker `at`'s metadata) lacks one of `replicas`.
fn short_isr(port: u16, topics: &[&str], replicas: &[i32]) -> Result<(), String> {
    let meta = fetch_metadata(port, topics)?;
    let short = meta
        .partitions
        .values()
        .filter(|p| !replicas.iter().all(|r| p.isr.contains(r)))
        .count();
    match short {
        0 => Ok(()),
        n => Err(format!("{n} partitions with a short ISR")),
    }
}

/// Seconds between the last lines containing `from` and `to` in `log`
/// (the latest run's), if both are there.
fn log_span(log: &str, from: &str, to: &str) -> Option<f64> {
    let last = |needle: &str| log.lines().rev().find(|l| l.contains(needle));
    Some(log_line_seconds(last(to)?)? - log_line_seconds(last(from)?)?)
}

/// One restart's figures, in seconds from the new process's launch.
struct Restart {
    round: String,
    before: f64,
    listening: f64,
    registered: f64,
    in_every_isr: f64,
    logs_loaded: Option<f64>,
}

/// Starts the broker's process again on its config and log dir (the
/// harness's `Broker` keeps the dead process), and measures it.
fn relaunch(
    broker: &Broker,
    chroot: &str,
    controller_port: u16,
    topics: &[&str],
) -> (Child, f64, f64, f64) {
    let mut log = OpenOptions::new()
        .append(true)
        .open(broker.log_path())
        .expect("open broker.log");
    let _ = writeln!(log, "=== restart_scale: relaunch ===");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.arg("broker")
        .arg(broker.config_path())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log);
    let port = broker.port();
    let launched = Instant::now();
    let mut child = spawn_tied(cmd).expect("relaunch the broker");
    let listening_at = Arc::new(Mutex::new(None::<f64>));
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (at, stop) = (listening_at.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    *at.lock().unwrap() = Some(launched.elapsed().as_secs_f64());
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let zk = zk(chroot);
    let path = format!("/brokers/ids/{}", broker.id());
    wait_until(
        "the restarted broker's registration",
        RESTART_TIMEOUT,
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the restarted broker exited ({status}); log: {}",
                    broker.log_path().display()
                );
            }
            zk.exists(&path).then_some(())
        },
    );
    let registered = launched.elapsed().as_secs_f64();
    wait_until_ok(
        "the restarted broker back in every ISR",
        RESTART_TIMEOUT,
        || short_isr(controller_port, topics, &[broker.id()]),
    );
    let in_every_isr = launched.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    poller.join().expect("listening poller");
    let listening = listening_at.lock().unwrap().unwrap_or(f64::NAN);
    (child, listening, registered, in_every_isr)
}

/// SIGTERM and wait (a clean shutdown of the relaunched process).
#[allow(unsafe_code)] // kill(2) of the broker's process (SIGTERM)
fn terminate(child: &mut Child) {
    // SAFETY: plain kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
}

fn main() {
    let total: i32 = env_or("PARTITIONS", 3000);
    let rounds: Vec<String> = std::env::var("RESTARTS")
        .unwrap_or_else(|_| "kill,term".to_owned())
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    let threads = std::env::var("RECOVERY_THREADS").ok();
    let mut extra = vec![("zookeeper.session.timeout.ms", "6000")];
    if let Some(t) = &threads {
        extra.push(("num.recovery.threads.per.data.dir", t.as_str()));
    }
    let names = spread_topic_names("restart", total, PER_TOPIC);
    let topic_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut cluster = start_cluster("restart-scale", &extra);
    let chroot = cluster.chroot.clone();

    let started = Instant::now();
    let controller_id = wait_until("a controller", FAILOVER_TIMEOUT, || controller(&chroot));
    create_spread_topics(
        cluster.broker(controller_id),
        &names,
        total,
        PER_TOPIC,
        SETUP_TIMEOUT,
    );
    let controller_port = port_of(&cluster, controller_id);
    wait_until_ok("every ISR full after creation", SETUP_TIMEOUT, || {
        short_isr(controller_port, &topic_refs, &ALL)
    });
    let created = started.elapsed().as_secs_f64();
    eprintln!("created {total} partitions (RF 3) in {created:.1} s");

    let victim = *ALL.iter().find(|&&b| b != controller_id).unwrap();
    let mut results = Vec::new();
    let mut running: Option<Child> = None;
    for round in &rounds {
        let broker = cluster.broker(victim);
        let (what, before) = match round.as_str() {
            "kill" => {
                let killed = Instant::now();
                match running.as_mut() {
                    Some(child) => {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    None => broker.kill(),
                }
                let zk = zk(&chroot);
                let path = format!("/brokers/ids/{victim}");
                wait_until(
                    "the killed broker's session to expire",
                    RESTART_TIMEOUT,
                    || (!zk.exists(&path)).then_some(()),
                );
                ("SIGKILL (unclean)", killed.elapsed().as_secs_f64())
            }
            "term" => {
                let stopping = Instant::now();
                match running.as_mut() {
                    Some(child) => terminate(child),
                    None => {
                        let _ = broker.terminate();
                    }
                }
                ("SIGTERM (clean)", stopping.elapsed().as_secs_f64())
            }
            other => panic!("RESTARTS: unknown round {other:?} (kill or term)"),
        };
        eprintln!("{what}: broker {victim} down after {before:.1} s; restarting");
        let (child, listening, registered, in_every_isr) =
            relaunch(broker, &chroot, controller_port, &topic_refs);
        running = Some(child);
        let logs_loaded = log_span(
            &broker.log_text(),
            "connected to ZooKeeper",
            "log manager started",
        );
        eprintln!(
            "{what}: listening {listening:.1} s, registered {registered:.1} s, every ISR {in_every_isr:.1} s"
        );
        results.push(Restart {
            round: what.to_owned(),
            before,
            listening,
            registered,
            in_every_isr,
            logs_loaded,
        });
    }
    if let Some(child) = running.as_mut() {
        terminate(child);
    }

    println!(
        "\nRestart of broker {victim} (not the controller) hosting {total} empty partition replicas (RF 3, 3 brokers); num.recovery.threads.per.data.dir={}; created in {created:.1} s",
        threads.as_deref().unwrap_or("default")
    );
    println!(
        "| restart | stop (s) | logs loaded (s) | listening (s) | registered (s) | back in every ISR (s) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &results {
        println!(
            "| {} | {:.1} | {} | {:.1} | {:.1} | {:.1} |",
            r.round,
            r.before,
            r.logs_loaded.map_or("?".to_owned(), |s| format!("{s:.1}")),
            r.listening,
            r.registered,
            r.in_every_isr
        );
    }
    println!(
        "stop: SIGKILL until its ZooKeeper session expired, or SIGTERM until it exited; the rest from the new process's launch; logs loaded: from its \"connected to ZooKeeper\" to its \"log manager started\" line; ISR as the controller's Metadata shows it"
    );
}
