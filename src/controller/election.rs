//! Leader election rules, pure functions (Kafka's PartitionLeaderElectionAlgorithms).

use crate::model::BrokerId;

/// A leader and ISR chosen by an election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elected {
    pub leader: BrokerId,
    pub isr: Vec<BrokerId>,
}

/// For a new partition: the first live replica leads, every live replica is in the ISR.
pub fn new_partition_leader(
    assignment: &[BrokerId],
    is_live: impl Fn(BrokerId) -> bool,
) -> Option<Elected> {
    let live: Vec<BrokerId> = assignment.iter().copied().filter(|&r| is_live(r)).collect();
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
    assignment: &[BrokerId],
    isr: &[BrokerId],
    is_live: impl Fn(BrokerId) -> bool,
    unclean_allowed: bool,
) -> Option<Elected> {
    let live_isr: Vec<BrokerId> = isr.iter().copied().filter(|&r| is_live(r)).collect();
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

/// Controlled shutdown of `shutting_down` brokers: the first replica in
/// assignment order that is in the ISR, live and not shutting down leads; the
/// shutting-down brokers leave the ISR. `None`: no such replica (the broker
/// keeps leading until it is gone).
pub fn controlled_shutdown_leader(
    assignment: &[BrokerId],
    isr: &[BrokerId],
    is_live: impl Fn(BrokerId) -> bool,
    shutting_down: &[BrokerId],
) -> Option<Elected> {
    let leader = *assignment
        .iter()
        .find(|&&r| isr.contains(&r) && is_live(r) && !shutting_down.contains(&r))?;
    Some(Elected {
        leader,
        isr: isr
            .iter()
            .copied()
            .filter(|r| !shutting_down.contains(r))
            .collect(),
    })
}

/// Why a preferred replica election does not move leadership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferredSkip {
    /// The preferred replica already leads.
    AlreadyLeader,
    /// The preferred replica is not live (or shutting down) or not in the ISR.
    NotAvailable,
}

/// Preferred replica election: the first replica of the assignment leads if
/// it is eligible (live, not shutting down) and in the ISR; the ISR stays.
pub fn preferred_replica_leader(
    assignment: &[BrokerId],
    isr: &[BrokerId],
    current_leader: BrokerId,
    is_eligible: impl Fn(BrokerId) -> bool,
) -> Result<Elected, PreferredSkip> {
    let &preferred = assignment.first().ok_or(PreferredSkip::NotAvailable)?;
    if preferred == current_leader {
        return Err(PreferredSkip::AlreadyLeader);
    }
    if !is_eligible(preferred) || !isr.contains(&preferred) {
        return Err(PreferredSkip::NotAvailable);
    }
    Ok(Elected {
        leader: preferred,
        isr: isr.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids;

    #[test]
    fn new_partitions_take_the_first_live_replica() {
        let e = new_partition_leader(&ids(&[3, 1, 2]), |b| b != BrokerId(3)).unwrap();
        assert_eq!(
            e,
            Elected {
                leader: BrokerId(1),
                isr: ids(&[1, 2])
            }
        );
        assert_eq!(new_partition_leader(&ids(&[1]), |_| false), None);
    }

    #[test]
    fn offline_partitions_prefer_assignment_order_within_the_live_isr() {
        let live = |b: BrokerId| b != BrokerId(1);
        let e = offline_partition_leader(&ids(&[1, 2, 3]), &ids(&[1, 3]), live, false).unwrap();
        assert_eq!(
            e,
            Elected {
                leader: BrokerId(3),
                isr: ids(&[3])
            }
        );
        assert_eq!(
            offline_partition_leader(&ids(&[1, 2]), &ids(&[1]), live, false),
            None
        );
        let unclean = offline_partition_leader(&ids(&[1, 2]), &ids(&[1]), live, true).unwrap();
        assert_eq!(
            unclean,
            Elected {
                leader: BrokerId(2),
                isr: ids(&[2])
            }
        );
    }
    #[test]
    fn controlled_shutdown_moves_leadership_to_the_next_isr_member() {
        let live = |_| true;
        let e = controlled_shutdown_leader(&ids(&[1, 2, 3]), &ids(&[1, 2, 3]), live, &ids(&[1]))
            .unwrap();
        assert_eq!(
            e,
            Elected {
                leader: BrokerId(2),
                isr: ids(&[2, 3])
            }
        );
        // Skips replicas out of the ISR, dead ones and other shutting-down ones.
        let e = controlled_shutdown_leader(
            &ids(&[1, 2, 3, 4]),
            &ids(&[1, 2, 3, 4]),
            |b| b != BrokerId(3),
            &ids(&[1, 2]),
        )
        .unwrap();
        assert_eq!(e.leader, BrokerId(4));
        assert_eq!(e.isr, ids(&[3, 4]));
        assert_eq!(
            controlled_shutdown_leader(&ids(&[1, 2]), &ids(&[1]), live, &ids(&[1])),
            None
        );
    }

    #[test]
    fn preferred_election_needs_the_first_replica_live_and_in_the_isr() {
        let e = preferred_replica_leader(&ids(&[1, 2, 3]), &ids(&[2, 3, 1]), BrokerId(2), |_| true)
            .unwrap();
        assert_eq!(
            e,
            Elected {
                leader: BrokerId(1),
                isr: ids(&[2, 3, 1])
            }
        );
        assert_eq!(
            preferred_replica_leader(&ids(&[1, 2, 3]), &ids(&[1, 2, 3]), BrokerId(1), |_| true),
            Err(PreferredSkip::AlreadyLeader)
        );
        assert_eq!(
            preferred_replica_leader(&ids(&[1, 2, 3]), &ids(&[2, 3]), BrokerId(2), |_| true),
            Err(PreferredSkip::NotAvailable)
        );
        assert_eq!(
            preferred_replica_leader(&ids(&[1, 2, 3]), &ids(&[1, 2, 3]), BrokerId(2), |b| b
                != BrokerId(1)),
            Err(PreferredSkip::NotAvailable)
        );
    }
}
