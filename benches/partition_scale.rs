//! Partitions at scale (issue 14, "Scale and speed", Partitions): a
//! three-broker cluster (the integration tests' harness: a real ZooKeeper,
//! real `sluice broker` processes of this build, 6 s ZooKeeper sessions)
//! gets N partitions at replication factor 3 (topics of 100), and then
//!
//! 1. creation: from the CreateTopics request until every broker's Metadata
//!    shows a leader for every partition, and every ISR full;
//! 2. controller failover: the controller is SIGKILLed; from the kill (and
//!    from the kill plus the session timeout, and from the moment its
//!    registration was seen gone) until every partition is led by a live
//!    broker in every live broker's Metadata; then it is started again and
//!    the bench waits until it is back in every ISR;
//! 3. leader moves: a preferred election spreads leadership again (a third
//!    each), a broker that is not the controller is SIGKILLed, the same
//!    measure; restarted, back in every ISR;
//! 4. controlled shutdown: another such broker gets SIGTERM; from the signal
//!    until no partition names it leader in the live brokers' Metadata, and
//!    until it exited; restarted, back in every ISR;
//! 5. each broker's VmRSS and VmHWM (/proc/<pid>/status) after creation and
//!    at the end.
//!
//! Prints markdown tables (with the load average beside each step) and the
//! new controller's own timestamps of its failover. Nothing is asserted:
//! speed is measured, not tested. Targets (issue 14): failover and leader
//! moves within the session timeout plus 5 s, RSS at most 64 MB per broker.
//!
//! ```text
//! scripts/partition_bench.sh                       # 10,000 partitions, release
//! scripts/partition_bench.sh --partitions 1000
//! cargo bench --bench partition_scale -- --partitions 1000   # by hand
//! ```
//! PARTITIONS=N works too; SLUICE_TEST_KEEP=1 keeps the brokers' files.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafka_protocol::messages::ElectLeadersRequest;

use common::cluster::*;
use common::cluster_view::*;
use common::*;

/// Partitions per topic; the topics are `parts-0`, `parts-1`, ...
const PER_TOPIC: i32 = 100;
/// zookeeper.session.timeout.ms of the brokers.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// The issue's target for a failover or a leader move, from the kill.
const TARGET: Duration = Duration::from_secs(6 + 5);
/// How long creating the topics may take (30,000 replicas' logs).
const SETUP_TIMEOUT: Duration = Duration::from_secs(1800);
/// How long one measured step may take before the bench gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(600);
/// The target resident set per broker.
const RSS_TARGET_KB: u64 = 64 * 1024;

fn partitions() -> i32 {
    let mut args = std::env::args().skip(1);
    let mut found = None;
    while let Some(arg) = args.next() {
        if arg == "--partitions" {
            found = args.next();
        } else if let Some(v) = arg.strip_prefix("--partitions=") {
            found = Some(v.to_owned());
        }
    }
    let value = found.or_else(|| std::env::var("PARTITIONS").ok());
    match value {
        Some(v) => v
            .parse()
            .unwrap_or_else(|e| panic!("--partitions {v:?}: {e}")),
        None => 10_000,
    }
}

/// The 1, 5 and 15 minute load averages.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}

/// VmRSS and VmHWM of `pid`, in kB.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Seconds of the day (UTC) now, as the brokers' log timestamps count.
fn wall_seconds() -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();
    now % 86_400.0
}

/// Each live broker's Metadata for `topics`, by broker id.
fn metadata_of(
    cluster: &TestCluster,
    live: &[i32],
    topics: &[&str],
    total: usize,
) -> Result<BTreeMap<i32, BrokerMetadata>, String> {
    let mut all = BTreeMap::new();
    for &id in live {
        let meta = fetch_metadata(port_of(cluster, id), topics)
            .map_err(|e| format!("broker {id}: Metadata failed: {e}"))?;
        if meta.partitions.len() != total {
            return Err(format!(
                "broker {id} knows {} of {total} partitions",
                meta.partitions.len()
            ));
        }
        all.insert(id, meta);
    }
    Ok(all)
}

/// Every partition's ISR holds all of `replicas` in every live broker's Metadata.
fn isr_holds(
    cluster: &TestCluster,
    live: &[i32],
    topics: &[&str],
    total: usize,
    replicas: &[i32],
) -> Result<(), String> {
    let mut problems = BTreeMap::new();
    for (id, meta) in metadata_of(cluster, live, topics, total)? {
        let short = meta
            .partitions
            .values()
            .filter(|p| !replicas.iter().all(|r| p.isr.contains(r)))
            .count();
        if short > 0 {
            problems.insert(id, short);
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "partitions whose ISR lacks one of {replicas:?}, per broker's Metadata: {problems:?}"
        )),
    }
}

/// No partition names `gone` as leader in any live broker's Metadata.
fn not_leading(
    cluster: &TestCluster,
    live: &[i32],
    topics: &[&str],
    total: usize,
    gone: i32,
) -> Result<(), String> {
    let mut problems = BTreeMap::new();
    for (id, meta) in metadata_of(cluster, live, topics, total)? {
        let led = meta
            .partitions
            .values()
            .filter(|p| p.leader == gone)
            .count();
        if led > 0 {
            problems.insert(id, led);
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "partitions led by {gone}, per broker's Metadata: {problems:?}"
        )),
    }
}

/// How many partitions each broker leads, in broker `at`'s Metadata.
fn leader_counts(cluster: &TestCluster, at: i32, topics: &[&str]) -> BTreeMap<i32, usize> {
    let meta = wait_until_ok("Metadata for the leader counts", STEP_TIMEOUT, || {
        fetch_metadata(port_of(cluster, at), topics)
    });
    let mut counts = BTreeMap::new();
    for p in meta.partitions.values() {
        *counts.entry(p.leader).or_default() += 1;
    }
    counts
}

/// Polls `check` until it passes; returns the seconds from `since` to the
/// start of the check that passed (asking three brokers about thousands of
/// partitions takes a moment itself).
fn measure(
    what: &str,
    since: Instant,
    timeout: Duration,
    mut check: impl FnMut() -> Result<(), String>,
) -> f64 {
    let mut seen_at = 0.0;
    wait_until_ok(what, timeout, || {
        seen_at = since.elapsed().as_secs_f64();
        check()
    });
    seen_at
}

/// What a thread polling ZooKeeper saw after a kill, in seconds from it.
#[derive(Default, Clone, Copy)]
struct ZkSeen {
    /// `/brokers/ids/<victim>` gone (the session expired).
    expired: Option<f64>,
    /// `/controller` names another live broker.
    new_controller: Option<f64>,
}

/// Polls ZooKeeper every 10 ms from `since` until `stop`: when the victim's
/// registration went, and when `/controller` named a broker other than
/// `old_controller` (if that is the victim).
fn watch_zk(
    chroot: String,
    victim: i32,
    old_controller: Option<i32>,
    since: Instant,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<ZkSeen> {
    thread::spawn(move || {
        let zk = zk(&chroot);
        let path = format!("/brokers/ids/{victim}");
        let mut seen = ZkSeen::default();
        while !stop.load(Ordering::Relaxed) {
            let at = since.elapsed().as_secs_f64();
            if seen.expired.is_none() && !zk.exists(&path) {
                seen.expired = Some(at);
            }
            if let Some(old) = old_controller
                && seen.new_controller.is_none()
                && controller(&chroot).is_some_and(|c| c != old)
            {
                seen.new_controller = Some(at);
            }
            thread::sleep(Duration::from_millis(10));
        }
        seen
    })
}

/// One row of the steps table.
struct Row {
    step: String,
    seconds: f64,
    target: String,
    load: String,
}

fn secs(s: Option<f64>) -> String {
    s.map_or("?".to_owned(), |s| format!("{s:.1}"))
}

/// The new controller's own timestamps of its failover, in seconds from
/// the kill (`killed_at`, seconds of the day): when it was elected, and the
/// last "elected new leader" and "removed dead replicas" lines.
fn controller_log_timeline(log: &str, killed_at: f64) -> String {
    let after = |needle: &str, first: bool| {
        let mut hits = log
            .lines()
            .filter(|l| l.contains(needle))
            .filter_map(log_line_seconds)
            .filter(|&s| s >= killed_at);
        let s = if first { hits.next() } else { hits.next_back() }?;
        Some(s - killed_at)
    };
    format!(
        "elected controller {}, first new leader {}, last new leader {}, last dead replica out of an ISR {}",
        secs(after("elected controller", true)),
        secs(after("elected new leader", true)),
        secs(after("elected new leader", false)),
        secs(after("removed dead replicas from the ISR", false)),
    )
}

/// ElectLeaders (preferred) for every partition, at the controller; then
/// waits until every live broker's Metadata shows every partition led by
/// its first replica. Returns the seconds it took.
fn elect_preferred(
    cluster: &mut TestCluster,
    controller_id: i32,
    topics: &[&str],
    total: usize,
) -> f64 {
    let started = Instant::now();
    let request = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_timeout_ms(STEP_TIMEOUT.as_millis() as i32)
        .with_topic_partitions(None);
    send_request_with_timeout(cluster.broker(controller_id), 2, &request, STEP_TIMEOUT);
    measure(
        "every partition led by its preferred replica",
        started,
        STEP_TIMEOUT,
        || {
            for (id, meta) in metadata_of(cluster, &ALL, topics, total)? {
                let off = meta
                    .partitions
                    .values()
                    .filter(|p| p.replicas.first() != Some(&p.leader))
                    .count();
                if off > 0 {
                    return Err(format!(
                        "broker {id}: {off} partitions not led by their preferred replica"
                    ));
                }
            }
            Ok(())
        },
    )
}

/// Starts `id` again and returns the seconds until every live broker's
/// Metadata shows it in every ISR.
fn restart_until_in_every_isr(
    cluster: &mut TestCluster,
    id: i32,
    topics: &[&str],
    total: usize,
) -> f64 {
    let started = Instant::now();
    cluster.broker(id).restart();
    measure(
        &format!("broker {id} back in every ISR"),
        started,
        STEP_TIMEOUT,
        || isr_holds(cluster, &ALL, topics, total, &[id]),
    )
}

/// The broker other than `controller_id` leading the most partitions.
fn busiest_follower_of_controller(
    cluster: &TestCluster,
    controller_id: i32,
    topics: &[&str],
) -> (i32, usize) {
    let counts = leader_counts(cluster, controller_id, topics);
    counts
        .into_iter()
        .filter(|(id, _)| *id != controller_id && ALL.contains(id))
        .max_by_key(|(_, n)| *n)
        .expect("a broker other than the controller leads something")
}

/// SIGTERM to `pid` without waiting (the bench watches the controlled
/// shutdown while it runs; the harness's `terminate` waits for the exit).
/// Through kill(1), so this file needs no unsafe code.
fn sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill(1)");
    assert!(status.success(), "kill -TERM {pid}: {status}");
}

fn memory_row(cluster: &TestCluster, when: &str) -> Vec<String> {
    cluster
        .brokers
        .iter()
        .map(|b| match memory(b.pid()) {
            Some((rss, hwm)) => format!(
                "| {when} | {} | {} | {:.1} | {:.1} | {} |",
                b.id(),
                b.pid(),
                rss as f64 / 1024.0,
                hwm as f64 / 1024.0,
                if rss <= RSS_TARGET_KB { "yes" } else { "no" }
            ),
            None => format!("| {when} | {} | {} | ? | ? | ? |", b.id(), b.pid()),
        })
        .collect()
}

fn main() {
    let total = partitions();
    let n = total as usize;
    let names = spread_topic_names("parts", total, PER_TOPIC);
    let topics: Vec<&str> = names.iter().map(String::as_str).collect();
    let load_at_start = load();
    eprintln!("partition_scale: {total} partitions, RF 3; load {load_at_start}");
    let mut cluster = start_cluster(
        "partition-scale",
        &[(
            "zookeeper.session.timeout.ms",
            &SESSION_TIMEOUT.as_millis().to_string(),
        )],
    );
    let chroot = cluster.chroot.clone();
    let mut rows: Vec<Row> = Vec::new();
    let mut row = |step: String, seconds: f64, target: &str| {
        eprintln!("{step}: {seconds:.1} s");
        rows.push(Row {
            step,
            seconds,
            target: target.to_owned(),
            load: load(),
        });
    };
    let target = format!("≤ {:.0}", TARGET.as_secs_f64());

    // 1. Creation.
    let first_controller = wait_until("a controller", FAILOVER_TIMEOUT, || controller(&chroot));
    let started = Instant::now();
    create_spread_topics(
        cluster.broker(first_controller),
        &names,
        total,
        PER_TOPIC,
        SETUP_TIMEOUT,
    );
    row(
        "create: CreateTopics answered".into(),
        started.elapsed().as_secs_f64(),
        "",
    );
    let led = measure(
        "every partition led after creation",
        started,
        SETUP_TIMEOUT,
        || led_by_live(&cluster, &ALL, &topics, n),
    );
    row(
        "create: a leader for every partition in every broker's Metadata".into(),
        led,
        "",
    );
    let full = measure(
        "every ISR full after creation",
        started,
        SETUP_TIMEOUT,
        || isr_holds(&cluster, &ALL, &topics, n, &ALL),
    );
    row(
        "create: every ISR full in every broker's Metadata".into(),
        full,
        "",
    );
    let mut memory_rows = memory_row(&cluster, "after creation");

    // 2. Controller failover.
    let old = first_controller;
    let live = others(&[old]);
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Instant::now();
    let killed_at = wall_seconds();
    cluster.broker(old).kill();
    let watcher = watch_zk(chroot.clone(), old, Some(old), killed, stop.clone());
    let took = measure(
        "every partition led after the controller's kill",
        killed,
        STEP_TIMEOUT,
        || led_by_live(&cluster, &live, &topics, n),
    );
    stop.store(true, Ordering::Relaxed);
    let seen = watcher.join().expect("ZooKeeper watcher");
    let new_controller = wait_until("a new controller", FAILOVER_TIMEOUT, || {
        controller(&chroot).filter(|c| *c != old)
    });
    let timeline = controller_log_timeline(&cluster.broker(new_controller).log_text(), killed_at);
    eprintln!("new controller {new_controller}'s log, seconds from the kill: {timeline}");
    row(
        format!(
            "controller failover (SIGKILL controller {old}): every partition led by a live broker, from the kill"
        ),
        took,
        &target,
    );
    row(
        format!(
            "controller failover: the same, from kill + session timeout ({} s)",
            SESSION_TIMEOUT.as_secs()
        ),
        took - SESSION_TIMEOUT.as_secs_f64(),
        "≤ 5",
    );
    row(
        format!(
            "controller failover: the same, from the registration seen gone ({} s after the kill)",
            secs(seen.expired)
        ),
        took - seen.expired.unwrap_or(f64::NAN),
        "",
    );
    row(
        format!(
            "controller failover: new controller {new_controller} in /controller, from the kill"
        ),
        seen.new_controller.unwrap_or(f64::NAN),
        "",
    );
    let back = restart_until_in_every_isr(&mut cluster, old, &topics, n);
    row(
        format!("controller failover: broker {old} restarted, back in every ISR"),
        back,
        "",
    );

    // 3. Leader moves off a SIGKILLed broker.
    let controller_id = new_controller;
    let spread = elect_preferred(&mut cluster, controller_id, &topics, n);
    row(
        "preferred election: every partition led by its first replica".into(),
        spread,
        "",
    );
    let (victim, leads) = busiest_follower_of_controller(&cluster, controller_id, &topics);
    let live = others(&[victim]);
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Instant::now();
    cluster.broker(victim).kill();
    let watcher = watch_zk(chroot.clone(), victim, None, killed, stop.clone());
    let took = measure(
        "every partition led after a broker's kill",
        killed,
        STEP_TIMEOUT,
        || led_by_live(&cluster, &live, &topics, n),
    );
    stop.store(true, Ordering::Relaxed);
    let seen = watcher.join().expect("ZooKeeper watcher");
    row(
        format!(
            "leader moves (SIGKILL broker {victim}, leading {leads}): every partition led by a live broker, from the kill"
        ),
        took,
        &target,
    );
    row(
        format!(
            "leader moves: the same, from kill + session timeout ({} s)",
            SESSION_TIMEOUT.as_secs()
        ),
        took - SESSION_TIMEOUT.as_secs_f64(),
        "≤ 5",
    );
    row(
        format!(
            "leader moves: the same, from the registration seen gone ({} s after the kill)",
            secs(seen.expired)
        ),
        took - seen.expired.unwrap_or(f64::NAN),
        "",
    );
    let back = restart_until_in_every_isr(&mut cluster, victim, &topics, n);
    row(
        format!("leader moves: broker {victim} restarted, back in every ISR"),
        back,
        "",
    );

    // 4. Controlled shutdown.
    let spread = elect_preferred(&mut cluster, controller_id, &topics, n);
    row(
        "preferred election: every partition led by its first replica".into(),
        spread,
        "",
    );
    let (stopping, leads) = busiest_follower_of_controller(&cluster, controller_id, &topics);
    let live = others(&[stopping]);
    let signalled = Instant::now();
    sigterm(cluster.broker(stopping).pid());
    let mut exited = None;
    let moved = measure(
        "no partition led by the broker in controlled shutdown",
        signalled,
        STEP_TIMEOUT,
        || {
            if exited.is_none() && !cluster.broker(stopping).is_running() {
                exited = Some(signalled.elapsed().as_secs_f64());
            }
            not_leading(&cluster, &live, &topics, n, stopping)
        },
    );
    let status = cluster.broker(stopping).wait_exit(STEP_TIMEOUT);
    let exited = exited.unwrap_or_else(|| signalled.elapsed().as_secs_f64());
    row(
        format!(
            "controlled shutdown (SIGTERM broker {stopping}, leading {leads}): no partition names it leader"
        ),
        moved,
        "",
    );
    row(
        format!("controlled shutdown: broker {stopping} exited ({status})"),
        exited,
        "",
    );
    let back = restart_until_in_every_isr(&mut cluster, stopping, &topics, n);
    row(
        format!("controlled shutdown: broker {stopping} restarted, back in every ISR"),
        back,
        "",
    );
    memory_rows.extend(memory_row(&cluster, "at the end"));

    println!(
        "\nPartitions at scale: {total} partitions (RF 3, {PER_TOPIC} per topic), 3 brokers, zookeeper.session.timeout.ms={}; load average at the start {load_at_start}",
        SESSION_TIMEOUT.as_millis()
    );
    println!("| step | seconds | target | load (1 5 15 min) |");
    println!("|---|---:|---:|---|");
    for r in &rows {
        println!(
            "| {} | {:.1} | {} | {} |",
            r.step, r.seconds, r.target, r.load
        );
    }
    println!("\nnew controller's log after the controller's kill (s from the kill): {timeline}");
    println!("\n| broker memory | broker | pid | VmRSS (MB) | VmHWM (MB) | RSS ≤ 64 MB |");
    println!("|---|---:|---:|---:|---:|---|");
    for line in &memory_rows {
        println!("{line}");
    }
    println!(
        "Metadata: a raw Metadata v9 to each live broker alone; a measured time is when the check that first passed started. Restarted brokers are new processes: their VmHWM covers their own life only."
    );
}
