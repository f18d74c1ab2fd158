//! The group states of Kafka's classic rebalance protocol and which moves
//! between them are legal (GroupMetadata's `validPreviousStates`).

/// Empty: no members (offsets may still exist). PreparingRebalance: members
/// must rejoin. CompletingRebalance: joined, waiting for the leader's
/// assignment. Stable: assignment handed out. Dead: unloaded or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka uses in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Parses a ListGroups state filter entry (case-insensitive, as Kafka).
    pub fn parse(name: &str) -> Option<GroupState> {
        [
            GroupState::Empty,
            GroupState::PreparingRebalance,
            GroupState::CompletingRebalance,
            GroupState::Stable,
            GroupState::Dead,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// Whether a group may move from `from` to `self`.
    pub fn can_follow(self, from: GroupState) -> bool {
        use GroupState::*;
        match self {
            Dead => true,
            PreparingRebalance => matches!(from, Stable | CompletingRebalance | Empty),
            CompletingRebalance => from == PreparingRebalance,
            Stable => from == CompletingRebalance,
            Empty => from == PreparingRebalance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GroupState::*;
    use super::*;

    #[test]
    fn transitions_follow_kafka() {
        assert!(PreparingRebalance.can_follow(Empty));
        assert!(PreparingRebalance.can_follow(Stable));
        assert!(!Stable.can_follow(PreparingRebalance));
        assert!(CompletingRebalance.can_follow(PreparingRebalance));
        assert!(Empty.can_follow(PreparingRebalance));
        assert!(!Empty.can_follow(Stable));
        assert!(Dead.can_follow(Stable));
        assert_eq!(GroupState::parse("stable"), Some(Stable));
        assert_eq!(GroupState::parse("nope"), None);
    }
}
