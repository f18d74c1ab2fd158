//! The end of a run: heal everything, let the workload run on briefly, stop
//! it and the observers, wait for full replication, read every partition
//! back, and run every check into a [`Verdict`] (each violation explained:
//! partition, offsets, and the fault that was going on at the time).

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;

use crate::checker::{
    RecordFindings, check_records, claim_runs, compare_replicas, consumed_not_in_log, overlaps,
};
use crate::cluster::{BROKERS, FaultCluster, catch};
use crate::common::ack_stream::{read_partition, replica_log_bytes};
use crate::common::cluster::wait_fully_replicated;
use crate::common::cluster_view::assert_metadata_agrees;
use crate::common::{base_consumer, zookeeper};
use crate::nemesis::{Nemesis, RECOVERY_TIMEOUT};
use crate::probes::{CoordinatorProbe, OffsetPoller};
use crate::report::{FaultRecord, Timeline, Verdict};
use crate::workload::{ConsumerGroup, Producer};

/// Acknowledgements wanted after the last heal before the workload stops.
const FINAL_ACKS: usize = 200;
/// How long the replicas may take to converge once the producer stopped.
const CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(60);

/// The workload and the observers, handed over to be stopped.
pub struct Observers {
    pub producer: Producer,
    pub group: ConsumerGroup,
    pub poller: OffsetPoller,
    pub probe: CoordinatorProbe,
}

/// "during fault #3 kill-leader" or "2.1 s after fault #3 kill-leader
/// recovered", for an instant.
fn during(records: &[FaultRecord], timeline: &Timeline, at: Instant) -> String {
    let when = format!("at {:.3} s", timeline.secs(at));
    let end = |r: &FaultRecord| {
        r.recovered
            .or(r.healed.map(|h| h + RECOVERY_TIMEOUT))
            .unwrap_or(at)
    };
    if let Some(r) = records.iter().find(|r| r.injected <= at && at <= end(r)) {
        return format!("{when}, during fault #{} {}", r.index, r.kind);
    }
    match records.iter().rev().find(|r| end(r) < at) {
        Some(r) => format!(
            "{when}, {:.1} s after fault #{} {} recovered",
            (at - end(r)).as_secs_f64(),
            r.index,
            r.kind
        ),
        None => format!("{when}, before the first fault"),
    }
}

pub fn run(
    fc: &mut FaultCluster,
    timeline: &mut Timeline,
    records: &[FaultRecord],
    obs: Observers,
) -> Verdict {
    let mut v = Verdict::default();
    timeline.log("final: healing everything".into());
    fc.heal_network();
    if zookeeper().is_down() {
        zookeeper().start_again();
    }
    for problem in fc.heal_processes() {
        v.detail("final heal", problem);
    }
    {
        let nemesis = Nemesis {
            fc,
            producer: &obs.producer,
            timeline,
        };
        let healed = Instant::now();
        match nemesis.wait_recovered(healed, RECOVERY_TIMEOUT) {
            Ok(at) => {
                let secs = (at - healed).as_secs_f64();
                nemesis
                    .timeline
                    .log(format!("final: recovered in {secs:.1} s"));
                // A little more traffic on the healed cluster.
                let target = obs.producer.acked_count() + FINAL_ACKS;
                let deadline = Instant::now() + RECOVERY_TIMEOUT;
                while obs.producer.acked_count() < target && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(100));
                }
            }
            Err(problems) => {
                v.detail("final recovery", problems.join("; "));
                nemesis.timeline.log("final: NOT RECOVERED".into());
            }
        }
    }

    timeline.log("final: stopping the producer".into());
    let produced = obs.producer.finish();
    timeline.log("final: stopping the group and the observers".into());
    let members = obs.group.finish();
    let offsets = obs.poller.finish();
    let probes = obs.probe.finish();

    timeline.log(format!(
        "final: producer sent {}, acknowledged {}, {} delivery errors (first: {:?})",
        produced.sent,
        produced.acked_count(),
        produced.error_count,
        produced.errors.iter().take(3).collect::<Vec<_>>()
    ));
    for (i, m) in members.iter().enumerate() {
        timeline.log(format!(
            "final: member {i} consumed {}, {} commits ({} failed), first errors {:?}",
            m.consumed.len(),
            m.commits_ok,
            m.commits_failed,
            m.errors.iter().take(3).collect::<Vec<_>>()
        ));
    }
    v.acked = produced.acked_count() as u64;
    v.delivery_errors = produced.error_count;
    v.unsettled = produced.unsettled;
    v.producer_fatal = produced.fatal.len() as u64;
    for f in &produced.fatal {
        v.detail("producer fatal error", f.clone());
    }
    if produced.unsettled > 0 {
        v.detail(
            "producer",
            format!(
                "{} sends neither acknowledged nor failed at the end",
                produced.unsettled
            ),
        );
    }

    timeline.log("final: waiting for full ISRs".into());
    let topic = fc.topic.clone();
    if let Err(e) = catch(|| wait_fully_replicated(&fc.cluster, &topic, "at the end")) {
        v.lagging_replicas += 1;
        v.detail("full ISR at the end", e);
    }

    // Read every partition back through librdkafka.
    timeline.log("final: reading every partition".into());
    let bootstrap = fc.bootstrap();
    let mut logs: BTreeMap<i32, BTreeMap<i64, String>> = BTreeMap::new();
    let mut high_watermarks: BTreeMap<i32, i64> = BTreeMap::new();
    let mut findings = RecordFindings::default();
    let empty = BTreeMap::new();
    for p in fc.partition_ids() {
        let read = catch(|| {
            let hw = high_watermark(&bootstrap, &topic, p)?;
            Ok::<_, String>((hw, read_partition(&bootstrap, &topic, p)))
        });
        let (hw, log) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(e)) | Err(e) => {
                v.unreadable_partitions += 1;
                v.detail("read back", format!("{topic}-{p}: {e}"));
                continue;
            }
        };
        let acked = produced.acked.get(&p).unwrap_or(&empty);
        let found = check_records(p, &log, acked);
        findings.add(&found);
        high_watermarks.insert(p, hw);
        logs.insert(p, log.into_iter().collect());
    }
    v.lost = findings.lost;
    v.duplicated = findings.duplicated;
    v.reordered = findings.reordered;
    v.foreign = findings.foreign;
    v.unacked_present = findings.unacked_present;
    v.acked_without_offset = findings.acked_without_offset;
    for e in &findings.examples {
        v.detail("records", e.clone());
    }

    // The replicas' stored batches, once they had time to converge.
    timeline.log("final: comparing replicas".into());
    let compare = |fc: &FaultCluster| {
        high_watermarks
            .iter()
            .map(|(&p, &hw)| {
                let bytes: BTreeMap<i32, Vec<u8>> = BROKERS
                    .iter()
                    .map(|&id| {
                        let broker = &fc.cluster.brokers[(id - 1) as usize];
                        (id, replica_log_bytes(broker, &topic, p))
                    })
                    .collect();
                (p, compare_replicas(&bytes, hw))
            })
            .collect::<BTreeMap<_, _>>()
    };
    let deadline = Instant::now() + CONVERGENCE_TIMEOUT;
    let mut comparison = compare(fc);
    while Instant::now() < deadline
        && comparison
            .values()
            .any(|c| !c.divergent.is_empty() || !c.lagging.is_empty())
    {
        thread::sleep(Duration::from_millis(500));
        comparison = compare(fc);
    }
    for (p, c) in &comparison {
        v.divergent_replicas += c.divergent.len() as u64;
        v.lagging_replicas += c.lagging.len() as u64;
        for line in &c.divergent {
            v.detail("divergent replica", format!("{topic}-{p}: {line}"));
        }
        for line in &c.lagging {
            v.detail("replica behind", format!("{topic}-{p}: {line}"));
        }
    }

    // What the group read and committed.
    let consumed: Vec<(i32, i64, String)> = members
        .iter()
        .flat_map(|m| m.consumed.iter().cloned())
        .collect();
    v.consumed = consumed.len() as u64;
    v.commits = members.iter().map(|m| m.commits_ok).sum();
    v.failed_commits = members.iter().map(|m| m.commits_failed).sum();
    let read_partitions: Vec<(i32, i64, String)> = consumed
        .into_iter()
        .filter(|(p, _, _)| logs.contains_key(p))
        .collect();
    let (phantoms, examples) = consumed_not_in_log(&read_partitions, &logs);
    v.consumed_not_in_log = phantoms;
    for e in examples {
        v.detail("consumed but not in the log", e);
    }
    v.backwards_commits = offsets.backwards.len() as u64;
    for b in &offsets.backwards {
        v.detail(
            "committed offset backwards",
            format!(
                "{topic}-{}: {} -> {} ({})",
                b.partition,
                b.from,
                b.to,
                during(records, timeline, b.at)
            ),
        );
    }
    timeline.log(format!(
        "final: {} offset polls ({} failed, {} changes), last committed {:?}",
        offsets.polls, offsets.failed_polls, offsets.changes, offsets.last
    ));

    v.coordinator_probes = probes.values().map(|p| p.len() as u64).sum();
    let runs = claim_runs(&probes);
    let both = overlaps(&runs);
    v.coordinator_overlaps = both.len() as u64;
    for (a, b) in &both {
        v.detail(
            "coordinator overlap",
            format!(
                "broker {} claimed the group from {:.3} s to {:.3} s ({} probes, {:?}) while broker {} \
                 claimed it from {:.3} s to {:.3} s ({} probes, {:?}); started {}",
                a.broker,
                timeline.secs(a.first_sent),
                timeline.secs(a.last_received),
                a.probes,
                a.states,
                b.broker,
                timeline.secs(b.first_sent),
                timeline.secs(b.last_received),
                b.probes,
                b.states,
                during(records, timeline, a.first_sent.max(b.first_sent))
            ),
        );
    }
    timeline.log(format!(
        "final: {} coordinator claim runs: {}",
        runs.len(),
        runs.iter()
            .map(|r| format!(
                "broker {} {:.1}-{:.1} s",
                r.broker,
                timeline.secs(r.first_sent),
                timeline.secs(r.last_received)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    if let Err(e) = catch(|| assert_metadata_agrees(&fc.cluster, &BROKERS, &[&topic], "at the end"))
    {
        v.metadata_disagreements += 1;
        v.detail("metadata at the end", e);
    }
    v
}

/// The high watermark of `topic`-`partition`, asked through librdkafka.
fn high_watermark(bootstrap: &str, topic: &str, partition: i32) -> Result<i64, String> {
    let consumer = base_consumer(bootstrap, "faults-checker");
    consumer
        .fetch_watermarks(topic, partition, Duration::from_secs(30))
        .map(|(_, high)| high)
        .map_err(|e| format!("watermarks: {e}"))
}
