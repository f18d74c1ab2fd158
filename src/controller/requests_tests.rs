//! Unit tests of how the controller's requests are grouped: brokers given
//! the same partitions share one LeaderAndIsr.

use std::collections::BTreeMap;

use super::*;
use crate::model::ids;

fn tps(partitions: &[i32]) -> Vec<TopicPartition> {
    partitions
        .iter()
        .map(|&p| TopicPartition::new("t", p))
        .collect()
}

#[test]
fn brokers_with_the_same_partitions_share_one_group() {
    let by_broker = BTreeMap::from([
        (BrokerId(1), tps(&[0, 1, 2])),
        (BrokerId(2), tps(&[0, 1, 2])),
        (BrokerId(3), tps(&[0, 1, 2])),
    ]);
    assert_eq!(
        same_partitions(by_broker),
        vec![(tps(&[0, 1, 2]), ids(&[1, 2, 3]))]
    );
}

#[test]
fn different_partitions_make_different_groups_and_empty_lists_none() {
    let by_broker = BTreeMap::from([
        (BrokerId(1), tps(&[0, 1])),
        (BrokerId(2), tps(&[1, 2])),
        (BrokerId(3), tps(&[0, 1])),
        (BrokerId(4), Vec::new()),
        (BrokerId(5), tps(&[1, 0])),
    ]);
    assert_eq!(
        same_partitions(by_broker),
        vec![
            (tps(&[0, 1]), ids(&[1, 3])),
            (tps(&[1, 2]), ids(&[2])),
            // The same set in another order is another request.
            (tps(&[1, 0]), ids(&[5])),
        ]
    );
}
