//! Partition: one hosted replica of a topic-partition, its log, and what the
//! controller last told us about it (leader, leader epoch, ISR, replicas).
//! The leader keeps every follower's log end offset and moves the high
//! watermark to the smallest log end offset in the ISR (Kafka's Partition).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::RwLock;
use uuid::Uuid;

use super::ReplicaError;
use crate::log::{AppendInfo, Log};
use crate::model::{LeaderEpoch, Offset, TopicPartition};

/// How far a reader may see: consumers stop at the high watermark, followers at the log end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchIsolation {
    HighWatermark,
    LogEnd,
}

/// The leadership facts of one partition, replaced by each LeaderAndIsr.
#[derive(Debug, Clone)]
pub(super) struct LeadershipState {
    pub topic_id: Uuid,
    pub leader: i32,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<i32>,
    /// Log end offsets of followers, known to the leader from their fetches.
    pub follower_leos: HashMap<i32, Offset>,
}

pub struct Partition {
    pub tp: TopicPartition,
    local_broker: i32,
    log: Arc<Log>,
    state: RwLock<LeadershipState>,
    high_watermark: AtomicI64,
}

/// What one partition read produced, with the offsets a Fetch response carries.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    pub records: bytes::Bytes,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
}

impl Partition {
    pub(super) fn new(
        tp: TopicPartition,
        local_broker: i32,
        log: Arc<Log>,
        state: LeadershipState,
        high_watermark: Offset,
    ) -> Partition {
        let hw = high_watermark.clamp(log.log_start_offset(), log.log_end_offset());
        Partition {
            tp,
            local_broker,
            log,
            state: RwLock::new(state),
            high_watermark: AtomicI64::new(hw),
        }
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    pub fn topic_id(&self) -> Uuid {
        self.state.read().topic_id
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark.load(Ordering::Acquire)
    }

    pub fn leader_epoch(&self) -> LeaderEpoch {
        self.state.read().leader_epoch
    }

    pub fn leader_id(&self) -> i32 {
        self.state.read().leader
    }

    pub fn is_leader(&self) -> bool {
        self.state.read().leader == self.local_broker
    }

    pub fn isr(&self) -> Vec<i32> {
        self.state.read().isr.clone()
    }

    /// Replaces the leadership facts; returns false (and changes nothing) when
    /// the new leader epoch is older than what we have.
    pub(super) fn update_leadership(&self, next: LeadershipState) -> bool {
        let mut state = self.state.write();
        if next.leader_epoch < state.leader_epoch {
            return false;
        }
        let keep_leos = state.leader == next.leader && next.leader == self.local_broker;
        let follower_leos = if keep_leos {
            std::mem::take(&mut state.follower_leos)
        } else {
            HashMap::new()
        };
        *state = LeadershipState {
            follower_leos,
            ..next
        };
        drop(state);
        self.maybe_increment_high_watermark();
        true
    }

    /// Checks that a client's view of the leader epoch matches ours (-1 skips the check).
    pub fn check_leader_epoch(&self, requested: i32) -> Result<(), ReplicaError> {
        if requested < 0 {
            return Ok(());
        }
        let current = self.leader_epoch();
        if requested < current {
            Err(ReplicaError::FencedLeaderEpoch {
                partition: self.tp.to_string(),
                request: requested,
                current,
            })
        } else if requested > current {
            Err(ReplicaError::UnknownLeaderEpoch {
                partition: self.tp.to_string(),
                request: requested,
                current,
            })
        } else {
            Ok(())
        }
    }

    /// Appends client batches as leader; the ISR check for acks=all comes first
    /// so a refused write is not written at all (NOT_ENOUGH_REPLICAS).
    pub fn append_as_leader(
        &self,
        records: &mut [u8],
        now_ms: i64,
        required_acks: i16,
        min_insync_replicas: usize,
    ) -> Result<AppendInfo, ReplicaError> {
        let state = self.state.read();
        if state.leader != self.local_broker {
            return Err(ReplicaError::NotLeaderOrFollower(self.tp.to_string()));
        }
        if required_acks == -1 && state.isr.len() < min_insync_replicas {
            return Err(ReplicaError::NotEnoughReplicas {
                partition: self.tp.to_string(),
                isr: state.isr.len(),
                min_isr: min_insync_replicas,
            });
        }
        let info = self.log.append_as_leader(records, now_ms)?;
        drop(state);
        self.maybe_increment_high_watermark();
        Ok(info)
    }

    /// Records a follower's log end offset from its fetch and maybe moves the high watermark.
    pub fn update_follower_leo(&self, follower: i32, leo: Offset) -> bool {
        self.state.write().follower_leos.insert(follower, leo);
        self.maybe_increment_high_watermark()
    }

    /// Moves the high watermark up to the smallest log end offset in the ISR.
    /// Returns whether it moved.
    pub fn maybe_increment_high_watermark(&self) -> bool {
        let state = self.state.read();
        if state.leader != self.local_broker {
            return false;
        }
        let local_leo = self.log.log_end_offset();
        let new_hw = state
            .isr
            .iter()
            .map(|&id| {
                if id == self.local_broker {
                    local_leo
                } else {
                    state.follower_leos.get(&id).copied().unwrap_or(0)
                }
            })
            .min()
            .unwrap_or(local_leo);
        drop(state);
        self.high_watermark.fetch_max(new_hw, Ordering::AcqRel) < new_hw
    }

    /// Followers learn the high watermark from their leader's fetch responses.
    pub fn set_high_watermark_as_follower(&self, leader_hw: Offset) {
        let hw = leader_hw.min(self.log.log_end_offset());
        self.high_watermark.store(hw, Ordering::Release);
    }

    pub fn read(
        &self,
        fetch_offset: Offset,
        max_bytes: usize,
        isolation: FetchIsolation,
        min_one_batch: bool,
    ) -> Result<ReadOutcome, ReplicaError> {
        let high_watermark = self.high_watermark();
        let log_end_offset = self.log.log_end_offset();
        let bound = match isolation {
            FetchIsolation::HighWatermark => high_watermark,
            FetchIsolation::LogEnd => log_end_offset,
        };
        // Between the bound and the log end there is nothing to show yet; past
        // the log end the log answers OFFSET_OUT_OF_RANGE.
        let records = if fetch_offset >= bound && fetch_offset <= log_end_offset {
            bytes::Bytes::new()
        } else {
            self.log
                .read(fetch_offset, max_bytes, bound, min_one_batch)?
                .records
        };
        Ok(ReadOutcome {
            records,
            high_watermark,
            log_start_offset: self.log.log_start_offset(),
            log_end_offset,
        })
    }
}
