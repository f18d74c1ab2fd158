//! Failover at scale (issue "Safety under faults", scale variant): 3,000
//! partitions at replication factor 3 on three brokers. The controller is
//! SIGKILLed, then another broker: after each kill, every partition must be
//! led by a live broker in every live broker's metadata within the
//! ZooKeeper session timeout plus 10 s. The time each step took is printed
//! (a table on stderr; `--nocapture` shows it); only the bound is
//! asserted. Loop it to look for rare failures, e.g.
//! `for i in $(seq 10); do cargo test --test scale_failover -- --nocapture; done`.
//!
//! SCALE_PARTITIONS overrides the partition count (default 3000).

mod common;

use std::time::{Duration, Instant};

use common::cluster::*;
use common::cluster_view::*;
use common::*;

/// Partitions per topic; the topics are `scale-0`, `scale-1`, ...
const PER_TOPIC: i32 = 100;
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// The bound for each failover step.
const FAILOVER_BOUND: Duration = Duration::from_secs(6 + 10);
/// How long creating the topics (state znodes, 9,000 replicas' logs) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);

fn partitions() -> i32 {
    std::env::var("SCALE_PARTITIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// Waits (up to `bound`) until every partition has a live leader in every
/// live broker's metadata; returns the time it took (until the check that
/// first saw it started: asking three brokers for 3,000 partitions takes a
/// moment itself).
fn measure(
    cluster: &TestCluster,
    live: &[i32],
    topics: &[&str],
    total: usize,
    since: Instant,
    bound: Duration,
    step: &str,
) -> Duration {
    let mut seen_at = Duration::ZERO;
    wait_until_ok(step, bound.saturating_sub(since.elapsed()), || {
        seen_at = since.elapsed();
        led_by_live(cluster, live, topics, total)
    });
    assert!(
        seen_at <= bound,
        "{step}: took {seen_at:?}, more than {bound:?}"
    );
    seen_at
}

/// Waits until broker `at`'s metadata shows every one of `replicas` in the
/// ISR of every partition.
fn wait_full_isr(cluster: &TestCluster, at: i32, topics: &[&str], replicas: &[i32]) {
    wait_until_ok(
        &format!("every partition's ISR to hold {replicas:?}"),
        SETUP_TIMEOUT,
        || {
            let meta = fetch_metadata(port_of(cluster, at), topics)?;
            let short = meta
                .partitions
                .values()
                .filter(|p| !replicas.iter().all(|r| p.isr.contains(r)))
                .count();
            if short == 0 {
                Ok(())
            } else {
                Err(format!("{short} partitions with a short ISR"))
            }
        },
    );
}

#[test]
fn every_partition_gets_a_live_leader_after_the_controller_then_a_broker_dies() {
    let total = partitions();
    let names = spread_topic_names("scale", total, PER_TOPIC);
    let topic_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut steps: Vec<(String, Duration)> = Vec::new();
    let mut cluster = start_cluster(
        "scale-failover",
        &[("zookeeper.session.timeout.ms", "6000")],
    );

    let started = Instant::now();
    let controller_id = wait_until("a controller", FAILOVER_TIMEOUT, || {
        controller(&cluster.chroot)
    });
    create_spread_topics(
        cluster.broker(controller_id),
        &names,
        total,
        PER_TOPIC,
        SETUP_TIMEOUT,
    );
    measure(
        &cluster,
        &ALL,
        &topic_refs,
        total as usize,
        started,
        SETUP_TIMEOUT,
        "every partition to have a leader after creation",
    );
    wait_full_isr(&cluster, controller_id, &topic_refs, &ALL);
    steps.push((
        format!("create {total} partitions (RF 3)"),
        started.elapsed(),
    ));

    // The controller dies.
    let killed = Instant::now();
    cluster.broker(controller_id).kill();
    let live = others(&[controller_id]);
    let took = measure(
        &cluster,
        &live,
        &topic_refs,
        total as usize,
        killed,
        FAILOVER_BOUND,
        &format!(
            "every partition led by a live broker after controller {controller_id} was killed"
        ),
    );
    steps.push((format!("SIGKILL controller {controller_id}"), took));
    eprintln!(
        "controller {controller_id} killed: every partition led by a live broker after {:.1} s",
        took.as_secs_f64()
    );
    let new_controller = wait_until("a new controller", FAILOVER_TIMEOUT, || {
        controller(&cluster.chroot).filter(|c| *c != controller_id)
    });

    // Every partition's ISR must hold both survivors again (lagging
    // followers may have left it meanwhile), or killing one of them leaves
    // partitions without a clean leader, as Kafka would.
    let rejoined = Instant::now();
    wait_full_isr(&cluster, new_controller, &topic_refs, &live);
    steps.push(("survivors back in every ISR".to_owned(), rejoined.elapsed()));

    // Then another broker (not the new controller).
    let victim = *live.iter().find(|&&b| b != new_controller).unwrap();
    let killed = Instant::now();
    cluster.broker(victim).kill();
    let live = others(&[controller_id, victim]);
    let took = measure(
        &cluster,
        &live,
        &topic_refs,
        total as usize,
        killed,
        FAILOVER_BOUND,
        &format!("every partition led by broker {new_controller} after broker {victim} was killed"),
    );
    steps.push((format!("SIGKILL broker {victim}"), took));

    eprintln!("\nscale failover: {total} partitions, RF 3, session timeout {SESSION_TIMEOUT:?}");
    eprintln!("| step | seconds |\n|---|---|");
    for (step, took) in &steps {
        eprintln!("| {step} | {:.1} |", took.as_secs_f64());
    }
}
