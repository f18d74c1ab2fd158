//! The checker checked (no cluster needed): each check finds what it claims
//! to find on hand-made histories, and passes a clean one; and a seed always
//! gives the same schedule.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::checker::{
    batches, check_records, claim_runs, compare_replicas, consumed_not_in_log, overlaps,
};
use crate::nemesis::{FaultKind, partition_of, schedule};
use crate::probes::{Answer, Probe};
use crate::workload::{parse_value, value_of};

fn log_of(partition: i32, seqs: &[u64]) -> Vec<(i64, String)> {
    seqs.iter()
        .enumerate()
        .map(|(o, &s)| (o as i64, value_of(partition, s)))
        .collect()
}

fn acked(pairs: &[(u64, i64)]) -> BTreeMap<u64, i64> {
    pairs.iter().copied().collect()
}

#[test]
fn values_round_trip() {
    assert_eq!(parse_value(&value_of(7, 12345)), Some((7, 12345)));
    assert_eq!(parse_value("nonsense"), None);
}

#[test]
fn a_clean_partition_passes_and_unacked_extras_are_allowed() {
    let found = check_records(
        0,
        &log_of(0, &[0, 1, 2, 3]),
        &acked(&[(0, 0), (1, 1), (3, 3)]),
    );
    assert_eq!(
        (found.lost, found.duplicated, found.reordered, found.foreign),
        (0, 0, 0, 0),
        "{:?}",
        found.examples
    );
    assert_eq!(found.unacked_present, 1);
}

#[test]
fn lost_duplicated_reordered_and_foreign_records_are_counted() {
    // seq 1 acked at 1 but gone; seq 2 twice; seq 0 after seq 3; a record of p1.
    let mut log = log_of(0, &[3, 2, 2, 0]);
    log.push((4, value_of(1, 9)));
    let found = check_records(0, &log, &acked(&[(1, 1), (3, 0)]));
    assert_eq!(found.lost, 1, "{:?}", found.examples);
    assert_eq!(found.duplicated, 1);
    assert_eq!(found.reordered, 2, "2 after 3, and 0 after 3");
    assert_eq!(found.foreign, 1);
    // Acknowledged at one offset, stored at another: lost from its offset.
    let found = check_records(0, &log_of(0, &[1, 0]), &acked(&[(0, 0)]));
    assert_eq!(found.lost, 1);
    assert!(
        found.examples[1].contains("stored at [1]"),
        "{:?}",
        found.examples
    );
}

#[test]
fn consumed_records_must_be_in_the_final_log() {
    let logs: BTreeMap<i32, BTreeMap<i64, String>> =
        [(0, log_of(0, &[0, 1]).into_iter().collect())].into();
    let consumed = vec![
        (0, 0, value_of(0, 0)),
        (0, 1, value_of(0, 7)),
        (0, 5, value_of(0, 5)),
    ];
    let (count, examples) = consumed_not_in_log(&consumed, &logs);
    assert_eq!(count, 2, "{examples:?}");
}

/// A magic-2-shaped batch: base offset, length, epoch, magic, crc,
/// attributes, last offset delta, then `payload`.
fn batch(base: i64, records: i32, epoch: i32, payload: u8) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(epoch.to_be_bytes());
    body.push(2);
    body.extend(0u32.to_be_bytes());
    body.extend(0u16.to_be_bytes());
    body.extend((records - 1).to_be_bytes());
    body.extend([payload; 20]);
    let mut out = base.to_be_bytes().to_vec();
    out.extend((body.len() as i32).to_be_bytes());
    out.extend(body);
    out
}

#[test]
fn replicas_are_compared_batch_by_batch_below_the_high_watermark() {
    let a: Vec<u8> = [batch(0, 2, 0, 1), batch(2, 3, 0, 2), batch(5, 1, 1, 3)].concat();
    let parsed = batches(&a);
    assert_eq!(
        parsed
            .iter()
            .map(|b| (b.base_offset, b.last_offset, b.leader_epoch))
            .collect::<Vec<_>>(),
        vec![(0, 1, 0), (2, 4, 0), (5, 5, 1)]
    );
    // A torn tail is ignored.
    assert_eq!(batches(&a[..a.len() - 3]).len(), 2);

    let same: BTreeMap<i32, Vec<u8>> = [(1, a.clone()), (2, a.clone())].into();
    assert_eq!(compare_replicas(&same, 6), Default::default());

    // Behind but consistent.
    let behind: BTreeMap<i32, Vec<u8>> = [(1, a.clone()), (2, [batch(0, 2, 0, 1)].concat())].into();
    let c = compare_replicas(&behind, 6);
    assert!(c.divergent.is_empty());
    assert_eq!(c.lagging.len(), 1, "{c:?}");
    // Beyond the high watermark, nothing counts.
    assert_eq!(compare_replicas(&behind, 2), Default::default());

    // Different bytes at the same offsets, and a different epoch.
    let other: Vec<u8> = [batch(0, 2, 0, 1), batch(2, 3, 1, 9)].concat();
    let diverged: BTreeMap<i32, Vec<u8>> = [(1, a.clone()), (3, other)].into();
    let c = compare_replicas(&diverged, 6);
    assert_eq!(c.divergent.len(), 1, "{c:?}");
    assert!(c.divergent[0].contains("broker 3 batch 1"), "{c:?}");
}

fn probe(t0: Instant, from_ms: u64, answer: Answer) -> Probe {
    Probe {
        sent: t0 + Duration::from_millis(from_ms),
        received: t0 + Duration::from_millis(from_ms + 5),
        answer,
    }
}

fn claims() -> Answer {
    Answer::Claims {
        state: "Stable".into(),
        members: 3,
    }
}

#[test]
fn two_brokers_claiming_at_once_is_an_overlap_and_a_hand_off_is_not() {
    let t0 = Instant::now();
    let series = |claimed: &[u64], refused: &[u64]| {
        let mut list: Vec<Probe> = claimed
            .iter()
            .map(|&t| probe(t0, t, claims()))
            .chain(refused.iter().map(|&t| probe(t0, t, Answer::Refuses(16))))
            .collect();
        list.sort_by_key(|p| p.sent);
        list
    };
    // A hand-off: 1 claims until 200, 2 from 300.
    let hand_off: BTreeMap<i32, Vec<Probe>> = [
        (1, series(&[0, 100, 200], &[300, 400])),
        (2, series(&[300, 400], &[0, 100, 200])),
    ]
    .into();
    let runs = claim_runs(&hand_off);
    assert_eq!(runs.len(), 2);
    assert!(overlaps(&runs).is_empty());

    // Both claim through 100..300.
    let split: BTreeMap<i32, Vec<Probe>> = [
        (1, series(&[0, 100, 200, 300], &[400])),
        (2, series(&[100, 200, 300, 400], &[0])),
    ]
    .into();
    let both = overlaps(&claim_runs(&split));
    assert_eq!(both.len(), 1);
    assert_eq!((both[0].0.broker, both[0].1.broker), (1, 2));

    // A single claiming probe inside another broker's run is an overlap; a
    // silent (unreachable) broker claims nothing.
    let blip: BTreeMap<i32, Vec<Probe>> = [
        (1, series(&[0, 100, 200, 300], &[])),
        (
            2,
            vec![
                probe(t0, 150, claims()),
                probe(t0, 250, Answer::Unreachable),
            ],
        ),
    ]
    .into();
    assert_eq!(overlaps(&claim_runs(&blip)).len(), 1);
}

#[test]
fn a_seed_gives_one_schedule_with_every_kind_once_per_round() {
    let a = schedule(7, 25, &FaultKind::ALL);
    let b = schedule(7, 25, &FaultKind::ALL);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_ne!(
        format!("{a:?}"),
        format!("{:?}", schedule(8, 25, &FaultKind::ALL))
    );
    let mut first_round: Vec<FaultKind> = a[..10].iter().map(|p| p.kind).collect();
    first_round.sort();
    assert_eq!(first_round, FaultKind::ALL.to_vec());
    assert_eq!(a.len(), 25);
    let only = schedule(1, 3, &[FaultKind::ZkRestart]);
    assert!(only.iter().all(|p| p.kind == FaultKind::ZkRestart));
}

#[test]
fn the_partition_of_a_state_path_is_found() {
    assert_eq!(
        partition_of("/c/brokers/topics/faults/partitions/12/state"),
        Some(12)
    );
    assert_eq!(partition_of("/c/brokers/topics/faults"), None);
}
