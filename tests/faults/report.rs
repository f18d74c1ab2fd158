//! The run's record and its report: a timeline of what the nemesis did
//! (printed as it happens, seconds since the start), one [`FaultRecord`] per
//! fault, and the final tables (markdown): faults by kind with their
//! recovery times (p50 / max, from the heal to a live leader for every
//! partition in every live broker's metadata and acknowledgements on every
//! partition again), and every check's count, followed by the details of
//! each violation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::nemesis::FaultKind;

/// What happened when, printed to stderr as it happens and kept for the
/// report file.
pub struct Timeline {
    pub start: Instant,
    pub lines: Vec<String>,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            lines: Vec::new(),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::now()
    }

    /// Seconds since the start of `at`.
    pub fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64()
    }

    pub fn log(&mut self, line: String) {
        let stamped = format!("[{:>8.3} s] {line}", self.secs(Instant::now()));
        eprintln!("faults: {stamped}");
        self.lines.push(stamped);
    }
}

/// One fault as it went.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    pub index: usize,
    pub kind: FaultKind,
    pub injected: Instant,
    pub healed: Option<Instant>,
    pub recovered: Option<Instant>,
    /// What the nemesis did, step by step.
    pub notes: Vec<String>,
    /// Steps that went wrong (a broker that did not restart, a SIGTERM that
    /// did not exit 0, ...).
    pub failed_steps: Vec<String>,
    /// When not recovered: what was still wrong at the deadline.
    pub unrecovered: Vec<String>,
}

impl FaultRecord {
    pub fn new(index: usize, kind: FaultKind, injected: Instant) -> FaultRecord {
        FaultRecord {
            index,
            kind,
            injected,
            healed: None,
            recovered: None,
            notes: Vec::new(),
            failed_steps: Vec::new(),
            unrecovered: Vec::new(),
        }
    }

    pub fn step_failed(&mut self, what: String) {
        self.failed_steps.push(what);
    }

    pub fn recovery(&self) -> Option<Duration> {
        Some(self.recovered? - self.healed?)
    }
}

/// The counts of every check, and the lines explaining each nonzero one.
#[derive(Debug, Default)]
pub struct Verdict {
    pub acked: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub foreign: u64,
    pub unacked_present: u64,
    pub acked_without_offset: u64,
    pub delivery_errors: u64,
    pub producer_fatal: u64,
    pub unsettled: u64,
    pub consumed: u64,
    pub consumed_not_in_log: u64,
    pub commits: u64,
    pub failed_commits: u64,
    pub divergent_replicas: u64,
    pub lagging_replicas: u64,
    pub unreadable_partitions: u64,
    pub backwards_commits: u64,
    pub coordinator_probes: u64,
    pub coordinator_overlaps: u64,
    pub metadata_disagreements: u64,
    /// (check name, explanation) of every violation.
    pub details: Vec<(String, String)>,
}

impl Verdict {
    pub fn detail(&mut self, check: &str, line: impl Into<String>) {
        self.details.push((check.to_owned(), line.into()));
    }
}

/// `q`-quantile (0..=1, nearest rank) of sorted `values`.
fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
}

/// The row of the faults table for `records`.
fn fault_row(name: &str, records: &[&FaultRecord]) -> String {
    let mut times: Vec<Duration> = records.iter().filter_map(|r| r.recovery()).collect();
    times.sort();
    let failed_steps: usize = records.iter().map(|r| r.failed_steps.len()).sum();
    format!(
        "| {name} | {} | {} | {} | {} | {failed_steps} |",
        records.len(),
        times.len(),
        secs(quantile(&times, 0.5)),
        secs(times.last().copied())
    )
}

/// The header of the report: what ran.
pub struct RunInfo {
    pub seed: u64,
    pub planned: usize,
    pub topic: String,
    pub partitions: i32,
    pub members: usize,
    pub elapsed: Duration,
}

/// The whole report, markdown.
pub fn render(info: &RunInfo, records: &[FaultRecord], verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Fault-injection run: seed {}, {} of {} faults run, 3 brokers, topic {} ({} partitions, \
         RF 3, min.insync.replicas=2), {} group members, {:.0} s\n",
        info.seed,
        records.len(),
        info.planned,
        info.topic,
        info.partitions,
        info.members,
        info.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| fault | count | recovered | recovery p50 | recovery max | failed steps |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    let mut by_kind: BTreeMap<FaultKind, Vec<&FaultRecord>> = BTreeMap::new();
    for r in records {
        by_kind.entry(r.kind).or_default().push(r);
    }
    for (kind, list) in &by_kind {
        let _ = writeln!(out, "{}", fault_row(kind.name(), list));
    }
    let all: Vec<&FaultRecord> = records.iter().collect();
    let _ = writeln!(out, "{}\n", fault_row("**all**", &all));

    let v = verdict;
    let rows: Vec<(&str, u64, bool)> = vec![
        ("records acknowledged", v.acked, false),
        ("acknowledged records lost", v.lost, true),
        ("records duplicated", v.duplicated, true),
        ("records reordered", v.reordered, true),
        ("records in the wrong partition", v.foreign, true),
        (
            "partitions unreadable at the end",
            v.unreadable_partitions,
            true,
        ),
        ("divergent replicas", v.divergent_replicas, true),
        ("replicas behind at the end", v.lagging_replicas, true),
        (
            "consumed records not in the final log",
            v.consumed_not_in_log,
            true,
        ),
        (
            "committed offsets moved backwards",
            v.backwards_commits,
            true,
        ),
        ("coordinator overlaps", v.coordinator_overlaps, true),
        (
            "metadata disagreeing with ZooKeeper at the end",
            v.metadata_disagreements,
            true,
        ),
        ("producer fatal errors", v.producer_fatal, true),
        ("sends unsettled at the end", v.unsettled, true),
        (
            "stored but not acknowledged (allowed)",
            v.unacked_present,
            false,
        ),
        (
            "acknowledged without an offset (checked by value)",
            v.acked_without_offset,
            false,
        ),
        ("delivery errors (allowed)", v.delivery_errors, false),
        ("records consumed", v.consumed, false),
        ("offset commits", v.commits, false),
        ("failed commits (allowed)", v.failed_commits, false),
        ("coordinator probes", v.coordinator_probes, false),
    ];
    let _ = writeln!(out, "| check | count |");
    let _ = writeln!(out, "|---|---:|");
    for (name, count, is_violation) in rows {
        let mark = if is_violation && count > 0 {
            " **FAIL**"
        } else {
            ""
        };
        let _ = writeln!(out, "| {name} | {count}{mark} |");
    }
    let unrecovered: Vec<&FaultRecord> = records.iter().filter(|r| r.recovered.is_none()).collect();
    let failed: Vec<&FaultRecord> = records
        .iter()
        .filter(|r| !r.failed_steps.is_empty())
        .collect();
    if !v.details.is_empty() || !unrecovered.is_empty() || !failed.is_empty() {
        let _ = writeln!(out, "\nViolations:");
        for r in unrecovered {
            let carried = if r
                .notes
                .iter()
                .any(|n| n.starts_with("injected while still not recovered"))
            {
                " (injected while an earlier fault had not recovered)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "- fault #{} {} not recovered within the deadline{carried}: {}",
                r.index,
                r.kind,
                r.unrecovered.join("; ")
            );
        }
        for r in failed {
            for step in &r.failed_steps {
                let _ = writeln!(out, "- fault #{} {}: failed step: {step}", r.index, r.kind);
            }
        }
        for (check, line) in &v.details {
            let _ = writeln!(out, "- {check}: {line}");
        }
    }
    out
}

/// True if the run broke a guarantee (or a fault did not heal).
pub fn failed(records: &[FaultRecord], v: &Verdict) -> bool {
    let violations = v.lost
        + v.duplicated
        + v.reordered
        + v.foreign
        + v.unreadable_partitions
        + v.divergent_replicas
        + v.lagging_replicas
        + v.consumed_not_in_log
        + v.backwards_commits
        + v.coordinator_overlaps
        + v.metadata_disagreements
        + v.producer_fatal
        + v.unsettled;
    violations > 0
        || records
            .iter()
            .any(|r| r.recovered.is_none() || !r.failed_steps.is_empty())
}
