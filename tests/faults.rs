//! The fault-injection suite, in the spirit of Jepsen and of Kafka's
//! ducktape replication tests: a real three-broker cluster under a real
//! librdkafka workload, a nemesis injecting faults drawn from a seeded RNG,
//! and a checker that compares what clients were told with what the
//! cluster holds once the faults have healed.
//!
//! - Cluster (`faults/cluster.rs`): this binary's own ZooKeeper server
//!   (which the nemesis crashes and restarts), three brokers, each behind a
//!   ZooKeeper-aware proxy on its ZooKeeper link and a delay-capable proxy in
//!   front of its inter-broker (INTERNAL) listener.
//! - Workload (`faults/workload.rs`): an idempotent acks=all producer
//!   writing unique values with a per-partition sequence to a topic with
//!   RF 3, min.insync.replicas=2 and 6 partitions; a group of 3 consumers
//!   committing every 500 ms.
//! - Faults (`faults/nemesis.rs`): SIGKILL of a partition leader, of the
//!   controller, of a random broker; SIGSTOP past the ZooKeeper session;
//!   SIGTERM; a cut ZooKeeper link, plain or right after an ISR update or a
//!   controller election multi was applied but before its reply; a crashed
//!   ZooKeeper server; a slow link into one broker. One at a time: each is
//!   held, healed, and the recovery timed.
//! - Checks (`faults/checker.rs`, fed by `faults/probes.rs`): every
//!   acknowledged record readable at its offset, no duplicates, order kept
//!   per partition, replicas identical below the high watermark, consumed
//!   records really in the log, committed offsets never backwards (polled in
//!   ZooKeeper every 200 ms), never two brokers claiming the group at once
//!   (DescribeGroups to every broker every 100 ms), metadata agreeing with
//!   ZooKeeper at the end.
//! - The end (`faults/final_check.rs`): everything healed, the workload
//!   stopped, full ISRs awaited, every partition read back, every check run.
//! - Report (`faults/report.rs`): faults by kind with recovery p50 / max,
//!   and every check's count; written to `target/tmp/faults-<seed>-*.md`.
//!   Checks of the checker itself: `faults/checker_tests.rs`.
//!
//! CI runs [`CI_FAULTS`] faults with [`CI_SEED`]. `scripts/faults.sh` runs
//! longer ones: SLUICE_FAULTS (count), SLUICE_FAULT_SEED (seed),
//! SLUICE_FAULT_KINDS (comma-separated kind names, default all),
//! SLUICE_FAULT_CONTINUE=1 (go on after a fault the cluster did not recover
//! from; by default the run stops injecting there and checks).

mod common;

#[path = "faults/checker.rs"]
mod checker;
#[path = "faults/checker_tests.rs"]
mod checker_tests;
#[path = "faults/cluster.rs"]
mod cluster;
#[path = "faults/final_check.rs"]
mod final_check;
#[path = "faults/nemesis.rs"]
mod nemesis;
#[path = "faults/probes.rs"]
mod probes;
#[path = "faults/report.rs"]
mod report;
#[path = "faults/workload.rs"]
mod workload;

use std::fs;
use std::thread;

use cluster::{BROKERS, FaultCluster};
use common::{test_tmp_root, zk_connect};
use nemesis::{FaultKind, Nemesis, RECOVERY_TIMEOUT, schedule};
use probes::{CoordinatorProbe, OffsetPoller};
use report::{RunInfo, Timeline, failed, render};
use workload::{ConsumerGroup, Producer};

/// The seed and length of the CI run.
const CI_SEED: u64 = 20_251_011;
const CI_FAULTS: usize = 10;
const TOPIC: &str = "faults";
const PARTITIONS: i32 = 6;
const GROUP: &str = "faults-group";
const MEMBERS: usize = 3;

/// What to run: from SLUICE_FAULTS, SLUICE_FAULT_SEED, SLUICE_FAULT_KINDS.
struct Settings {
    seed: u64,
    faults: usize,
    kinds: Vec<FaultKind>,
    /// Go on after a fault the cluster did not recover from.
    keep_going: bool,
}

fn settings() -> Settings {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let seed = var("SLUICE_FAULT_SEED").map_or(CI_SEED, |s| {
        s.trim()
            .parse()
            .unwrap_or_else(|e| panic!("SLUICE_FAULT_SEED={s:?}: {e}"))
    });
    let faults = var("SLUICE_FAULTS").map_or(CI_FAULTS, |s| {
        s.trim()
            .parse()
            .unwrap_or_else(|e| panic!("SLUICE_FAULTS={s:?}: {e}"))
    });
    let kinds = var("SLUICE_FAULT_KINDS").map_or(FaultKind::ALL.to_vec(), |s| {
        s.split(',')
            .map(|k| {
                FaultKind::from_name(k.trim()).unwrap_or_else(|| {
                    panic!(
                        "SLUICE_FAULT_KINDS: unknown kind {k:?}; known: {}",
                        FaultKind::ALL.map(FaultKind::name).join(",")
                    )
                })
            })
            .collect()
    });
    let keep_going = var("SLUICE_FAULT_CONTINUE").is_some_and(|v| v != "0");
    Settings {
        seed,
        faults,
        kinds,
        keep_going,
    }
}

#[test]
fn a_seeded_run_of_faults_keeps_every_guarantee() {
    let s = settings();
    let plans = schedule(s.seed, s.faults, &s.kinds);
    let mut timeline = Timeline::new();
    timeline.log(format!(
        "seed {} with {} faults (reproduce: scripts/faults.sh --faults {} --seed {})",
        s.seed, s.faults, s.faults, s.seed
    ));
    for (i, plan) in plans.iter().enumerate() {
        timeline.log(format!("  plan #{}: {plan}", i + 1));
    }

    let mut fc = FaultCluster::start("faults", TOPIC, PARTITIONS);
    let ports: Vec<(i32, u16)> = BROKERS
        .iter()
        .map(|&id| (id, fc.broker(id).port()))
        .collect();
    let probe = CoordinatorProbe::start(&ports, GROUP);
    let poller = OffsetPoller::start(&zk_connect(fc.chroot()), GROUP, TOPIC, PARTITIONS);
    let producer = Producer::start(&fc.bootstrap(), TOPIC, PARTITIONS);
    let group = ConsumerGroup::start(&fc.bootstrap(), GROUP, TOPIC, MEMBERS);
    timeline.log(format!(
        "cluster up (chroot {}), workload started",
        fc.chroot()
    ));

    let mut records = Vec::new();
    {
        let mut nemesis = Nemesis {
            fc: &mut fc,
            producer: &producer,
            timeline: &mut timeline,
        };
        let start = nemesis.timeline.now();
        if let Err(problems) = nemesis.wait_recovered(start, RECOVERY_TIMEOUT) {
            panic!(
                "the workload did not get going before any fault: {}",
                problems.join("; ")
            );
        }
        nemesis
            .timeline
            .log("steady: acknowledgements on every partition".into());
        for (i, plan) in plans.iter().enumerate() {
            let record = nemesis.run(i + 1, plan);
            let stuck = record.recovered.is_none();
            records.push(record);
            if stuck && !s.keep_going {
                nemesis.timeline.log(format!(
                    "stopping: fault #{} did not recover, the remaining {} faults are skipped",
                    i + 1,
                    plans.len() - i - 1
                ));
                break;
            }
            thread::sleep(plan.quiet);
        }
    }

    let verdict = final_check::run(
        &mut fc,
        &mut timeline,
        &records,
        final_check::Observers {
            producer,
            group,
            poller,
            probe,
        },
    );
    let info = RunInfo {
        seed: s.seed,
        planned: plans.len(),
        topic: TOPIC.to_owned(),
        partitions: PARTITIONS,
        members: MEMBERS,
        elapsed: timeline.start.elapsed(),
    };
    let report = render(&info, &records, &verdict);
    let path = test_tmp_root().join(format!("faults-{}-{}.md", s.seed, std::process::id()));
    let file = format!(
        "{report}\nTimeline:\n\n```\n{}\n```\n",
        timeline.lines.join("\n")
    );
    fs::write(&path, file).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    eprintln!("\n{report}\nreport and timeline: {}", path.display());
    assert!(
        !failed(&records, &verdict),
        "the fault-injection run (seed {}) broke a guarantee; broker logs are kept (see above), \
         report in {}:\n\n{report}",
        s.seed,
        path.display()
    );
}
