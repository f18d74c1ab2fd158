//! Which broker coordinates a group: a pure function of the group id and the
//! live broker ids, so every broker computes the same answer from its own
//! metadata (no election, no znode).
//!
//! The rule mirrors Kafka's `partitionFor(groupId)` over `__consumer_offsets`
//! with one "partition" per live broker: `abs(java_hash_code(group)) % n`
//! indexes the live broker ids sorted ascending. When a broker dies, the
//! groups it coordinated move to other brokers; their committed offsets stay
//! readable because they are in ZooKeeper, not on the coordinator.

/// Java's `String.hashCode` over UTF-16 code units (`s[0]*31^(n-1) + ...`).
pub fn java_hash_code(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32))
}

/// Kafka's `Utils.abs`: `i32::MIN` maps to 0 instead of overflowing.
fn kafka_abs(n: i32) -> i32 {
    if n == i32::MIN { 0 } else { n.abs() }
}

/// The coordinator of `group` among `live_broker_ids` (any order), or `None`
/// when no broker is known to be alive.
pub fn coordinator_for(group: &str, live_broker_ids: &[i32]) -> Option<i32> {
    if live_broker_ids.is_empty() {
        return None;
    }
    let mut ids = live_broker_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let index = kafka_abs(java_hash_code(group)) as usize % ids.len();
    Some(ids[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_code_matches_java() {
        // Values from java.lang.String#hashCode.
        assert_eq!(java_hash_code(""), 0);
        assert_eq!(java_hash_code("a"), 97);
        assert_eq!(java_hash_code("hello"), 99_162_322);
        assert_eq!(java_hash_code("my-group"), -1_906_497_762);
        assert_eq!(java_hash_code("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn choice_is_deterministic_and_order_independent() {
        assert_eq!(coordinator_for("g", &[]), None);
        assert_eq!(coordinator_for("g", &[7]), Some(7));
        let a = coordinator_for("my-group", &[3, 1, 2]);
        let b = coordinator_for("my-group", &[1, 2, 3]);
        assert_eq!(a, b);
        // abs(-1906497762) % 3 == 0 -> the smallest id.
        assert_eq!(a, Some(1));
        // i32::MIN hash maps to index 0.
        assert_eq!(coordinator_for("polygenelubricants", &[5, 9]), Some(5));
    }
}
