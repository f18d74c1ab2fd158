//! What a leader knows about one follower of a partition, from the
//! follower's fetches (Kafka's Replica state): its log end offset, and when it
//! was last caught up with the leader, which decides ISR membership.

use crate::model::{LeaderEpoch, Offset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerState {
    /// The follower's log end offset: the offset of its latest fetch.
    pub log_end_offset: Offset,
    /// The follower's log start offset, from its fetches (-1 until known).
    pub log_start_offset: Offset,
    /// The last time the follower's log end offset reached the leader's.
    pub last_caught_up_ms: i64,
    /// The leader epoch of the follower's latest fetch (-1 before any): only
    /// a fetch in the leader's current epoch makes an outsider an ISR
    /// candidate, so old state never brings a dead replica back.
    pub last_fetch_leader_epoch: LeaderEpoch,
    /// The leader's log end offset at the follower's previous fetch.
    last_fetch_leader_leo: Offset,
    last_fetch_ms: i64,
}

impl FollowerState {
    /// A follower the leader has not heard from yet. An ISR member counts as
    /// caught up from now on (it gets a full lag period to fetch); others do not.
    pub fn new(now_ms: i64, in_sync: bool) -> FollowerState {
        FollowerState {
            log_end_offset: Offset::UNKNOWN,
            log_start_offset: Offset::UNKNOWN,
            last_caught_up_ms: if in_sync { now_ms } else { 0 },
            last_fetch_leader_epoch: LeaderEpoch::UNDEFINED,
            last_fetch_leader_leo: Offset::UNKNOWN,
            last_fetch_ms: 0,
        }
    }

    /// A fetch at `fetch_offset` in `leader_epoch` while the leader's log
    /// ended at `leader_leo`.
    /// The follower is caught up to this moment if it reached the leader's log
    /// end, and caught up to its previous fetch if it reached what the leader
    /// had then (Kafka's updateFetchState).
    pub fn record_fetch(
        &mut self,
        fetch_offset: Offset,
        leader_epoch: LeaderEpoch,
        leader_leo: Offset,
        now_ms: i64,
    ) {
        if fetch_offset >= leader_leo {
            self.last_caught_up_ms = self.last_caught_up_ms.max(now_ms);
        } else if fetch_offset >= self.last_fetch_leader_leo {
            self.last_caught_up_ms = self.last_caught_up_ms.max(self.last_fetch_ms);
        }
        self.log_end_offset = fetch_offset;
        self.last_fetch_leader_epoch = leader_epoch;
        self.last_fetch_leader_leo = leader_leo;
        self.last_fetch_ms = now_ms;
    }

    /// The leader started a new leader epoch (same leader): the log end is
    /// kept, the lag clock restarts as in `new` (Kafka's resetLastCaughtUpTime).
    pub fn restart_lag_clock(&mut self, leader_leo: Offset, now_ms: i64, in_sync: bool) {
        self.last_caught_up_ms = if in_sync { now_ms } else { 0 };
        self.last_fetch_leader_leo = leader_leo;
        self.last_fetch_ms = now_ms;
    }

    /// Out of sync: behind the leader's log end and not caught up for `max_lag_ms`.
    pub fn is_lagging(&self, leader_leo: Offset, now_ms: i64, max_lag_ms: i64) -> bool {
        self.log_end_offset != leader_leo && now_ms - self.last_caught_up_ms > max_lag_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    #[test]
    fn caught_up_follows_kafka_rules() {
        let mut f = FollowerState::new(1_000, true);
        assert!(!f.is_lagging(off(10), 1_500, 1_000));
        assert!(f.is_lagging(off(10), 2_001, 1_000));
        assert!(
            !f.is_lagging(off(-1), 5_000, 1_000),
            "at the leader's end is never lagging"
        );
        f.record_fetch(off(10), LeaderEpoch::new(0), off(10), 3_000);
        assert_eq!(f.last_caught_up_ms, 3_000);
        // Behind now, but it reached what the leader had at its last fetch.
        f.record_fetch(off(10), LeaderEpoch::new(0), off(15), 4_000);
        assert_eq!(f.last_caught_up_ms, 3_000);
        f.record_fetch(off(15), LeaderEpoch::new(0), off(20), 5_000);
        assert_eq!(f.last_caught_up_ms, 4_000);
        assert!(f.is_lagging(off(20), 5_001, 1_000));
        let fresh = FollowerState::new(1_000, false);
        assert!(fresh.is_lagging(off(10), 1_001, 0));
    }
}
