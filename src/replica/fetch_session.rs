//! Incremental fetch sessions (KIP-227; Kafka's `FetchSession.scala`), the
//! broker's half: the session cache and what one session remembers.
//!
//! A fetcher opens a session with a full fetch (epoch 0); the broker keeps
//! the partitions it asked for, with the fetch parameters it sent and the
//! high watermark and log start it was last told, under a random positive
//! session id. Later fetches (epoch 1, 2, ...) name only the partitions whose
//! parameters changed, plus `forgotten_topics_data`; the broker reads every
//! partition of the session and answers only those with something new
//! (records, a moved high watermark or log start, an error). Partitions
//! answered move to the end of the session's order, so under `max_bytes`
//! every partition gets its turn (Kafka does the same).
//!
//! The cache holds at most `max.incremental.fetch.session.cache.slots`
//! sessions. When it is full a new session evicts, as Kafka's `tryEvict`
//! does: a session unused for [`MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS`]
//! (by anyone), else the least valuable evictable one if the newcomer is worth
//! more, ranked by (privileged, size): follower sessions are privileged and
//! only evicted by other privileged ones once older than the eviction time;
//! consumer sessions are evictable by followers at once and by larger
//! consumer sessions once older than the eviction time. A newcomer that
//! cannot evict gets session id 0 (no session: it keeps sending full fetches).
//!
//! The contexts built from a request and the response filtering are in
//! `fetch_context.rs`; the follower's (client) side is
//! `fetch_session_handler.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use crate::model::{LeaderEpoch, Offset};

/// Session id 0: no session.
pub const INVALID_SESSION_ID: i32 = 0;
/// A full fetch that opens a session (closing the one named, if any).
pub const INITIAL_EPOCH: i32 = 0;
/// A full fetch without a session (closing the one named, if any).
pub const FINAL_EPOCH: i32 = -1;
/// Kafka's `MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS` (a constant, not a key):
/// a session unused this long may be evicted by any newcomer, and a session
/// younger than this is safe from size-based eviction.
pub const MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS: u64 = 120_000;

/// A request's session id and epoch (Kafka's `FetchMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchMetadata {
    pub session_id: i32,
    pub epoch: i32,
}

impl FetchMetadata {
    /// A fetcher's first request: open a session.
    pub const INITIAL: FetchMetadata = FetchMetadata {
        session_id: INVALID_SESSION_ID,
        epoch: INITIAL_EPOCH,
    };
    /// No session at all (what pre-KIP-227 fetchers send).
    pub const LEGACY: FetchMetadata = FetchMetadata {
        session_id: INVALID_SESSION_ID,
        epoch: FINAL_EPOCH,
    };

    /// Epochs 0 and -1 carry every partition; others only the changes.
    pub fn is_full(&self) -> bool {
        self.epoch == INITIAL_EPOCH || self.epoch == FINAL_EPOCH
    }

    /// The epoch after `epoch`: -1 stays -1, and past `i32::MAX` comes 1.
    pub fn next_epoch(epoch: i32) -> i32 {
        if epoch < 0 {
            FINAL_EPOCH
        } else if epoch == i32::MAX {
            1
        } else {
            epoch + 1
        }
    }
}

/// How a request names a topic: by id from Fetch v13, by name before.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionTopic {
    Name(String),
    Id(Uuid),
}

/// One partition of a session, as the fetcher names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionPartition {
    pub topic: SessionTopic,
    pub partition: i32,
}

/// What a fetcher asks of one partition (Kafka's `FetchRequest.PartitionData`);
/// the follower side compares these to decide what to resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionFetchData {
    pub fetch_offset: Offset,
    /// The fetcher's own log start (-1 from consumers).
    pub log_start_offset: Offset,
    pub max_bytes: i32,
    /// -1 when the fetcher does not say.
    pub current_leader_epoch: LeaderEpoch,
    pub last_fetched_epoch: LeaderEpoch,
}

/// What decides whether a partition's answer goes out in an incremental
/// response (a summary of one `PartitionFetchResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseSummary {
    pub has_records: bool,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub is_error: bool,
}

/// One partition a session remembers (Kafka's `CachedPartition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPartition {
    /// The topic's name; `None` while a topic id is unknown here.
    pub name: Option<String>,
    pub data: PartitionFetchData,
    /// The high watermark last answered (-1: none, or an error was).
    pub high_watermark: Offset,
    /// This broker's log start last answered.
    pub local_log_start_offset: Offset,
    /// Position in the session's order.
    order: u64,
}

impl CachedPartition {
    /// Whether this answer must go out in an incremental response; with
    /// `update`, remembers what it tells the fetcher. An error is always
    /// answered and forgets the high watermark, so the recovery is answered too.
    pub fn maybe_update_response_data(&mut self, resp: &ResponseSummary, update: bool) -> bool {
        let mut must_respond = resp.has_records;
        if self.high_watermark != resp.high_watermark {
            must_respond = true;
            if update {
                self.high_watermark = resp.high_watermark;
            }
        }
        if self.local_log_start_offset != resp.log_start_offset {
            must_respond = true;
            if update {
                self.local_log_start_offset = resp.log_start_offset;
            }
        }
        if resp.is_error {
            must_respond = true;
            if update {
                self.high_watermark = Offset::UNKNOWN;
            }
        }
        must_respond
    }
}

/// One fetch session (Kafka's `FetchSession`).
#[derive(Debug)]
pub struct FetchSession {
    pub id: i32,
    /// Opened by a follower (replica_id >= 0).
    pub privileged: bool,
    /// Opened with topic ids (Fetch v13+); later requests must match.
    pub uses_topic_ids: bool,
    /// The epoch the next request must carry.
    pub epoch: i32,
    partitions: HashMap<SessionPartition, CachedPartition>,
    /// The partitions in the session's order (answered ones move last).
    order: BTreeMap<u64, SessionPartition>,
    next_order: u64,
    creation_ms: u64,
    last_used_ms: u64,
    /// Size as the cache's eviction index knows it.
    cached_size: usize,
}

impl FetchSession {
    pub fn new(id: i32, privileged: bool, uses_topic_ids: bool, now_ms: u64) -> FetchSession {
        FetchSession {
            id,
            privileged,
            uses_topic_ids,
            epoch: FetchMetadata::next_epoch(INITIAL_EPOCH),
            partitions: HashMap::new(),
            order: BTreeMap::new(),
            next_order: 0,
            creation_ms: now_ms,
            last_used_ms: now_ms,
            cached_size: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    pub fn get(&self, key: &SessionPartition) -> Option<&CachedPartition> {
        self.partitions.get(key)
    }

    pub fn get_mut(&mut self, key: &SessionPartition) -> Option<&mut CachedPartition> {
        self.partitions.get_mut(key)
    }

    /// The partitions in the session's order.
    pub fn iter(&self) -> impl Iterator<Item = (&SessionPartition, &CachedPartition)> {
        self.order.values().map(|key| {
            (
                key,
                self.partitions.get(key).expect("ordered keys are held"),
            )
        })
    }

    /// Adds a partition last, or updates its fetch parameters where it is.
    /// Returns true when it was added.
    pub fn upsert(
        &mut self,
        key: SessionPartition,
        name: Option<String>,
        data: PartitionFetchData,
    ) -> bool {
        if let Some(cached) = self.partitions.get_mut(&key) {
            cached.data = data;
            if cached.name.is_none() {
                cached.name = name;
            }
            return false;
        }
        let order = self.take_order();
        self.order.insert(order, key.clone());
        self.partitions.insert(
            key,
            CachedPartition {
                name,
                data,
                high_watermark: Offset::UNKNOWN,
                local_log_start_offset: Offset::UNKNOWN,
                order,
            },
        );
        true
    }

    pub fn remove(&mut self, key: &SessionPartition) -> bool {
        match self.partitions.remove(key) {
            Some(cached) => {
                self.order.remove(&cached.order);
                true
            }
            None => false,
        }
    }

    /// Puts a partition last in the session's order.
    pub fn move_to_end(&mut self, key: &SessionPartition) {
        let order = self.take_order();
        if let Some(cached) = self.partitions.get_mut(key) {
            self.order.remove(&cached.order);
            cached.order = order;
            self.order.insert(order, key.clone());
        }
    }

    fn take_order(&mut self) -> u64 {
        let order = self.next_order;
        self.next_order += 1;
        order
    }

    fn last_used_key(&self) -> (u64, i32) {
        (self.last_used_ms, self.id)
    }

    fn evictable_key(&self) -> EvictableKey {
        (self.privileged, self.cached_size, self.id)
    }
}

/// (privileged, size, id): Kafka's `EvictableKey` order, least valuable first.
type EvictableKey = (bool, usize, i32);

/// The broker's fetch sessions (Kafka's `FetchSessionCache`). Every index
/// holds exactly the sessions of `sessions`, so the cache is bounded by
/// `max_entries`.
#[derive(Debug)]
pub struct FetchSessionCache {
    max_entries: usize,
    eviction_ms: u64,
    sessions: HashMap<i32, FetchSession>,
    /// Sessions by (last used, id).
    last_used: BTreeSet<(u64, i32)>,
    /// Sessions any newcomer may evict when it is worth more.
    evictable_by_all: BTreeSet<EvictableKey>,
    /// Sessions a privileged newcomer may evict when it is worth more.
    evictable_by_privileged: BTreeSet<EvictableKey>,
    num_partitions: usize,
    evictions: u64,
}

impl FetchSessionCache {
    pub fn new(max_entries: usize, eviction_ms: u64) -> FetchSessionCache {
        FetchSessionCache {
            max_entries,
            eviction_ms,
            sessions: HashMap::new(),
            last_used: BTreeSet::new(),
            evictable_by_all: BTreeSet::new(),
            evictable_by_privileged: BTreeSet::new(),
            num_partitions: 0,
            evictions: 0,
        }
    }

    /// Sessions held (Kafka's `NumIncrementalFetchSessions`).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Partitions held by all sessions (`NumIncrementalFetchPartitionsCached`),
    /// as of each session's last use.
    pub fn total_partitions(&self) -> usize {
        self.num_partitions
    }

    /// Sessions evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    pub fn get(&self, id: i32) -> Option<&FetchSession> {
        self.sessions.get(&id)
    }

    pub fn get_mut(&mut self, id: i32) -> Option<&mut FetchSession> {
        self.sessions.get_mut(&id)
    }

    /// Stores `session` under a new id if there is room (evicting if it may);
    /// returns the id, or [`INVALID_SESSION_ID`] when it was not kept.
    pub fn maybe_create_session(
        &mut self,
        now_ms: u64,
        privileged: bool,
        uses_topic_ids: bool,
        fill: impl FnOnce(&mut FetchSession),
    ) -> (i32, bool) {
        let mut session = FetchSession::new(0, privileged, uses_topic_ids, now_ms);
        fill(&mut session);
        let size = session.len();
        let mut evicted = false;
        if self.sessions.len() >= self.max_entries {
            evicted = self.try_evict(privileged, (privileged, size, 0), now_ms);
            if !evicted {
                return (INVALID_SESSION_ID, false);
            }
        }
        session.id = self.new_session_id();
        let id = session.id;
        session.cached_size = size;
        self.sessions.insert(id, session);
        self.index(id, now_ms);
        debug_assert!(self.sessions.len() <= self.max_entries);
        (id, evicted)
    }

    /// Kafka's `tryEvict`: a stale session first, else the least valuable
    /// evictable one if `key` is worth at least as much.
    fn try_evict(&mut self, privileged: bool, key: EvictableKey, now_ms: u64) -> bool {
        let Some(&(last_used, oldest)) = self.last_used.first() else {
            return false;
        };
        let victim = if now_ms.saturating_sub(last_used) > self.eviction_ms {
            oldest
        } else {
            let candidates = if privileged {
                &self.evictable_by_privileged
            } else {
                &self.evictable_by_all
            };
            match candidates.first() {
                Some(&least) if key >= least => least.2,
                _ => return false,
            }
        };
        tracing::debug!(
            session = victim,
            privileged,
            size = key.1,
            "evicting a fetch session"
        );
        self.remove(victim);
        self.evictions += 1;
        true
    }

    /// Removes session `id`; false when there was none.
    pub fn remove(&mut self, id: i32) -> bool {
        let Some(session) = self.sessions.remove(&id) else {
            return false;
        };
        self.last_used.remove(&session.last_used_key());
        self.evictable_by_all.remove(&session.evictable_key());
        self.evictable_by_privileged
            .remove(&session.evictable_key());
        self.num_partitions -= session.cached_size;
        true
    }

    /// Marks session `id` used now, with its current size (Kafka's `touch`).
    pub fn touch(&mut self, id: i32, now_ms: u64) {
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        self.last_used.remove(&session.last_used_key());
        self.evictable_by_all.remove(&session.evictable_key());
        self.evictable_by_privileged
            .remove(&session.evictable_key());
        self.num_partitions -= session.cached_size;
        self.index(id, now_ms);
    }

    /// Enters session `id` into the indexes as used at `now_ms`.
    fn index(&mut self, id: i32, now_ms: u64) {
        let session = self
            .sessions
            .get_mut(&id)
            .expect("indexed sessions are held");
        session.last_used_ms = now_ms;
        session.cached_size = session.len();
        let old_enough = now_ms.saturating_sub(session.creation_ms) > self.eviction_ms;
        let key = session.evictable_key();
        self.last_used.insert(session.last_used_key());
        if !session.privileged || old_enough {
            self.evictable_by_privileged.insert(key);
        }
        if old_enough {
            self.evictable_by_all.insert(key);
        }
        self.num_partitions += session.cached_size;
    }

    /// A random positive id no session has.
    fn new_session_id(&self) -> i32 {
        loop {
            let id = rand::random_range(1..i32::MAX);
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
#[path = "fetch_session_tests.rs"]
mod tests;
