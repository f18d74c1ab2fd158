//! A Fetch request inside the fetch session machinery (Kafka's
//! `FetchManager.newContext`, the `FetchContext`s and `KafkaApis.handleFetch`'s
//! use of them): a request becomes a context (a session error, a sessionless
//! or full fetch, or an incremental fetch over every partition of its
//! session); after the reads (`ReplicaManager::fetch_with_session` in
//! `fetch.rs`) the context says what to answer: everything for full fetches
//! (a full fetch with epoch 0 also opens a session), only the changed
//! partitions for incremental ones.
//!
//! Errors, as Kafka answers them, are in [`FetchSessionError`]: an unknown
//! session id, an epoch other than the one expected (a lost or duplicated
//! request), a session opened with topic ids continued without them (or the
//! other way round). A fetcher that gets one starts over with a full fetch.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use uuid::Uuid;

use super::fetch_params::PartitionFetchResult;
use super::fetch_session::{
    FINAL_EPOCH, FetchMetadata, FetchSessionCache, INVALID_SESSION_ID,
    MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS, PartitionFetchData, ResponseSummary,
    SessionPartition, SessionTopic,
};

/// Why a Fetch request was refused as a whole; each maps to one Kafka code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchSessionError {
    #[error("fetch session {0} not found")]
    SessionIdNotFound(i32),
    #[error("fetch session {session_id} expects epoch {expected}, the request carries {got}")]
    InvalidEpoch {
        session_id: i32,
        expected: i32,
        got: i32,
    },
    #[error("fetch session {0} was opened with the other way of naming topics (ids or names)")]
    TopicIdUsage(i32),
}

/// One partition as a Fetch request names it.
#[derive(Debug, Clone)]
pub struct RequestedPartition {
    pub key: SessionPartition,
    pub data: PartitionFetchData,
}

/// A decoded Fetch request (Kafka's `FetchRequest` as `handleFetch` sees it).
#[derive(Debug, Clone)]
pub struct SessionFetchRequest {
    pub metadata: FetchMetadata,
    /// The fetching follower's broker id; negative for a consumer.
    pub replica_id: i32,
    pub max_wait: Duration,
    pub min_bytes: usize,
    /// Record bytes at most in the answer, already capped by the broker.
    pub max_bytes: usize,
    /// Fetch v13+: topics named by id.
    pub uses_topic_ids: bool,
    pub partitions: Vec<RequestedPartition>,
    /// `forgotten_topics_data`: partitions to drop from the session.
    pub forgotten: Vec<SessionPartition>,
    /// Records in memory or as segment file regions (see `FetchParams`).
    pub read_mode: crate::log::ReadMode,
}

/// The answer to a [`SessionFetchRequest`].
pub struct SessionFetchOutcome<G> {
    /// A refusal of the whole request (then no partitions).
    pub error: Option<FetchSessionError>,
    /// The session the fetcher continues with; 0 for none.
    pub session_id: i32,
    /// The partitions answered, in response order.
    pub partitions: Vec<AnsweredPartition>,
    /// The memory reserved for the records (none when nothing was read).
    pub memory: Option<G>,
}

/// One partition of a response.
#[derive(Debug)]
pub struct AnsweredPartition {
    /// As the fetcher names it.
    pub key: SessionPartition,
    /// Its topic's name here (`None`: an unknown topic id).
    pub name: Option<String>,
    pub result: PartitionFetchResult,
}

/// The session gauges (Kafka's `FetchSessionCache` metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchSessionStats {
    /// `NumIncrementalFetchSessions`.
    pub sessions: usize,
    /// `NumIncrementalFetchPartitionsCached`.
    pub partitions_cached: usize,
    /// Evictions so far (`IncrementalFetchSessionEvictionsPerSec` counts them).
    pub evictions: u64,
}

/// A partition of a context: how the fetcher names it, its topic's name
/// here (`None`: an unknown topic id) and the fetch parameters.
#[derive(Debug, Clone)]
pub struct ContextPartition {
    pub key: SessionPartition,
    pub name: Option<String>,
    pub data: PartitionFetchData,
}

/// What one request is, after the session cache looked at it.
#[derive(Debug)]
pub enum FetchContext {
    SessionError {
        error: FetchSessionError,
    },
    /// Epoch -1 (or a session emptied by forgets): no session.
    Sessionless {
        partitions: Vec<ContextPartition>,
    },
    /// Epoch 0: a new session, if the cache keeps it.
    Full {
        partitions: Vec<ContextPartition>,
        privileged: bool,
        uses_topic_ids: bool,
    },
    /// Every partition of session `session_id`, in its order.
    Incremental {
        session_id: i32,
        request_epoch: i32,
        partitions: Vec<ContextPartition>,
    },
}

impl FetchContext {
    pub fn partitions(&self) -> &[ContextPartition] {
        match self {
            FetchContext::SessionError { .. } => &[],
            FetchContext::Sessionless { partitions }
            | FetchContext::Full { partitions, .. }
            | FetchContext::Incremental { partitions, .. } => partitions,
        }
    }
}

/// Which partitions of a context go out, and under which session.
#[derive(Debug, PartialEq, Eq)]
pub struct SessionAnswer {
    pub error: Option<FetchSessionError>,
    pub session_id: i32,
    /// Per context partition: answered or left out.
    pub keep: Vec<bool>,
}

/// The broker's fetch sessions and the contexts built on them (Kafka's
/// `FetchManager`). One lock over the whole cache: every use is short.
pub struct FetchManager {
    cache: Mutex<FetchSessionCache>,
    started: Instant,
}

impl FetchManager {
    /// `max_entries`: `max.incremental.fetch.session.cache.slots`.
    pub fn new(max_entries: usize) -> FetchManager {
        FetchManager {
            cache: Mutex::new(FetchSessionCache::new(
                max_entries,
                MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS,
            )),
            started: Instant::now(),
        }
    }

    /// Milliseconds on this manager's monotonic clock.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn stats(&self) -> FetchSessionStats {
        let cache = self.cache.lock();
        FetchSessionStats {
            sessions: cache.len(),
            partitions_cached: cache.total_partitions(),
            evictions: cache.evictions(),
        }
    }

    /// Kafka's `newContext`: a full request closes the session it names
    /// and (epoch 0) is to open one; an incremental one must name a known
    /// session in its expected epoch, then updates it and moves its epoch on.
    /// `resolve` names a topic id (once per id and request).
    pub fn new_context(
        &self,
        request: &SessionFetchRequest,
        resolve: &(dyn Fn(&Uuid) -> Option<String> + Sync),
        now_ms: u64,
    ) -> FetchContext {
        let mut names = TopicNames::new(resolve);
        let metadata = request.metadata;
        let requested = || -> Vec<ContextPartition> {
            request
                .partitions
                .iter()
                .map(|p| ContextPartition {
                    key: p.key.clone(),
                    name: None,
                    data: p.data,
                })
                .collect()
        };
        let mut cache = self.cache.lock();
        if metadata.is_full() {
            if metadata.session_id != INVALID_SESSION_ID && cache.remove(metadata.session_id) {
                tracing::debug!(session = metadata.session_id, "closed fetch session");
            }
            let mut partitions = requested();
            names.fill(&mut partitions);
            return if metadata.epoch == FINAL_EPOCH {
                FetchContext::Sessionless { partitions }
            } else {
                FetchContext::Full {
                    partitions,
                    privileged: request.replica_id >= 0,
                    uses_topic_ids: request.uses_topic_ids,
                }
            };
        }
        let id = metadata.session_id;
        let Some(session) = cache.get_mut(id) else {
            return FetchContext::SessionError {
                error: FetchSessionError::SessionIdNotFound(id),
            };
        };
        if session.epoch != metadata.epoch {
            return FetchContext::SessionError {
                error: FetchSessionError::InvalidEpoch {
                    session_id: id,
                    expected: session.epoch,
                    got: metadata.epoch,
                },
            };
        }
        if session.uses_topic_ids != request.uses_topic_ids {
            return FetchContext::SessionError {
                error: FetchSessionError::TopicIdUsage(id),
            };
        }
        for p in &request.partitions {
            session.upsert(p.key.clone(), None, p.data);
        }
        for key in &request.forgotten {
            session.remove(key);
        }
        if session.is_empty() {
            cache.remove(id);
            tracing::debug!(session = id, "fetch session emptied by its fetcher: closed");
            let mut partitions = requested();
            names.fill(&mut partitions);
            return FetchContext::Sessionless { partitions };
        }
        session.epoch = FetchMetadata::next_epoch(session.epoch);
        let mut partitions: Vec<ContextPartition> = session
            .iter()
            .map(|(key, cached)| ContextPartition {
                key: key.clone(),
                name: None,
                data: cached.data,
            })
            .collect();
        cache.touch(id, now_ms);
        drop(cache);
        names.fill(&mut partitions);
        FetchContext::Incremental {
            session_id: id,
            request_epoch: metadata.epoch,
            partitions,
        }
    }

    /// Kafka's `updateAndGenerateResponseData`: which partitions of the
    /// context are answered (one summary per context partition), opening
    /// the session of a full fetch and remembering what an incremental one
    /// tells its fetcher.
    pub fn update_and_generate(
        &self,
        context: &FetchContext,
        summaries: &[ResponseSummary],
        now_ms: u64,
    ) -> SessionAnswer {
        assert_eq!(context.partitions().len(), summaries.len());
        let everything = |session_id| SessionAnswer {
            error: None,
            session_id,
            keep: vec![true; summaries.len()],
        };
        let refused = |error, session_id| SessionAnswer {
            error: Some(error),
            session_id,
            keep: Vec::new(),
        };
        let mut cache = self.cache.lock();
        match context {
            FetchContext::SessionError { error } => refused(error.clone(), INVALID_SESSION_ID),
            FetchContext::Sessionless { .. } => everything(INVALID_SESSION_ID),
            FetchContext::Full {
                partitions,
                privileged,
                uses_topic_ids,
            } => {
                let (id, evicted) =
                    cache.maybe_create_session(now_ms, *privileged, *uses_topic_ids, |session| {
                        for (p, summary) in partitions.iter().zip(summaries) {
                            session.upsert(p.key.clone(), p.name.clone(), p.data);
                            let cached = session.get_mut(&p.key).expect("just added");
                            cached.high_watermark = summary.high_watermark;
                            cached.local_log_start_offset = summary.log_start_offset;
                        }
                    });
                if evicted {
                    crate::metrics::global().record_fetch_session_eviction();
                }
                everything(id)
            }
            FetchContext::Incremental {
                session_id,
                request_epoch,
                partitions,
            } => {
                let Some(session) = cache.get_mut(*session_id) else {
                    // Evicted or closed meanwhile.
                    return refused(
                        FetchSessionError::SessionIdNotFound(*session_id),
                        INVALID_SESSION_ID,
                    );
                };
                let expected = FetchMetadata::next_epoch(*request_epoch);
                if session.epoch != expected {
                    tracing::info!(
                        session = session_id,
                        expected,
                        epoch = session.epoch,
                        "fetch session moved on while this fetch was read: a duplicate request?"
                    );
                    return refused(
                        FetchSessionError::InvalidEpoch {
                            session_id: *session_id,
                            expected,
                            got: session.epoch,
                        },
                        *session_id,
                    );
                }
                let mut keep = Vec::with_capacity(partitions.len());
                for (p, summary) in partitions.iter().zip(summaries) {
                    // A partition forgotten by a racing request is left out.
                    let answered = session
                        .get_mut(&p.key)
                        .is_some_and(|cached| cached.maybe_update_response_data(summary, true));
                    if answered {
                        session.move_to_end(&p.key);
                    }
                    keep.push(answered);
                }
                SessionAnswer {
                    error: None,
                    session_id: *session_id,
                    keep,
                }
            }
        }
    }
}

/// Topic names of a request's topic ids, each resolved once.
struct TopicNames<'a> {
    resolve: &'a dyn Fn(&Uuid) -> Option<String>,
    known: HashMap<Uuid, Option<String>>,
}

impl<'a> TopicNames<'a> {
    fn new(resolve: &'a dyn Fn(&Uuid) -> Option<String>) -> Self {
        TopicNames {
            resolve,
            known: HashMap::new(),
        }
    }

    fn fill(&mut self, partitions: &mut [ContextPartition]) {
        for p in partitions {
            p.name = match &p.key.topic {
                SessionTopic::Name(name) => Some(name.clone()),
                SessionTopic::Id(id) => self
                    .known
                    .entry(*id)
                    .or_insert_with(|| (self.resolve)(id))
                    .clone(),
            };
        }
    }
}

impl ResponseSummary {
    pub fn of(result: &PartitionFetchResult) -> ResponseSummary {
        ResponseSummary {
            has_records: !result.records.is_empty(),
            high_watermark: result.high_watermark,
            log_start_offset: result.log_start_offset,
            is_error: result.error.is_some(),
        }
    }
}

#[cfg(test)]
#[path = "fetch_context_tests.rs"]
mod tests;
