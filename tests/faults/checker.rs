//! The checks, as pure functions over what the run recorded: each
//! partition's final log against the producer's acknowledgements (lost,
//! duplicated, reordered), what the group consumed against the final logs,
//! the replicas' stored batches against each other, and the coordinator
//! probes (two brokers claiming the group at once).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::probes::{Answer, Probe};
use crate::workload::parse_value;

/// At most this many example lines per problem kind.
const EXAMPLES: usize = 10;

/// What the records check found in one partition.
#[derive(Debug, Default, Clone)]
pub struct RecordFindings {
    /// Acknowledged records not at their acknowledged offset.
    pub lost: u64,
    /// Records stored more than once.
    pub duplicated: u64,
    /// Records stored after a record with a higher sequence number.
    pub reordered: u64,
    /// Records that belong to another partition or are not the workload's.
    pub foreign: u64,
    /// Records stored although their produce was not acknowledged (allowed:
    /// a write can succeed after its acknowledgement was lost).
    pub unacked_present: u64,
    /// Acknowledgements without an offset (librdkafka's implicit acks: a
    /// batch whose answer was lost, acknowledged by a later batch's success;
    /// checked by value instead).
    pub acked_without_offset: u64,
    pub examples: Vec<String>,
}

impl RecordFindings {
    fn example(&mut self, line: String) {
        if self.examples.len() < EXAMPLES {
            self.examples.push(line);
        }
    }

    pub fn add(&mut self, other: &RecordFindings) {
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.foreign += other.foreign;
        self.unacked_present += other.unacked_present;
        self.acked_without_offset += other.acked_without_offset;
        for e in &other.examples {
            self.example(e.clone());
        }
    }
}

/// Checks `log` ((offset, value) in offset order) of `partition` against
/// `acked` (seq -> acknowledged offset; negative: acknowledged without one,
/// then it must be stored somewhere).
pub fn check_records(
    partition: i32,
    log: &[(i64, String)],
    acked: &BTreeMap<u64, i64>,
) -> RecordFindings {
    let mut found = RecordFindings::default();
    let by_offset: BTreeMap<i64, &str> = log.iter().map(|(o, v)| (*o, v.as_str())).collect();
    let mut where_stored: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    let mut highest: Option<u64> = None;
    for (offset, value) in log {
        match parse_value(value) {
            Some((p, seq)) if p == partition => {
                let copies = where_stored.entry(seq).or_default();
                copies.push(*offset);
                if copies.len() > 1 {
                    found.duplicated += 1;
                    found.example(format!(
                        "p{partition}: {value:?} stored twice, at offsets {copies:?}"
                    ));
                } else if highest.is_some_and(|h| seq < h) {
                    found.reordered += 1;
                    found.example(format!(
                        "p{partition}: {value:?} at offset {offset} after seq {} (order not kept)",
                        highest.unwrap_or_default()
                    ));
                }
                highest = highest.max(Some(seq));
                if !acked.contains_key(&seq) {
                    found.unacked_present += 1;
                }
            }
            _ => {
                found.foreign += 1;
                found.example(format!(
                    "p{partition}: {value:?} at offset {offset} is not this partition's"
                ));
            }
        }
    }
    for (&seq, &offset) in acked {
        let value = crate::workload::value_of(partition, seq);
        if offset < 0 {
            found.acked_without_offset += 1;
            if !where_stored.contains_key(&seq) {
                found.lost += 1;
                found.example(format!(
                    "p{partition}: {value:?} acknowledged (without an offset) is not in the log"
                ));
            }
            continue;
        }
        if by_offset.get(&offset) == Some(&value.as_str()) {
            continue;
        }
        found.lost += 1;
        let elsewhere = where_stored.get(&seq);
        found.example(match (by_offset.get(&offset), elsewhere) {
            (_, Some(at)) => format!(
                "p{partition}: {value:?} acknowledged at offset {offset}, stored at {at:?}"
            ),
            (Some(other), None) => format!(
                "p{partition}: {value:?} acknowledged at offset {offset} is gone; that offset holds {other:?}"
            ),
            (None, None) => format!(
                "p{partition}: {value:?} acknowledged at offset {offset} is gone (the log ends at {:?})",
                log.last().map(|(o, _)| *o)
            ),
        });
    }
    found
}

/// Consumed records (partition, offset, value) that the final log does not
/// hold at that offset: reads of data that was later lost or never
/// committed. Returns (count, examples).
pub fn consumed_not_in_log(
    consumed: &[(i32, i64, String)],
    logs: &BTreeMap<i32, BTreeMap<i64, String>>,
) -> (u64, Vec<String>) {
    let mut count = 0;
    let mut examples = Vec::new();
    for (p, offset, value) in consumed {
        let stored = logs.get(p).and_then(|log| log.get(offset));
        if stored != Some(value) {
            count += 1;
            if examples.len() < EXAMPLES {
                examples.push(format!(
                    "p{p}: consumed {value:?} at offset {offset}, the log holds {stored:?} there"
                ));
            }
        }
    }
    (count, examples)
}

/// One record batch in a replica's log file bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    pub leader_epoch: i32,
    pub bytes: Vec<u8>,
}

/// The batches of a replica's concatenated segment bytes (magic-2 layout:
/// base offset i64, length i32, partition leader epoch i32, magic, crc,
/// attributes i16, last offset delta i32, ...). Stops at a torn tail.
pub fn batches(log: &[u8]) -> Vec<BatchInfo> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 27 <= log.len() {
        let base = i64::from_be_bytes(log[pos..pos + 8].try_into().unwrap());
        let len = i32::from_be_bytes(log[pos + 8..pos + 12].try_into().unwrap());
        let end = pos + 12 + len.max(0) as usize;
        if len < 15 || end > log.len() {
            break;
        }
        let epoch = i32::from_be_bytes(log[pos + 12..pos + 16].try_into().unwrap());
        let delta = i32::from_be_bytes(log[pos + 23..pos + 27].try_into().unwrap());
        out.push(BatchInfo {
            base_offset: base,
            last_offset: base + delta as i64,
            leader_epoch: epoch,
            bytes: log[pos..end].to_vec(),
        });
        pos = end;
    }
    out
}

/// How the replicas of one partition compare below the high watermark.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplicaComparison {
    /// Replicas whose batches differ from the reference's at the same
    /// offsets: one line each, naming the first differing batch.
    pub divergent: Vec<String>,
    /// Replicas whose log ends below the high watermark (behind, not wrong).
    pub lagging: Vec<String>,
}

/// Compares every replica's batches below `high_watermark` with the
/// longest replica's: the same batches (bytes) at the same offsets.
pub fn compare_replicas(
    replicas: &BTreeMap<i32, Vec<u8>>,
    high_watermark: i64,
) -> ReplicaComparison {
    let below: BTreeMap<i32, Vec<BatchInfo>> = replicas
        .iter()
        .map(|(&id, bytes)| {
            let mut b = batches(bytes);
            b.retain(|batch| batch.base_offset < high_watermark);
            (id, b)
        })
        .collect();
    let mut result = ReplicaComparison::default();
    let Some((&reference, ref_batches)) = below.iter().max_by_key(|(_, b)| b.len()) else {
        return result;
    };
    for (&id, mine) in &below {
        if id == reference {
            continue;
        }
        if let Some(i) = mine.iter().zip(ref_batches).position(|(a, b)| a != b) {
            let (a, b) = (&mine[i], &ref_batches[i]);
            result.divergent.push(format!(
                "broker {id} batch {i} holds offsets {}..={} (leader epoch {}), broker {reference} \
                 holds {}..={} (leader epoch {}){}",
                a.base_offset,
                a.last_offset,
                a.leader_epoch,
                b.base_offset,
                b.last_offset,
                b.leader_epoch,
                if (a.base_offset, a.last_offset) == (b.base_offset, b.last_offset) {
                    " with different bytes"
                } else {
                    ""
                }
            ));
            continue;
        }
        let end = |b: &[BatchInfo]| b.last().map_or(-1, |x| x.last_offset);
        if mine.len() < ref_batches.len() {
            result.lagging.push(format!(
                "broker {id} holds up to offset {}, broker {reference} up to {} (high watermark {high_watermark})",
                end(mine),
                end(ref_batches)
            ));
        }
    }
    let top = ref_batches.last().map_or(-1, |b| b.last_offset);
    if top + 1 < high_watermark {
        result.lagging.push(format!(
            "no replica holds offsets up to the high watermark {high_watermark} (best: {top})"
        ));
    }
    result
}

/// A broker's uninterrupted run of probes that claimed the group.
#[derive(Clone, Debug)]
pub struct ClaimRun {
    pub broker: i32,
    pub first_sent: Instant,
    pub first_received: Instant,
    pub last_sent: Instant,
    pub last_received: Instant,
    pub probes: usize,
    pub states: BTreeSet<String>,
}

impl ClaimRun {
    /// The broker surely claimed from here (the first answer is in)...
    fn surely_from(&self) -> Instant {
        self.first_received
    }

    /// ...to here (the last claiming probe was sent).
    fn surely_until(&self) -> Instant {
        self.last_sent
    }
}

/// Each broker's maximal runs of consecutive claiming probes (a refusal or
/// no answer ends a run).
pub fn claim_runs(probes: &BTreeMap<i32, Vec<Probe>>) -> Vec<ClaimRun> {
    let mut runs = Vec::new();
    for (&broker, list) in probes {
        let mut current: Option<ClaimRun> = None;
        for probe in list {
            match &probe.answer {
                Answer::Claims { state, .. } => {
                    let run = current.get_or_insert_with(|| ClaimRun {
                        broker,
                        first_sent: probe.sent,
                        first_received: probe.received,
                        last_sent: probe.sent,
                        last_received: probe.received,
                        probes: 0,
                        states: BTreeSet::new(),
                    });
                    run.last_sent = probe.sent;
                    run.last_received = probe.received;
                    run.probes += 1;
                    run.states.insert(state.clone());
                }
                _ => runs.extend(current.take()),
            }
        }
        runs.extend(current);
    }
    runs
}

/// Pairs of runs of different brokers that surely overlapped in time: each
/// run surely claimed from its first answer to its last probe's sending
/// (a one-probe run: at some instant within its probe), assuming a broker
/// claims all along a run. A hand-off between two probes is no overlap.
pub fn overlaps(runs: &[ClaimRun]) -> Vec<(ClaimRun, ClaimRun)> {
    let mut found = Vec::new();
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            if a.broker != b.broker
                && a.surely_from() < b.surely_until()
                && b.surely_from() < a.surely_until()
            {
                found.push((a.clone(), b.clone()));
            }
        }
    }
    found
}
