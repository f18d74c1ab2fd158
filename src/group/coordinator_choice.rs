//! Which broker coordinates a group: rendezvous (highest random weight)
//! hashing of (group id, broker id) over the live brokers, so every broker
//! computes the same answer from its own metadata, and a broker joining or
//! leaving moves only the groups it wins or held (about 1/n of them) instead
//! of reshuffling all of them as `hash % n` does.
//!
//! The choice says who *should* coordinate; who *does* is the broker named
//! in `/consumers/<g>/owner` (`ownership.rs`), which a broker claims only
//! after the previous owner released it, died or re-registered.
//!
//! The weight is FNV-1a over the group id's UTF-8 bytes, mixed with the
//! broker id by SplitMix64's finalizer: fixed arithmetic, the same on every
//! platform and release (unlike std's `DefaultHasher`), since all brokers of
//! a cluster, old and new binaries alike, must agree.

use crate::model::BrokerId;

/// Fnv-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: a bijection that spreads every input bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The weight of broker `broker_id` for `group`; the highest wins.
pub fn weight(group: &str, broker_id: BrokerId) -> u64 {
    mix(fnv1a(group.as_bytes()) ^ mix(u64::from(broker_id.0 as u32) ^ 0x9e37_79b9_7f4a_7c15))
}

/// The coordinator of `group` among `live_broker_ids` (any order), or `None`
/// when no broker is known to be alive. Ties (never seen in practice) go to
/// the higher broker id.
pub fn coordinator_for(group: &str, live_broker_ids: &[BrokerId]) -> Option<BrokerId> {
    live_broker_ids
        .iter()
        .copied()
        .max_by_key(|&id| (weight(group, id), id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids;

    fn groups(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("group-{i}")).collect()
    }

    fn moved(groups: &[String], before: &[BrokerId], after: &[BrokerId]) -> usize {
        groups
            .iter()
            .filter(|g| coordinator_for(g, before) != coordinator_for(g, after))
            .count()
    }

    #[test]
    fn choice_is_deterministic_and_order_independent() {
        assert_eq!(coordinator_for("g", &ids(&[])), None);
        assert_eq!(coordinator_for("g", &ids(&[7])), Some(BrokerId(7)));
        let a = coordinator_for("my-group", &ids(&[3, 1, 2]));
        assert_eq!(a, coordinator_for("my-group", &ids(&[1, 2, 3])));
        assert_eq!(a, coordinator_for("my-group", &ids(&[2, 3, 1, 3])));
        // Fixed arithmetic: the same answer in every build.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(weight("g", BrokerId(1)), weight("g", BrokerId(1)));
        assert_ne!(weight("g", BrokerId(1)), weight("g", BrokerId(2)));
    }

    #[test]
    fn groups_spread_evenly_over_the_brokers() {
        let all = groups(30_000);
        let brokers = ids(&[1, 2, 3, 4, 5]);
        for &b in &brokers {
            let share = all
                .iter()
                .filter(|g| coordinator_for(g, &brokers) == Some(b))
                .count();
            // 6000 expected; binomial sd ~69.
            assert!((5_600..=6_400).contains(&share), "broker {b}: {share}");
        }
    }

    #[test]
    fn a_broker_joining_or_leaving_moves_about_one_nth_of_the_groups() {
        let all = groups(30_000);
        let three = ids(&[1, 2, 3]);
        let four = ids(&[1, 2, 3, 4]);
        // Joining: only the groups broker 4 wins move (1/4), all to broker 4.
        let joined = moved(&all, &three, &four);
        assert!((7_000..=8_000).contains(&joined), "{joined} of 30000 moved");
        assert!(all.iter().all(|g| {
            let (b, a) = (coordinator_for(g, &three), coordinator_for(g, &four));
            b == a || a == Some(BrokerId(4))
        }));
        // Leaving: only broker 2's groups (1/3) move; the others stay put.
        let left = moved(&all, &three, &ids(&[1, 3]));
        assert!((9_500..=10_500).contains(&left), "{left} of 30000 moved");
        assert!(all.iter().all(|g| {
            coordinator_for(g, &three) == Some(BrokerId(2))
                || coordinator_for(g, &three) == coordinator_for(g, &ids(&[1, 3]))
        }));
        // hash % n would have moved about (n-1)/n; a whole rolling restart
        // of three brokers moves each group about twice, not six times.
        let mut moves = 0;
        for &b in &three {
            let without: Vec<BrokerId> = three.iter().copied().filter(|x| *x != b).collect();
            moves += moved(&all, &three, &without) + moved(&all, &without, &three);
        }
        assert!(
            moves < 2 * 30_000 + 3_000,
            "{moves} moves in a rolling restart"
        );
    }
}
