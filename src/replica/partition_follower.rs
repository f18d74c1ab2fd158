//! The follower side of a Partition: appending what the leader sent (its
//! offsets and epochs kept), taking the leader's high watermark, and the
//! fetcher's truncations, each fenced by the leader epoch it was decided in.

use std::sync::atomic::Ordering;

use super::{LeadershipState, Partition};
use crate::log::whole_batch_headers;
use crate::model::{LeaderEpoch, Offset};
use crate::replica::ReplicaError;
use crate::replica::producer_snapshot;
use crate::replica::producer_state::ProducerStateTable;

impl Partition {
    /// Appends batches fetched from the leader in `fetched_epoch`, keeping
    /// their offsets; newer batch epochs enter the epoch cache; the high
    /// watermark follows the leader's. Returns the new log end offset.
    pub fn append_as_follower(
        &self,
        fetched_epoch: LeaderEpoch,
        records: &[u8],
        leader_high_watermark: Offset,
    ) -> Result<Offset, ReplicaError> {
        let state = self.state.read();
        if state.leader_and_isr.leader == self.local_broker
            || state.leader_and_isr.leader_epoch != fetched_epoch
        {
            return Err(ReplicaError::NotLeaderOrFollower(self.tp.to_string()));
        }
        // Whole batches only: a leader may cut the last one short at the
        // size limit (Kafka's do); it comes again with the next fetch.
        let whole: usize = whole_batch_headers(records)
            .iter()
            .map(|h| h.size_bytes())
            .sum();
        if whole > 0 {
            let mut producers = self.producer_state.lock();
            let outcome = self.log.append_as_follower(&records[..whole])?;
            self.record_appended(&mut producers, &outcome);
            drop(producers);
            // Newer batch epochs enter the epoch cache, from the batches the
            // log wrote (no walk of our own).
            let mut latest = self
                .epoch_cache
                .latest_epoch()
                .unwrap_or(LeaderEpoch::UNDEFINED);
            for batch in &outcome.batches {
                if batch.partition_leader_epoch > latest {
                    latest = batch.partition_leader_epoch;
                    self.epoch_cache.assign(latest, batch.base_offset)?;
                }
            }
        }
        drop(state);
        self.set_high_watermark_as_follower(leader_high_watermark);
        Ok(self.log.log_end_offset())
    }

    /// Follower truncation before fetching: drops offsets `>= offset`. Only
    /// while this replica still follows in `leader_epoch` (the epoch the
    /// fetcher asked in): the state lock is held throughout, so a
    /// LeaderAndIsr making us leader waits for a truncation in progress, and
    /// a truncation decided before it is refused afterwards
    /// (NotLeaderOrFollower), as Kafka's fetcher-removal and partition locks do.
    pub fn truncate_to(
        &self,
        offset: Offset,
        leader_epoch: LeaderEpoch,
    ) -> Result<(), ReplicaError> {
        let state = self.state.read();
        self.check_following(&state, leader_epoch)?;
        let mut producers = self.producer_state.lock();
        let before = self.log.log_end_offset();
        self.log.truncate_to(offset)?;
        if self.log.log_end_offset() != before {
            // Cached batches past the cut are gone, and older ones they had
            // evicted come back: reload (snapshots past the cut are deleted).
            *producers = ProducerStateTable::load(&self.log)?;
        }
        drop(producers);
        let leo = self.log.log_end_offset();
        self.epoch_cache.truncate_from_end(leo)?;
        self.high_watermark.fetch_min(leo, Ordering::AcqRel);
        drop(state);
        Ok(())
    }

    /// The leader's log starts past ours: start over empty at `offset`. Only
    /// while following in `leader_epoch` (see `truncate_to`).
    pub fn truncate_fully_and_start_at(
        &self,
        offset: Offset,
        leader_epoch: LeaderEpoch,
    ) -> Result<(), ReplicaError> {
        let state = self.state.read();
        self.check_following(&state, leader_epoch)?;
        let mut producers = self.producer_state.lock();
        self.log.truncate_fully_and_start_at(offset)?;
        if let Err(e) = producer_snapshot::delete_snapshots_above(self.log.dir(), Offset::UNKNOWN) {
            tracing::warn!(partition = %self.tp, error = %e, "cannot delete producer snapshots");
        }
        *producers = ProducerStateTable::new();
        drop(producers);
        self.epoch_cache.clear()?;
        self.high_watermark.store(offset, Ordering::Release);
        drop(state);
        Ok(())
    }

    /// Refuses follower-only log changes unless `state` follows a leader in `leader_epoch`.
    fn check_following(
        &self,
        state: &LeadershipState,
        leader_epoch: LeaderEpoch,
    ) -> Result<(), ReplicaError> {
        let following = state.leader_and_isr.leader.is_valid()
            && state.leader_and_isr.leader != self.local_broker;
        if following && state.leader_and_isr.leader_epoch == leader_epoch {
            return Ok(());
        }
        tracing::info!(partition = %self.tp, leader = %state.leader_and_isr.leader, leader_epoch = %state.leader_and_isr.leader_epoch, fetcher_epoch = %leader_epoch, "refusing a fetcher truncation: the partition no longer follows in that epoch");
        Err(ReplicaError::NotLeaderOrFollower(self.tp.to_string()))
    }

    /// Followers learn the high watermark from their leader's fetch responses.
    pub fn set_high_watermark_as_follower(&self, leader_hw: Offset) {
        let hw = leader_hw.min(self.log.log_end_offset());
        self.high_watermark.store(hw, Ordering::Release);
    }
}
