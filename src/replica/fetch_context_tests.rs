//! Fetch contexts: full fetches open sessions, incremental ones continue
//! them (wrong epochs and unknown ids refused, forgets applied, only
//! changes answered), epoch -1 closes; and `fetch_with_session` end to end
//! over a real leader partition.

use super::*;
use crate::model::LeaderEpoch;
use crate::model::off;
use crate::replica::append::tests::{leading_manager, produce};
use crate::replica::fetch_params::{FetchMemory, FetchReservation};

fn key(topic: &str, partition: i32) -> SessionPartition {
    SessionPartition {
        topic: SessionTopic::Name(topic.to_owned()),
        partition,
    }
}

fn data(fetch_offset: i64) -> PartitionFetchData {
    PartitionFetchData {
        fetch_offset: off(fetch_offset),
        log_start_offset: off(-1),
        max_bytes: 1 << 20,
        current_leader_epoch: LeaderEpoch::new(0),
        last_fetched_epoch: LeaderEpoch::UNDEFINED,
    }
}

fn request(session_id: i32, epoch: i32, keys: &[SessionPartition]) -> SessionFetchRequest {
    SessionFetchRequest {
        metadata: FetchMetadata { session_id, epoch },
        replica_id: -1,
        max_wait: Duration::ZERO,
        min_bytes: 0,
        max_bytes: 1 << 20,
        uses_topic_ids: false,
        partitions: keys
            .iter()
            .map(|k| RequestedPartition {
                key: k.clone(),
                data: data(0),
            })
            .collect(),
        forgotten: Vec::new(),
        read_mode: crate::log::ReadMode::Memory,
    }
}

fn no_ids(_: &Uuid) -> Option<String> {
    None
}

fn quiet(high_watermark: i64) -> ResponseSummary {
    ResponseSummary {
        has_records: false,
        high_watermark: off(high_watermark),
        log_start_offset: off(0),
        is_error: false,
    }
}

fn keys_of(context: &FetchContext) -> Vec<SessionPartition> {
    context.partitions().iter().map(|p| p.key.clone()).collect()
}

/// Opens a session over `keys` (high watermark 0 everywhere).
fn open(manager: &FetchManager, keys: &[SessionPartition]) -> i32 {
    let context = manager.new_context(&request(0, 0, keys), &no_ids, 0);
    assert!(matches!(context, FetchContext::Full { .. }));
    let summaries = vec![quiet(0); keys.len()];
    let answer = manager.update_and_generate(&context, &summaries, 0);
    assert_eq!(
        answer.keep,
        vec![true; keys.len()],
        "a full fetch answers all"
    );
    assert_ne!(answer.session_id, INVALID_SESSION_ID);
    answer.session_id
}

#[test]
fn a_full_fetch_opens_a_session_and_incremental_ones_answer_changes() {
    let manager = FetchManager::new(10);
    let all = [key("a", 0), key("a", 1), key("b", 0)];
    let id = open(&manager, &all);
    assert_eq!(
        manager.stats(),
        FetchSessionStats {
            sessions: 1,
            partitions_cached: 3,
            evictions: 0
        }
    );

    // Epoch 1 names nothing: every session partition is read, none answered.
    let context = manager.new_context(&request(id, 1, &[]), &no_ids, 1);
    assert_eq!(keys_of(&context), all.to_vec());
    let answer = manager.update_and_generate(&context, &[quiet(0); 3], 1);
    assert_eq!((answer.error, answer.session_id), (None, id));
    assert_eq!(answer.keep, vec![false; 3]);

    // Epoch 2: a1's high watermark moved; it alone goes out, then moves last.
    let context = manager.new_context(&request(id, 2, &[]), &no_ids, 2);
    let answer = manager.update_and_generate(&context, &[quiet(0), quiet(4), quiet(0)], 2);
    assert_eq!(answer.keep, vec![false, true, false]);
    let context = manager.new_context(&request(id, 3, &[]), &no_ids, 3);
    assert_eq!(
        keys_of(&context),
        vec![key("a", 0), key("b", 0), key("a", 1)]
    );
    // A partition sent again updates the session's fetch parameters.
    let mut moved = request(id, 4, &[key("b", 0)]);
    moved.partitions[0].data.fetch_offset = off(9);
    let context = manager.new_context(&moved, &no_ids, 4);
    let b0 = &context.partitions()[1];
    assert_eq!(
        (b0.key.clone(), b0.data.fetch_offset),
        (key("b", 0), off(9))
    );
}

#[test]
fn wrong_epochs_and_unknown_ids_are_refused() {
    let manager = FetchManager::new(10);
    let id = open(&manager, &[key("a", 0)]);
    let refused = |context: FetchContext| match context {
        FetchContext::SessionError { error } => error,
        other => panic!("not refused: {other:?}"),
    };
    assert_eq!(
        refused(manager.new_context(&request(id, 2, &[]), &no_ids, 1)),
        FetchSessionError::InvalidEpoch {
            session_id: id,
            expected: 1,
            got: 2
        }
    );
    let unknown = id.wrapping_add(1).max(1);
    assert_eq!(
        refused(manager.new_context(&request(unknown, 1, &[]), &no_ids, 1)),
        FetchSessionError::SessionIdNotFound(unknown)
    );
    let mut by_id = request(id, 1, &[]);
    by_id.uses_topic_ids = true;
    assert_eq!(
        refused(manager.new_context(&by_id, &no_ids, 1)),
        FetchSessionError::TopicIdUsage(id)
    );
    // The session survives refusals: epoch 1 is still expected.
    let context = manager.new_context(&request(id, 1, &[]), &no_ids, 1);
    assert!(matches!(context, FetchContext::Incremental { .. }));
    let answer = manager.update_and_generate(&context, &[quiet(0)], 1);
    assert_eq!(answer.error, None);
    // A session error answer carries no session.
    let error = manager.new_context(&request(unknown, 1, &[]), &no_ids, 1);
    let answer = manager.update_and_generate(&error, &[], 1);
    assert_eq!(answer.session_id, INVALID_SESSION_ID);
    assert!(answer.error.is_some() && answer.keep.is_empty());
}

#[test]
fn a_duplicate_request_loses_the_race_for_the_epoch() {
    let manager = FetchManager::new(10);
    let id = open(&manager, &[key("a", 0)]);
    let first = manager.new_context(&request(id, 1, &[]), &no_ids, 1);
    // The same epoch again (a retry) while the first is being read.
    let second = manager.new_context(&request(id, 1, &[]), &no_ids, 1);
    assert!(matches!(second, FetchContext::SessionError { .. }));
    // A later request moves the epoch on before the first answers.
    let third = manager.new_context(&request(id, 2, &[]), &no_ids, 2);
    assert!(matches!(third, FetchContext::Incremental { .. }));
    let answer = manager.update_and_generate(&first, &[quiet(0)], 2);
    assert!(matches!(
        answer.error,
        Some(FetchSessionError::InvalidEpoch { .. })
    ));
    assert_eq!(answer.session_id, id);
}

#[test]
fn forgets_shrink_a_session_and_an_empty_one_closes() {
    let manager = FetchManager::new(10);
    let id = open(&manager, &[key("a", 0), key("a", 1)]);
    let mut forget = request(id, 1, &[key("c", 0)]);
    forget.forgotten = vec![key("a", 0), key("zz", 9)];
    let context = manager.new_context(&forget, &no_ids, 1);
    assert_eq!(keys_of(&context), vec![key("a", 1), key("c", 0)]);
    // The added partition has no answer remembered: it goes out.
    let answer = manager.update_and_generate(&context, &[quiet(0), quiet(0)], 1);
    assert_eq!(answer.keep, vec![false, true]);

    let mut forget_all = request(id, 2, &[]);
    forget_all.forgotten = vec![key("a", 1), key("c", 0)];
    let context = manager.new_context(&forget_all, &no_ids, 2);
    assert!(matches!(context, FetchContext::Sessionless { .. }));
    assert_eq!(manager.stats().sessions, 0);
}

#[test]
fn epoch_minus_one_closes_the_named_session_and_opens_none() {
    let manager = FetchManager::new(10);
    let id = open(&manager, &[key("a", 0)]);
    let context = manager.new_context(&request(id, FINAL_EPOCH, &[key("a", 0)]), &no_ids, 1);
    assert!(matches!(context, FetchContext::Sessionless { .. }));
    assert_eq!(manager.stats().sessions, 0);
    let answer = manager.update_and_generate(&context, &[quiet(0)], 1);
    assert_eq!(
        (answer.session_id, answer.keep),
        (INVALID_SESSION_ID, vec![true])
    );
    // A full fetch with epoch 0 naming an old session replaces it.
    let old = open(&manager, &[key("a", 0)]);
    let context = manager.new_context(&request(old, 0, &[key("b", 0)]), &no_ids, 2);
    let answer = manager.update_and_generate(&context, &[quiet(0)], 2);
    assert_ne!(answer.session_id, old);
    assert_eq!(manager.stats().sessions, 1);
}

#[test]
fn topic_ids_are_resolved_once_per_request() {
    let manager = FetchManager::new(10);
    let known = Uuid::from_u128(1);
    let unknown = Uuid::from_u128(2);
    let id_key = |id, partition| SessionPartition {
        topic: SessionTopic::Id(id),
        partition,
    };
    let count = std::sync::atomic::AtomicUsize::new(0);
    let resolve_sync = |id: &Uuid| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (*id == known).then(|| "t".to_owned())
    };
    let mut by_id = request(0, 0, &[]);
    by_id.uses_topic_ids = true;
    by_id.partitions = [id_key(known, 0), id_key(known, 1), id_key(unknown, 0)]
        .into_iter()
        .map(|key| RequestedPartition { key, data: data(0) })
        .collect();
    let context = manager.new_context(&by_id, &resolve_sync, 0);
    let names: Vec<_> = context
        .partitions()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(names, vec![Some("t".into()), Some("t".into()), None]);
    assert_eq!(count.load(std::sync::atomic::Ordering::Relaxed), 2);
}

/// Memory that never runs out.
struct Unbounded;

struct Grant(usize);

impl FetchMemory for Unbounded {
    type Grant = Grant;

    async fn reserve(&self, want: usize) -> Grant {
        Grant(want)
    }
}

impl FetchReservation for Grant {
    fn bytes(&self) -> usize {
        self.0
    }

    fn settle(&mut self, used: usize) {
        self.0 = used;
    }
}

#[tokio::test]
async fn fetch_with_session_answers_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1]);
    let t = key("t", 0);
    let missing = key("missing", 0);
    let full = manager
        .fetch_with_session(
            &request(0, 0, &[t.clone(), missing.clone()]),
            &no_ids,
            &Unbounded,
        )
        .await;
    assert_eq!(full.error, None);
    let id = full.session_id;
    assert_ne!(id, INVALID_SESSION_ID);
    assert_eq!(
        full.partitions.len(),
        2,
        "a full fetch answers every partition"
    );
    assert_eq!(manager.fetch_manager().stats().partitions_cached, 2);

    // Nothing new on t-0; the unknown partition's error is answered again.
    let quiet = manager
        .fetch_with_session(&request(id, 1, &[]), &no_ids, &Unbounded)
        .await;
    assert_eq!(quiet.session_id, id);
    let answered: Vec<_> = quiet.partitions.iter().map(|p| p.key.clone()).collect();
    assert_eq!(answered, vec![missing.clone()]);

    // Records on t-0 (acks=1, one replica: the high watermark moves too).
    produce(&manager, 3).await;
    let changed = manager
        .fetch_with_session(&request(id, 2, &[]), &no_ids, &Unbounded)
        .await;
    let t0_answer = changed.partitions.iter().find(|p| p.key == t).unwrap();
    assert!(!t0_answer.result.records.is_empty());
    assert_eq!(t0_answer.result.high_watermark, off(3));

    let wrong = manager
        .fetch_with_session(&request(id, 2, &[]), &no_ids, &Unbounded)
        .await;
    assert!(matches!(
        wrong.error,
        Some(FetchSessionError::InvalidEpoch { .. })
    ));
    assert!(wrong.partitions.is_empty() && wrong.memory.is_none());
}
