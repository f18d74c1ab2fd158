//! Partition as leader (high watermark, ISR proposals, acks=all checks) and
//! as follower (appends with the leader's offsets, epochs, truncation).

use super::*;
use crate::log::test_util::batch;
use crate::log::{LogConfig, LogManager};
use crate::model::ids;
use crate::model::{off, offs};

const LAG_MS: i64 = 3000;

fn state(leader: i32, leader_epoch: i32, isr: &[i32]) -> LeadershipState {
    state_at(leader, leader_epoch, isr, 0)
}

/// `state` from the state znode's version `zk_version`.
fn state_at(leader: i32, leader_epoch: i32, isr: &[i32], zk_version: i32) -> LeadershipState {
    LeadershipState {
        topic_id: Uuid::nil(),
        leader_and_isr: LeaderAndIsr {
            leader: BrokerId(leader),
            leader_epoch: LeaderEpoch::new(leader_epoch),
            isr: ids(isr),
            zk_version,
        },
        replicas: ids(&[1, 2, 3]),
        controller_epoch: 1,
        followers: HashMap::new(),
        isr_changes_blocked: false,
    }
}

/// Broker 1 leading t-0 of `replicas` (all in sync) at leader epoch 0, with
/// `config`: the fixture other replica modules' tests start from.
pub(in crate::replica) fn leading_partition(
    dir: &std::path::Path,
    config: LogConfig,
    replicas: &[i32],
) -> (LogManager, Partition) {
    let manager = LogManager::startup(&[dir.to_path_buf()], LogConfig::default()).unwrap();
    let tp = TopicPartition::new("t", 0);
    let log = manager.get_or_create_log(&tp, config).unwrap();
    let state = LeadershipState {
        replicas: ids(replicas),
        ..state(1, 0, replicas)
    };
    let unled = LeadershipState {
        leader_and_isr: LeaderAndIsr {
            leader: LeaderAndIsr::NO_LEADER,
            leader_epoch: LeaderEpoch::UNDEFINED,
            ..state.leader_and_isr.clone()
        },
        ..state.clone()
    };
    let partition = Partition::new(tp, BrokerId(1), log, unled, off(0), 1).unwrap();
    partition.make_leader_or_follower(state, 1000).unwrap();
    (manager, partition)
}

/// Broker 1's replica of t-0, not yet led or followed.
fn partition(dir: &std::path::Path) -> (LogManager, Partition) {
    let manager = LogManager::startup(&[dir.to_path_buf()], LogConfig::default()).unwrap();
    let tp = TopicPartition::new("t", 0);
    let log = manager
        .get_or_create_log(&tp, LogConfig::default())
        .unwrap();
    let partition = Partition::new(tp, BrokerId(1), log, state(-1, -1, &[]), off(0), 2).unwrap();
    (manager, partition)
}

fn append(p: &Partition, count: usize) {
    let mut records = batch(0, count);
    p.append_as_leader(&mut records, 0, -1).unwrap();
}

#[test]
fn leader_moves_the_high_watermark_and_shrinks_and_expands_the_isr() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    let change = p.make_leader_or_follower(state(1, 0, &[1, 2, 3]), 1000);
    assert_eq!(change.unwrap(), LeadershipChange::Leader);
    append(&p, 5);
    assert_eq!(p.high_watermark(), off(0), "followers unknown yet");
    p.update_follower_fetch(BrokerId(2), off(5), LeaderEpoch::new(0), 1100);
    assert_eq!(p.high_watermark(), off(0));
    assert!(
        p.update_follower_fetch(BrokerId(3), off(5), LeaderEpoch::new(0), 1100)
            .high_watermark_moved
    );
    assert_eq!(p.high_watermark(), off(5));

    // Follower 3 stops fetching; 2 keeps up.
    append(&p, 5);
    p.update_follower_fetch(BrokerId(2), off(10), LeaderEpoch::new(0), 1200);
    assert!(p.check_replicated(off(10)).is_none());
    assert_eq!(
        p.isr_change_proposal(4000, LAG_MS),
        None,
        "3 is within its lag"
    );
    let shrink = p.isr_change_proposal(4101, LAG_MS).expect("3 lags");
    assert_eq!(
        shrink.leader_and_isr.isr,
        ids(&[1, 2]),
        "a dropped member is not re-added"
    );
    assert!(p.apply_isr_change(&shrink, 1));
    assert_eq!(p.high_watermark(), off(10));
    assert!(matches!(p.check_replicated(off(10)), Some(Ok(()))));

    // min.insync.replicas 3: refused before the append, and after it.
    p.set_min_insync_replicas(3);
    assert!(matches!(
        p.check_replicated(off(10)),
        Some(Err(ReplicaError::NotEnoughReplicasAfterAppend { .. }))
    ));
    let mut records = batch(0, 1);
    assert!(matches!(
        p.append_as_leader(&mut records, 0, -1),
        Err(ReplicaError::NotEnoughReplicas { .. })
    ));
    assert!(
        p.append_as_leader(&mut records, 0, 1).is_ok(),
        "acks=1 is fine"
    );

    // 3 comes back and catches up to the high watermark: it rejoins.
    p.update_follower_fetch(BrokerId(2), off(11), LeaderEpoch::new(0), 5000);
    assert_eq!(p.high_watermark(), off(11));
    let outcome = p.update_follower_fetch(BrokerId(3), off(11), LeaderEpoch::new(0), 5000);
    assert!(outcome.wants_isr_expansion);
    let expand = p.isr_change_proposal(5000, LAG_MS).expect("3 caught up");
    assert_eq!(expand.leader_and_isr.isr, ids(&[1, 2, 3]));
    assert_eq!(expand.leader_and_isr.zk_version, 1);

    // A lost zkVersion race stops ISR changes until the next LeaderAndIsr.
    p.block_isr_changes(&expand);
    assert_eq!(p.isr_change_proposal(5000, LAG_MS), None);
    let next = state_at(1, 1, &[1, 2], 2);
    p.make_leader_or_follower(next, 6000).unwrap();
    // Same leader: 3's log end is kept across the epoch bump, and it reached
    // this epoch's start; but it rejoins only by fetching in the new epoch
    // (Kafka expands the ISR on a follower's fetch, never from old state).
    assert_eq!(p.isr_change_proposal(6000, LAG_MS), None);
    assert!(
        p.update_follower_fetch(BrokerId(3), off(11), LeaderEpoch::new(1), 6000)
            .wants_isr_expansion
    );
    let again = p.isr_change_proposal(6000, LAG_MS).expect("changes resume");
    assert_eq!(again.leader_and_isr.isr, ids(&[1, 2, 3]));
    assert_eq!(
        p.end_offset_for_epoch(LeaderEpoch::new(0)),
        (LeaderEpoch::new(0), off(11))
    );
    assert_eq!(
        p.end_offset_for_epoch(LeaderEpoch::new(1)),
        (LeaderEpoch::new(1), off(11))
    );
}

#[test]
fn follower_keeps_leader_offsets_and_epochs_and_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    let change = p.make_leader_or_follower(state(2, 3, &[1, 2, 3]), 1000);
    assert_eq!(
        change.unwrap(),
        LeadershipChange::StartFollowing {
            leader: BrokerId(2),
            leader_epoch: LeaderEpoch::new(3)
        }
    );
    // Same leader and epoch again: ignored; with a newer zkVersion (an ISR
    // change) taken, and fetching goes on as before.
    assert!(
        p.make_leader_or_follower(state(2, 3, &[1, 2, 3]), 1000)
            .is_err()
    );
    let newer = state_at(2, 3, &[1, 2], 1);
    let again = p.make_leader_or_follower(newer, 1000);
    assert_eq!(again.unwrap(), LeadershipChange::KeepFollowing);
    assert_eq!(p.isr(), ids(&[1, 2]));

    let mut first = batch(0, 4);
    crate::log::set_partition_leader_epoch(&mut first, LeaderEpoch::new(2));
    let mut second = batch(4, 2);
    crate::log::set_partition_leader_epoch(&mut second, LeaderEpoch::new(3));
    let mut fetched = [first.clone(), second.clone()].concat();
    // The leader cut a third batch short at its size limit.
    fetched.extend_from_slice(&batch(6, 3)[..20]);
    assert_eq!(
        p.append_as_follower(LeaderEpoch::new(3), &fetched, off(5))
            .unwrap(),
        off(6)
    );
    assert_eq!(p.high_watermark(), off(5));
    assert_eq!(p.latest_epoch(), Some(LeaderEpoch::new(3)));
    assert_eq!(
        p.end_offset_for_epoch(LeaderEpoch::new(2)),
        (LeaderEpoch::new(2), off(4))
    );
    assert!(
        matches!(
            p.append_as_follower(LeaderEpoch::new(2), &batch(6, 1), off(6)),
            Err(ReplicaError::NotLeaderOrFollower(_))
        ),
        "a fetch from an older epoch is dropped"
    );

    // Truncation to an epoch boundary drops later epochs too.
    p.truncate_to(off(4), LeaderEpoch::new(3)).unwrap();
    assert_eq!(p.log().log_end_offset(), off(4));
    assert_eq!(p.latest_epoch(), Some(LeaderEpoch::new(2)));
    assert_eq!(p.high_watermark(), off(4));

    let no_leader = state_at(-1, 4, &[1], 2);
    let no_leader = p.make_leader_or_follower(no_leader, 1000);
    assert_eq!(no_leader.unwrap(), LeadershipChange::NoLeader);
    let stale = p.make_leader_or_follower(state(2, 3, &[1, 2, 3]), 1000);
    assert!(matches!(stale, Err(ReplicaError::StaleLeaderAndIsr { .. })));
}

/// A batch of `count` records from idempotent producer `pid` (epoch 0) with
/// first sequence `seq`, at `base_offset`.
fn idempotent_batch(base_offset: i64, pid: i64, seq: i32, count: usize) -> Vec<u8> {
    let mut b = batch(base_offset, count);
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&0i16.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

#[test]
fn leader_answers_a_retried_idempotent_batch_with_its_first_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    p.make_leader_or_follower(state(1, 0, &[1]), 1000).unwrap();
    let first = p
        .append_as_leader(&mut idempotent_batch(0, 9, 0, 3), 0, 1)
        .unwrap();
    p.append_as_leader(&mut batch(0, 2), 0, 1).unwrap();
    let retry = p
        .append_as_leader(&mut idempotent_batch(0, 9, 0, 3), 0, 1)
        .unwrap();
    assert_eq!((retry.first_offset, retry.last_offset), (off(0), off(2)));
    assert_eq!(retry.first_offset, first.first_offset);
    assert_eq!(p.log().log_end_offset(), off(5), "not stored twice");
    // The next sequence is new; a corrupt retry is refused, not answered.
    let next = p
        .append_as_leader(&mut idempotent_batch(0, 9, 3, 1), 0, 1)
        .unwrap();
    assert_eq!(next.first_offset, off(5));
    let mut corrupt = idempotent_batch(0, 9, 0, 3);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    assert!(p.append_as_leader(&mut corrupt, 0, 1).is_err());
    assert_eq!(p.log().log_end_offset(), off(6));
}

#[test]
fn a_follower_promoted_to_leader_knows_the_batches_it_replicated() {
    let dir = tempfile::tempdir().unwrap();
    let (manager, p) = partition(dir.path());
    p.make_leader_or_follower(state(2, 0, &[1, 2]), 1000)
        .unwrap();
    let fetched = [
        idempotent_batch(0, 9, 0, 3),
        idempotent_batch(3, 9, 3, 2),
        batch(5, 1),
    ]
    .concat();
    assert_eq!(
        p.append_as_follower(LeaderEpoch::new(0), &fetched, off(0))
            .unwrap(),
        off(6)
    );
    p.make_leader_or_follower(state(1, 1, &[1]), 2000).unwrap();
    let retry = p
        .append_as_leader(&mut idempotent_batch(0, 9, 3, 2), 0, 1)
        .unwrap();
    assert_eq!((retry.first_offset, retry.last_offset), (off(3), off(4)));
    assert_eq!(p.log().log_end_offset(), off(6));

    // Truncation forgets what it cut; a restarted replica reads the tail again.
    p.make_leader_or_follower(state(2, 2, &[1, 2]), 3000)
        .unwrap();
    p.truncate_to(off(3), LeaderEpoch::new(2)).unwrap();
    p.make_leader_or_follower(state(1, 3, &[1]), 4000).unwrap();
    let after_cut = p
        .append_as_leader(&mut idempotent_batch(0, 9, 3, 2), 0, 1)
        .unwrap();
    assert_eq!(
        after_cut.first_offset,
        off(3),
        "appended again after the cut"
    );
    let log = Arc::clone(p.log());
    drop(p);
    let reopened = Partition::new(
        TopicPartition::new("t", 0),
        BrokerId(1),
        log,
        state(1, 3, &[1]),
        off(0),
        2,
    )
    .unwrap();
    let from_disk = reopened
        .append_as_leader(&mut idempotent_batch(0, 9, 0, 3), 0, 1)
        .unwrap();
    assert_eq!(from_disk.first_offset, off(0));
    assert_eq!(reopened.log().log_end_offset(), off(5));
    drop(manager);
}

#[test]
fn rolls_leave_producer_snapshots_and_truncation_removes_those_past_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    let config = LogConfig {
        segment_bytes: 300,
        ..LogConfig::default()
    };
    p.log().set_config(config).unwrap();
    p.make_leader_or_follower(state(1, 0, &[1]), 1000).unwrap();
    for i in 0..10 {
        p.append_as_leader(&mut idempotent_batch(0, 9, i * 2, 2), 0, 1)
            .unwrap();
    }
    let snapshots = || producer_snapshot::list_snapshots(p.log().dir()).unwrap();
    let rolled: Vec<Offset> = p.log().segment_base_offsets()[1..].to_vec();
    assert!(rolled.len() >= 2, "segments: {rolled:?}");
    assert_eq!(snapshots(), rolled, "one snapshot per roll");

    // A gap and an old epoch are refused whole; nothing is written.
    let gap = p.append_as_leader(&mut idempotent_batch(0, 9, 25, 1), 0, 1);
    assert!(matches!(
        gap,
        Err(ReplicaError::ProducerState {
            source: super::super::ProducerStateError::OutOfOrderSequence { .. },
            ..
        })
    ));
    assert_eq!(p.log().log_end_offset(), off(20));

    // Truncation below the newest snapshot deletes it and reloads the state.
    let cut = rolled[rolled.len() - 1] - 2;
    p.make_leader_or_follower(state(2, 1, &[1, 2]), 2000)
        .unwrap();
    p.truncate_to(cut, LeaderEpoch::new(1)).unwrap();
    assert!(snapshots().iter().all(|&s| s <= cut), "{:?}", snapshots());
    p.make_leader_or_follower(state(1, 2, &[1]), 3000).unwrap();
    let next = p
        .append_as_leader(&mut idempotent_batch(0, 9, cut.value() as i32, 2), 0, 1)
        .unwrap();
    assert_eq!(next.first_offset, cut, "the sequence after the cut goes on");
    p.make_leader_or_follower(state(2, 3, &[1, 2]), 4000)
        .unwrap();
    p.truncate_fully_and_start_at(off(100), LeaderEpoch::new(3))
        .unwrap();
    assert_eq!(snapshots(), offs(&[]));
}

/// A LeaderAndIsr that is not newer than what this replica applied (a new
/// controller's failover copy, a resent request): Kafka ignores an equal
/// leader epoch unless its partition epoch (zkVersion) is newer, and never
/// goes back to an older zkVersion.
#[test]
fn a_stale_same_epoch_leader_and_isr_does_not_roll_back_the_isr() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    let led = state_at(1, 5, &[1, 2], 10);
    p.make_leader_or_follower(led.clone(), 1000).unwrap();
    let expand = IsrProposal {
        tp: p.tp.clone(),
        leader_and_isr: LeaderAndIsr {
            leader: BrokerId(1),
            leader_epoch: LeaderEpoch::new(5),
            isr: ids(&[1, 2, 3]),
            zk_version: 10,
        },
        controller_epoch: 1,
    };
    assert!(p.apply_isr_change(&expand, 11));

    let stale = p.make_leader_or_follower(led.clone(), 2000);
    assert!(
        matches!(stale, Err(ReplicaError::StaleLeaderAndIsr { .. })),
        "{stale:?}"
    );
    assert_eq!(
        p.isr(),
        ids(&[1, 2, 3]),
        "the ISR went back to a stale value"
    );
    assert_eq!(p.state.read().leader_and_isr.zk_version, 11);

    // The same state again (a resend after our own write) changes nothing either.
    let same = state_at(1, 5, &[1, 2, 3], 11);
    assert!(p.make_leader_or_follower(same, 2000).is_err());

    // A newer zkVersion in the same epoch is the controller's word: taken,
    // and it lifts a block on ISR changes.
    p.block_isr_changes(&IsrProposal {
        leader_and_isr: LeaderAndIsr {
            isr: ids(&[1, 2]),
            zk_version: 11,
            ..expand.leader_and_isr.clone()
        },
        ..expand.clone()
    });
    let newer = state_at(1, 5, &[1, 2], 12);
    assert_eq!(
        p.make_leader_or_follower(newer, 3000).unwrap(),
        LeadershipChange::Leader
    );
    assert_eq!(p.isr(), ids(&[1, 2]));
    assert!(!p.state.read().isr_changes_blocked);

    // A newer leader epoch carrying an older zkVersion is refused too.
    let older_version = state_at(1, 6, &[1], 9);
    assert!(p.make_leader_or_follower(older_version, 4000).is_err());
    assert_eq!(
        (p.leader_epoch(), p.isr()),
        (LeaderEpoch::new(5), ids(&[1, 2]))
    );
}

/// Kafka resets what a leader knows of its followers only when it newly
/// leads: an epoch bump with the same leader (a dead replica removed from
/// the ISR, another broker's controlled shutdown) keeps their log ends, so
/// the high watermark and acks=all do not pause until every follower fetched
/// again.
#[test]
fn an_epoch_bump_with_the_same_leader_keeps_the_followers_log_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    p.make_leader_or_follower(state(1, 0, &[1, 2, 3]), 1000)
        .unwrap();
    append(&p, 5);
    p.update_follower_fetch(BrokerId(2), off(5), LeaderEpoch::new(0), 1100);
    p.update_follower_fetch(BrokerId(3), off(5), LeaderEpoch::new(0), 1100);
    assert_eq!(p.high_watermark(), off(5));
    append(&p, 5);
    p.update_follower_fetch(BrokerId(2), off(10), LeaderEpoch::new(0), 1200);
    assert_eq!(p.high_watermark(), off(5), "3 is behind");

    // The controller removes 3 (dead) from the ISR: epoch 1, same leader.
    let bumped = state_at(1, 1, &[1, 2], 1);
    assert_eq!(
        p.make_leader_or_follower(bumped, 1300).unwrap(),
        LeadershipChange::Leader
    );
    assert_eq!(
        p.high_watermark(),
        off(10),
        "2's log end is still known: the high watermark moves at once"
    );
    assert_eq!(
        p.end_offset_for_epoch(LeaderEpoch::new(0)),
        (LeaderEpoch::new(0), off(10)),
        "epoch 1 starts at 10"
    );

    // A new leader knows nothing of its followers yet.
    let follow = state_at(2, 2, &[1, 2], 2);
    p.make_leader_or_follower(follow, 1400).unwrap();
    let mut fetched = batch(10, 2);
    crate::log::set_partition_leader_epoch(&mut fetched, LeaderEpoch::new(2));
    p.append_as_follower(LeaderEpoch::new(2), &fetched, off(10))
        .unwrap();
    let lead = state_at(1, 3, &[1, 2], 3);
    p.make_leader_or_follower(lead, 1500).unwrap();
    assert_eq!(
        p.state.read().followers[&BrokerId(2)].log_end_offset,
        off(-1)
    );
}

/// Finding 3: a fetcher asked OffsetsForLeaderEpoch while following in epoch
/// 1; before the answer came, this replica became leader in epoch 2 and took
/// appends. The fetcher's truncation must be refused, not cut the leader's log.
#[test]
fn a_truncation_for_an_older_leadership_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    p.make_leader_or_follower(state(2, 1, &[1, 2]), 1000)
        .unwrap();
    let mut fetched = batch(0, 5);
    crate::log::set_partition_leader_epoch(&mut fetched, LeaderEpoch::new(1));
    p.append_as_follower(LeaderEpoch::new(1), &fetched, off(5))
        .unwrap();
    let lead = state_at(1, 2, &[1], 1);
    p.make_leader_or_follower(lead, 2000).unwrap();
    p.append_as_leader(&mut batch(0, 5), 0, 1).unwrap();
    assert_eq!(p.high_watermark(), off(10));

    assert!(
        p.truncate_to(off(5), LeaderEpoch::new(1)).is_err(),
        "a leader's log was truncated"
    );
    assert!(
        p.truncate_fully_and_start_at(off(100), LeaderEpoch::new(1))
            .is_err()
    );
    assert!(
        p.truncate_to(off(5), LeaderEpoch::new(2)).is_err(),
        "a leader never truncates"
    );
    assert_eq!(p.log().log_end_offset(), off(10));
    assert_eq!(p.latest_epoch(), Some(LeaderEpoch::new(2)));
    assert_eq!(p.high_watermark(), off(10));

    // Following again in epoch 3: only a truncation for epoch 3 runs.
    let follow = state_at(2, 3, &[1, 2], 2);
    p.make_leader_or_follower(follow, 3000).unwrap();
    assert!(p.truncate_to(off(5), LeaderEpoch::new(1)).is_err());
    p.truncate_to(off(5), LeaderEpoch::new(3)).unwrap();
    assert_eq!(p.log().log_end_offset(), off(5));
}

/// Finding 14: only a fetch the leader can serve moves a follower's state.
#[test]
fn a_follower_fetch_is_believed_only_in_our_epoch_and_within_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    p.make_leader_or_follower(state(1, 0, &[1, 2]), 1000)
        .unwrap();
    append(&p, 5);
    for (offset, epoch) in [(i64::MAX / 2, 0), (6, 0), (5, -1), (5, 1), (-3, 0)] {
        let outcome =
            p.update_follower_fetch(BrokerId(2), off(offset), LeaderEpoch::new(epoch), 1100);
        assert_eq!(
            outcome,
            FollowerFetchOutcome::default(),
            "offset {offset} epoch {epoch}"
        );
    }
    assert_eq!(p.high_watermark(), off(0));
    assert!(
        !p.update_follower_fetch(BrokerId(4), off(5), LeaderEpoch::new(0), 1100)
            .recorded,
        "4 is no replica"
    );
    let outcome = p.update_follower_fetch(BrokerId(2), off(5), LeaderEpoch::new(0), 1100);
    assert!(outcome.recorded && outcome.high_watermark_moved);
    assert_eq!(p.high_watermark(), off(5));
}

/// KIP-207: a new leader whose high watermark is still below the start of
/// its epoch (its followers have not fetched yet) answers ListOffsets
/// LATEST, and a timestamp found at or past the high watermark, with
/// OFFSET_NOT_AVAILABLE, so offsets never go backwards across a leader change.
#[test]
fn a_new_leader_below_its_epoch_start_has_no_latest_offset_yet() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    p.make_leader_or_follower(state(2, 0, &[1, 2]), 1000)
        .unwrap();
    let mut fetched = batch(0, 5);
    crate::log::set_partition_leader_epoch(&mut fetched, LeaderEpoch::new(0));
    p.append_as_follower(LeaderEpoch::new(0), &fetched, off(3))
        .unwrap();
    assert_eq!(p.high_watermark(), off(3));
    p.make_leader_or_follower(state(1, 1, &[1, 2]), 2000)
        .unwrap();

    let latest = p.fetch_offset_for_timestamp(super::super::LATEST_TIMESTAMP, true);
    assert!(
        matches!(latest, Err(ReplicaError::OffsetNotAvailable { .. })),
        "{latest:?}"
    );
    // Timestamps 1000..=1004 at offsets 0..=4: 1004 is past the high watermark.
    assert!(p.fetch_offset_for_timestamp(1004, true).is_err());
    assert_eq!(
        p.fetch_offset_for_timestamp(1001, true).unwrap(),
        (off(1), 1001)
    );
    // A broker (replica id >= 0) or a debugging consumer is no client: no
    // KIP-207 check, and it sees up to the log end (Kafka's
    // lastFetchableOffset without an isolation level).
    assert_eq!(
        p.fetch_offset_for_timestamp(super::super::LATEST_TIMESTAMP, false)
            .unwrap(),
        (off(5), -1),
        "a replica gets the log end"
    );
    assert_eq!(
        p.fetch_offset_for_timestamp(1004, false).unwrap(),
        (off(4), 1004)
    );
    assert_eq!(
        p.fetch_offset_for_timestamp(super::super::EARLIEST_TIMESTAMP, true)
            .unwrap(),
        (off(0), -1)
    );
    assert_eq!(
        p.fetch_offset_for_timestamp(super::super::LATEST_TIMESTAMP, false)
            .unwrap(),
        (off(5), -1),
        "a debugging consumer gets the log end"
    );
    p.update_follower_fetch(BrokerId(2), off(5), LeaderEpoch::new(1), 2100);
    assert_eq!(p.high_watermark(), off(5));
    assert_eq!(
        p.fetch_offset_for_timestamp(super::super::LATEST_TIMESTAMP, true)
            .unwrap(),
        (off(5), -1)
    );
}

/// Finding 17: a follower writes a new epoch to leader-epoch-checkpoint after
/// appending its batches; a crash in between left the checkpoint without it.
/// After an unclean shutdown the cache is rebuilt from the batch headers of
/// what recovery re-read (Kafka's LogSegment.recover assigns epochs per batch).
#[test]
fn epochs_missing_after_a_crash_come_back_from_the_recovered_batches() {
    let root = tempfile::tempdir().unwrap();
    let dirs = [root.path().to_path_buf()];
    let tp = TopicPartition::new("t", 0);
    {
        let manager = LogManager::startup(&dirs, LogConfig::default()).unwrap();
        let log = manager
            .get_or_create_log(&tp, LogConfig::default())
            .unwrap();
        let p =
            Partition::new(tp.clone(), BrokerId(1), log, state(-1, -1, &[]), off(0), 2).unwrap();
        p.make_leader_or_follower(state(2, 3, &[1, 2]), 1000)
            .unwrap();
        let mut first = batch(0, 3);
        crate::log::set_partition_leader_epoch(&mut first, LeaderEpoch::new(2));
        let mut second = batch(3, 2);
        crate::log::set_partition_leader_epoch(&mut second, LeaderEpoch::new(3));
        p.append_as_follower(LeaderEpoch::new(3), &[first, second].concat(), off(0))
            .unwrap();
        assert_eq!(p.latest_epoch(), Some(LeaderEpoch::new(3)));
        // The crash: epoch 3's entry never reached the file.
        let checkpoint = p.log().dir().join(crate::log::LEADER_EPOCH_CHECKPOINT);
        std::fs::write(checkpoint, "0\n1\n2 0\n").unwrap();
    }
    let manager = LogManager::startup(&dirs, LogConfig::default()).unwrap();
    let log = manager.get_log(&tp).unwrap();
    assert_eq!(log.log_end_offset(), off(5));
    let p = Partition::new(tp, BrokerId(1), log, state(-1, -1, &[]), off(0), 2).unwrap();
    assert_eq!(
        p.latest_epoch(),
        Some(LeaderEpoch::new(3)),
        "epoch 3 is in the log's batches"
    );
    assert_eq!(
        p.end_offset_for_epoch(LeaderEpoch::new(2)),
        (LeaderEpoch::new(2), off(3))
    );
}

/// CI flake turned finding: the controller dropped dead broker 3 from the ISR
/// (epoch bump, same leader) while nothing had been produced, so 3's last
/// fetch was at the leader's log end. The leader must not put it back from
/// that old state: only a fetch in the new epoch proves 3 is alive.
#[test]
fn a_replica_the_controller_dropped_rejoins_only_by_fetching_in_the_new_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let (_manager, p) = partition(dir.path());
    p.make_leader_or_follower(state(1, 0, &[1, 2, 3]), 1000)
        .unwrap();
    p.update_follower_fetch(BrokerId(2), off(0), LeaderEpoch::new(0), 1100);
    p.update_follower_fetch(BrokerId(3), off(0), LeaderEpoch::new(0), 1100);
    let dropped = state_at(1, 1, &[1, 2], 1);
    p.make_leader_or_follower(dropped, 2000).unwrap();
    p.update_follower_fetch(BrokerId(2), off(0), LeaderEpoch::new(1), 2100);
    for now in [2100, 2000 + LAG_MS, 2000 + 10 * LAG_MS] {
        assert_eq!(
            p.isr_change_proposal(now, LAG_MS),
            None,
            "3 has not fetched in epoch 1 (t={now})"
        );
    }
    assert!(
        p.update_follower_fetch(BrokerId(3), off(0), LeaderEpoch::new(1), 40_000)
            .wants_isr_expansion
    );
    let back = p.isr_change_proposal(40_000, LAG_MS).expect("3 fetched");
    assert_eq!(back.leader_and_isr.isr, ids(&[1, 2, 3]));
}
