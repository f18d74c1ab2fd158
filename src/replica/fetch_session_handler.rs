//! A fetcher's side of an incremental fetch session (KIP-227; Kafka's
//! `FetchSessionHandler`), used by the replica fetchers toward their leader.
//!
//! The first request is full (epoch 0): every partition, and the leader
//! answers with a session id. From then on each request carries the
//! session id and the next epoch, and names only the partitions that were
//! added or whose fetch parameters changed (fetch offset, log start, leader
//! epoch), plus the ones no longer fetched as forgotten; the leader answers
//! only partitions with news. Any session error, or a request that got no
//! answer, makes the next request a full one (closing the old session when
//! the leader may still hold it), as Kafka's handler does.

use std::collections::HashMap;

use super::fetch_session::{FetchMetadata, INITIAL_EPOCH, INVALID_SESSION_ID, PartitionFetchData};
use crate::model::TopicPartition;

/// How a response refused the request as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFailure {
    /// FETCH_SESSION_ID_NOT_FOUND: the leader holds no such session.
    NotFound,
    /// Any other top-level error (INVALID_FETCH_SESSION_EPOCH, ...).
    Other,
}

/// One request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequestData {
    pub metadata: FetchMetadata,
    /// Every partition of a full request; the added and changed ones of an
    /// incremental one. Sorted.
    pub to_send: Vec<(TopicPartition, PartitionFetchData)>,
    /// Partitions to drop from the session (incremental requests only). Sorted.
    pub to_forget: Vec<TopicPartition>,
}

/// The session with one leader (see the module doc).
#[derive(Debug)]
pub struct FetchSessionHandler {
    next_metadata: FetchMetadata,
    /// What the leader's session holds, as last sent.
    session_partitions: HashMap<TopicPartition, PartitionFetchData>,
}

impl Default for FetchSessionHandler {
    fn default() -> Self {
        FetchSessionHandler {
            next_metadata: FetchMetadata::INITIAL,
            session_partitions: HashMap::new(),
        }
    }
}

impl FetchSessionHandler {
    /// The request for fetching `next` (every partition wanted now).
    pub fn build(&mut self, next: Vec<(TopicPartition, PartitionFetchData)>) -> FetchRequestData {
        let metadata = self.next_metadata;
        let next: HashMap<TopicPartition, PartitionFetchData> = next.into_iter().collect();
        let mut to_send: Vec<(TopicPartition, PartitionFetchData)>;
        let mut to_forget: Vec<TopicPartition> = Vec::new();
        if metadata.is_full() {
            to_send = next.iter().map(|(tp, d)| (tp.clone(), *d)).collect();
        } else {
            to_forget = self
                .session_partitions
                .keys()
                .filter(|tp| !next.contains_key(*tp))
                .cloned()
                .collect();
            to_send = next
                .iter()
                .filter(|(tp, d)| self.session_partitions.get(*tp) != Some(*d))
                .map(|(tp, d)| (tp.clone(), *d))
                .collect();
        }
        to_send.sort_by(|a, b| a.0.cmp(&b.0));
        to_forget.sort();
        self.session_partitions = next;
        FetchRequestData {
            metadata,
            to_send,
            to_forget,
        }
    }

    /// The leader answered: `failure` for a refusal of the whole request,
    /// with the answer's session id. Returns whether the answer's partitions
    /// may be used.
    pub fn handle_response(&mut self, failure: Option<SessionFailure>, session_id: i32) -> bool {
        match failure {
            Some(SessionFailure::NotFound) => {
                self.next_metadata = FetchMetadata::INITIAL;
                false
            }
            Some(SessionFailure::Other) => {
                self.close_existing();
                false
            }
            None if session_id == INVALID_SESSION_ID => {
                // No session kept (a full cache, or epoch -1): full next time.
                self.next_metadata = FetchMetadata::INITIAL;
                true
            }
            None if self.next_metadata.is_full() => {
                self.next_metadata = FetchMetadata {
                    session_id,
                    epoch: FetchMetadata::next_epoch(INITIAL_EPOCH),
                };
                true
            }
            None => {
                self.next_metadata.epoch = FetchMetadata::next_epoch(self.next_metadata.epoch);
                true
            }
        }
    }

    /// The request got no answer: start over with a full request that
    /// closes the session the leader may still hold.
    pub fn handle_error(&mut self) {
        self.close_existing();
    }

    fn close_existing(&mut self) {
        self.next_metadata = FetchMetadata {
            session_id: self.next_metadata.session_id,
            epoch: INITIAL_EPOCH,
        };
    }
}

#[cfg(test)]
#[path = "fetch_session_handler_tests.rs"]
mod tests;
