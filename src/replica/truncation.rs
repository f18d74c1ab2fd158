//! Where a follower truncates after its leader answered OffsetsForLeaderEpoch
//! (Kafka's AbstractFetcherThread.getOffsetTruncationState, KIP-101 and
//! KIP-279). When the leader's answered epoch is one the follower does not
//! have, the follower cuts at its own end of the largest epoch below it and
//! asks again with that smaller epoch, until both sides agree on an epoch:
//! only then is the cut final.

use super::leader_epoch_cache::{UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
use crate::model::{LeaderEpoch, Offset};

/// Where to cut, and whether the follower may fetch afterwards (`completed`)
/// or must ask the leader again with its new latest epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TruncationTarget {
    pub offset: Offset,
    pub completed: bool,
}

/// The follower's cut for the leader's answer `(leader_epoch, leader_end)`.
/// `follower_end` is the follower's own `(epoch, end offset)` for the
/// answered epoch (its epoch cache's answer to the same question).
pub fn truncation_target(
    leader_answer: (LeaderEpoch, Offset),
    follower_end: (LeaderEpoch, Offset),
    log_end: Offset,
    high_watermark: Offset,
) -> TruncationTarget {
    let (leader_epoch, leader_end) = leader_answer;
    let (follower_epoch, follower_end) = follower_end;
    let done = |offset: Offset| TruncationTarget {
        offset: offset.min(log_end),
        completed: true,
    };
    if leader_end == UNDEFINED_EPOCH_OFFSET {
        // The leader knows no epoch up to ours: keep what is committed.
        return done(high_watermark);
    }
    if leader_epoch == UNDEFINED_EPOCH || follower_end == UNDEFINED_EPOCH_OFFSET {
        return done(leader_end);
    }
    if follower_epoch != leader_epoch {
        // We never had the leader's epoch: cut at our end of the largest
        // epoch below it and ask again about that one.
        return TruncationTarget {
            offset: follower_end.min(log_end),
            completed: false,
        };
    }
    done(leader_end.min(follower_end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::EpochEntry;
    use crate::model::off;
    use crate::replica::leader_epoch_cache::end_offset_for;

    fn entries(pairs: &[(i32, i64)]) -> Vec<EpochEntry> {
        pairs
            .iter()
            .map(|&(epoch, start_offset)| EpochEntry {
                epoch: LeaderEpoch::new(epoch),
                start_offset: off(start_offset),
            })
            .collect()
    }

    /// Runs the follower's truncation rounds against the leader's cache and
    /// returns every cut, the last one final.
    fn rounds(
        follower: &[(i32, i64)],
        follower_leo: i64,
        leader: &[(i32, i64)],
        leader_leo: i64,
    ) -> Vec<TruncationTarget> {
        let mut ours = entries(follower);
        let theirs = entries(leader);
        let mut leo = follower_leo;
        let mut cuts = Vec::new();
        for _ in 0..=ours.len() {
            let asked = ours.last().map_or(UNDEFINED_EPOCH, |e| e.epoch);
            let answer = end_offset_for(&theirs, asked, off(leader_leo));
            let own = end_offset_for(&ours, answer.0, off(leo));
            let cut = truncation_target(answer, own, off(leo), off(0));
            cuts.push(cut);
            leo = cut.offset.value();
            ours.retain(|e| e.start_offset < off(leo));
            if cut.completed {
                return cuts;
            }
        }
        panic!("no final cut after {} rounds: {cuts:?}", cuts.len());
    }

    #[test]
    fn a_follower_that_missed_an_epoch_asks_again_until_the_epochs_agree() {
        // The safety review's example: we led epoch 3 from 50, the leader
        // had epochs 2 (from 40) and 4 (from 60) we never saw.
        let cuts = rounds(&[(1, 0), (3, 50)], 70, &[(1, 0), (2, 40), (4, 60)], 80);
        assert_eq!(cuts.last().unwrap().offset, off(40), "{cuts:?}");
        assert_eq!(
            cuts[0],
            TruncationTarget {
                offset: off(50),
                completed: false
            }
        );
    }

    #[test]
    fn agreeing_epochs_cut_once() {
        let cuts = rounds(&[(1, 0), (2, 40)], 55, &[(1, 0), (2, 40), (4, 60)], 80);
        assert_eq!(
            cuts,
            vec![TruncationTarget {
                offset: off(55),
                completed: true
            }]
        );
        let ahead = rounds(&[(1, 0), (2, 40)], 70, &[(1, 0), (2, 40), (4, 60)], 80);
        assert_eq!(ahead.last().unwrap().offset, off(60));
        assert_eq!(ahead.len(), 1);
        // The leader knows no epoch up to ours: back to the high watermark.
        let unknown = truncation_target(
            (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET),
            (LeaderEpoch::new(1), off(9)),
            off(9),
            off(4),
        );
        assert_eq!(unknown.offset, off(4));
        assert!(unknown.completed);
    }
}
