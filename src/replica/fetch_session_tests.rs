//! The fetch session cache: epochs, a session's partitions and their order,
//! which answers an incremental response carries, and Kafka's eviction rules.

use super::*;
use crate::model::off;

const EVICTION_MS: u64 = MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS;

fn key(topic: &str, partition: i32) -> SessionPartition {
    SessionPartition {
        topic: SessionTopic::Name(topic.to_owned()),
        partition,
    }
}

fn data(fetch_offset: Offset) -> PartitionFetchData {
    PartitionFetchData {
        fetch_offset,
        log_start_offset: off(-1),
        max_bytes: 1024,
        current_leader_epoch: LeaderEpoch::new(0),
        last_fetched_epoch: LeaderEpoch::UNDEFINED,
    }
}

fn summary(high_watermark: Offset) -> ResponseSummary {
    ResponseSummary {
        has_records: false,
        high_watermark,
        log_start_offset: off(0),
        is_error: false,
    }
}

/// A session of `size` partitions, created at `now_ms`.
fn create(cache: &mut FetchSessionCache, now_ms: u64, privileged: bool, size: i32) -> i32 {
    cache
        .maybe_create_session(now_ms, privileged, false, |s| {
            for p in 0..size {
                s.upsert(key("t", p), Some("t".into()), data(off(0)));
            }
        })
        .0
}

#[test]
fn epochs_follow_kafkas_fetch_metadata() {
    assert_eq!(FetchMetadata::next_epoch(INITIAL_EPOCH), 1);
    assert_eq!(FetchMetadata::next_epoch(41), 42);
    assert_eq!(FetchMetadata::next_epoch(i32::MAX), 1, "wraps past 0");
    assert_eq!(FetchMetadata::next_epoch(FINAL_EPOCH), FINAL_EPOCH);
    assert!(FetchMetadata::INITIAL.is_full());
    assert!(FetchMetadata::LEGACY.is_full());
    let incremental = FetchMetadata {
        session_id: 5,
        epoch: 3,
    };
    assert!(!incremental.is_full());
}

#[test]
fn a_session_keeps_its_partitions_in_order_and_moves_answered_ones_last() {
    let mut s = FetchSession::new(1, false, false, 0);
    assert_eq!(s.epoch, 1, "a new session expects epoch 1");
    assert!(s.upsert(key("a", 0), Some("a".into()), data(off(0))));
    assert!(s.upsert(key("a", 1), Some("a".into()), data(off(0))));
    assert!(s.upsert(key("b", 0), Some("b".into()), data(off(0))));
    assert!(
        !s.upsert(key("a", 0), None, data(off(7))),
        "an update, not an add"
    );
    assert_eq!(s.get(&key("a", 0)).unwrap().data.fetch_offset, off(7));
    assert_eq!(s.get(&key("a", 0)).unwrap().name.as_deref(), Some("a"));
    s.move_to_end(&key("a", 0));
    let order: Vec<_> = s.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(order, vec![key("a", 1), key("b", 0), key("a", 0)]);
    assert!(s.remove(&key("a", 1)));
    assert!(!s.remove(&key("a", 1)));
    assert_eq!(s.len(), 2);
    let order: Vec<_> = s.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(order, vec![key("b", 0), key("a", 0)]);
}

#[test]
fn incremental_answers_carry_only_changes() {
    let mut s = FetchSession::new(1, false, false, 0);
    s.upsert(key("t", 0), Some("t".into()), data(off(0)));
    let cached = s.get_mut(&key("t", 0)).unwrap();
    cached.high_watermark = off(5);
    cached.local_log_start_offset = off(0);

    // Nothing new: left out, and nothing remembered.
    assert!(!cached.maybe_update_response_data(&summary(off(5)), true));
    // Records always go out.
    let records = ResponseSummary {
        has_records: true,
        ..summary(off(5))
    };
    assert!(cached.maybe_update_response_data(&records, true));
    // A moved high watermark goes out once, then is known.
    assert!(cached.maybe_update_response_data(&summary(off(6)), false));
    assert_eq!(
        cached.high_watermark,
        off(5),
        "not remembered without update"
    );
    assert!(cached.maybe_update_response_data(&summary(off(6)), true));
    assert!(!cached.maybe_update_response_data(&summary(off(6)), true));
    // So does a moved log start.
    let moved_start = ResponseSummary {
        log_start_offset: off(3),
        ..summary(off(6))
    };
    assert!(cached.maybe_update_response_data(&moved_start, true));
    assert!(!cached.maybe_update_response_data(&moved_start, true));
    // An error goes out every time, and the recovery after it too.
    let error = ResponseSummary {
        is_error: true,
        ..moved_start
    };
    assert!(cached.maybe_update_response_data(&error, true));
    assert!(cached.maybe_update_response_data(&error, true));
    assert!(cached.maybe_update_response_data(&moved_start, true));
    assert!(!cached.maybe_update_response_data(&moved_start, true));
}

#[test]
fn the_cache_counts_sessions_and_partitions_and_closes_them() {
    let mut cache = FetchSessionCache::new(10, EVICTION_MS);
    let a = create(&mut cache, 0, false, 3);
    let b = create(&mut cache, 0, true, 2);
    assert!(a > 0 && b > 0 && a != b);
    assert_eq!((cache.len(), cache.total_partitions()), (2, 5));
    cache.get_mut(a).unwrap().remove(&key("t", 0));
    assert_eq!(cache.total_partitions(), 5, "counted as of the last use");
    cache.touch(a, 1);
    assert_eq!(cache.total_partitions(), 4);
    assert!(cache.remove(a));
    assert!(!cache.remove(a));
    assert_eq!((cache.len(), cache.total_partitions()), (1, 2));
    assert_eq!(cache.evictions(), 0);
}

#[test]
fn no_slots_keep_no_session() {
    let mut cache = FetchSessionCache::new(0, EVICTION_MS);
    assert_eq!(create(&mut cache, 0, true, 3), INVALID_SESSION_ID);
    assert!(cache.is_empty());
}

#[test]
fn a_full_cache_refuses_consumers_but_followers_evict_young_consumers() {
    let mut cache = FetchSessionCache::new(2, EVICTION_MS);
    let c1 = create(&mut cache, 0, false, 5);
    let c2 = create(&mut cache, 0, false, 6);
    // Young consumer sessions are safe from other consumers, even larger ones.
    assert_eq!(create(&mut cache, 1, false, 100), INVALID_SESSION_ID);
    // A follower evicts the smallest consumer session at once.
    let f1 = create(&mut cache, 2, true, 1);
    assert_ne!(f1, INVALID_SESSION_ID);
    assert!(cache.get(c1).is_none() && cache.get(c2).is_some());
    assert_eq!(cache.evictions(), 1);
    // A young follower session is safe even from followers.
    let f2 = create(&mut cache, 3, true, 50);
    assert_ne!(f2, INVALID_SESSION_ID, "evicts the other consumer");
    assert!(cache.get(c2).is_none());
    assert_eq!(create(&mut cache, 4, true, 500), INVALID_SESSION_ID);
    assert_eq!((cache.len(), cache.evictions()), (2, 2));
}

#[test]
fn old_sessions_are_evicted_by_size_and_stale_ones_by_anyone() {
    let mut cache = FetchSessionCache::new(2, EVICTION_MS);
    let small = create(&mut cache, 0, false, 2);
    let large = create(&mut cache, 0, false, 9);
    // Both old now and in use.
    let now = EVICTION_MS + 10;
    cache.touch(small, now);
    cache.touch(large, now);
    // A smaller consumer session is worth less than any of them.
    assert_eq!(create(&mut cache, now, false, 1), INVALID_SESSION_ID);
    // A larger one evicts the smallest.
    let larger = create(&mut cache, now, false, 3);
    assert_ne!(larger, INVALID_SESSION_ID);
    assert!(cache.get(small).is_none() && cache.get(large).is_some());

    // Unused for longer than the eviction time: anyone evicts it, oldest first.
    let later = now + EVICTION_MS + 1;
    cache.touch(larger, later);
    let tiny = create(&mut cache, later, false, 1);
    assert_ne!(tiny, INVALID_SESSION_ID);
    assert!(cache.get(large).is_none(), "the stale one went");
    assert!(cache.get(larger).is_some());
    assert_eq!(cache.evictions(), 2);
    assert_eq!(cache.total_partitions(), 3 + 1);
}

#[test]
fn old_follower_sessions_are_evicted_only_by_followers() {
    let mut cache = FetchSessionCache::new(1, EVICTION_MS);
    let follower = create(&mut cache, 0, true, 3);
    let now = EVICTION_MS + 10;
    cache.touch(follower, now);
    assert_eq!(create(&mut cache, now, false, 1000), INVALID_SESSION_ID);
    assert_eq!(
        create(&mut cache, now, true, 2),
        INVALID_SESSION_ID,
        "smaller"
    );
    assert_eq!(
        create(&mut cache, now, true, 3),
        INVALID_SESSION_ID,
        "as large"
    );
    let other = create(&mut cache, now, true, 4);
    assert_ne!(other, INVALID_SESSION_ID, "larger: may evict");
    assert!(cache.get(follower).is_none());
}
