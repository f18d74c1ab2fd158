//! Leader election rules, pure functions (Kafka's PartitionLeaderElectionAlgorithms).

/// A leader and ISR chosen by an election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elected {
    pub leader: i32,
    pub isr: Vec<i32>,
}

/// For a new partition: the first live replica leads, every live replica is in the ISR.
pub fn new_partition_leader(assignment: &[i32], is_live: impl Fn(i32) -> bool) -> Option<Elected> {
    let live: Vec<i32> = assignment.iter().copied().filter(|&r| is_live(r)).collect();
    Some(Elected {
        leader: *live.first()?,
        isr: live,
    })
}

/// For a partition whose leader is gone: the first replica in assignment
/// order that is alive and in the ISR. With unclean election allowed and no
/// such replica, the first live replica leads alone (data may be lost, as
/// Kafka documents). `None` leaves the partition offline.
pub fn offline_partition_leader(
    assignment: &[i32],
    isr: &[i32],
    is_live: impl Fn(i32) -> bool,
    unclean_allowed: bool,
) -> Option<Elected> {
    let live_isr: Vec<i32> = isr.iter().copied().filter(|&r| is_live(r)).collect();
    if let Some(&leader) = assignment.iter().find(|r| live_isr.contains(r)) {
        return Some(Elected {
            leader,
            isr: live_isr,
        });
    }
    if unclean_allowed && let Some(&leader) = assignment.iter().find(|&&r| is_live(r)) {
        return Some(Elected {
            leader,
            isr: vec![leader],
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_partitions_take_the_first_live_replica() {
        let e = new_partition_leader(&[3, 1, 2], |b| b != 3).unwrap();
        assert_eq!(
            e,
            Elected {
                leader: 1,
                isr: vec![1, 2]
            }
        );
        assert_eq!(new_partition_leader(&[1], |_| false), None);
    }

    #[test]
    fn offline_partitions_prefer_assignment_order_within_the_live_isr() {
        let live = |b: i32| b != 1;
        let e = offline_partition_leader(&[1, 2, 3], &[1, 3], live, false).unwrap();
        assert_eq!(
            e,
            Elected {
                leader: 3,
                isr: vec![3]
            }
        );
        assert_eq!(offline_partition_leader(&[1, 2], &[1], live, false), None);
        let unclean = offline_partition_leader(&[1, 2], &[1], live, true).unwrap();
        assert_eq!(
            unclean,
            Elected {
                leader: 2,
                isr: vec![2]
            }
        );
    }
}
