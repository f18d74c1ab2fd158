//! offsets.retention.minutes for groups no broker holds in memory: a group
//! with only a simple commit, whose coordinator restarted (so nothing is in
//! memory), has its offsets expired and its znodes removed by the broker
//! that coordinates it by the rendezvous choice.

use std::time::Duration;

use super::common::*;
use super::member::*;

#[test]
fn offsets_of_a_group_known_only_from_zookeeper_expire() {
    let chroot = unique_chroot("gc-retention");
    let mut broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("offsets.retention.minutes", 1)
            .set("offsets.retention.check.interval.ms", 1000),
    );
    assert_eq!(create_topic_with_configs(&broker, "t", 1, 1, &[]), 0);
    let simple = RawMember::new("old-group", "t");
    wait_until("a simple commit", Duration::from_secs(30), || {
        (simple.commit(broker.port(), &[0], 3).ok() == Some(NONE)).then_some(())
    });
    let zk = zk(&chroot);
    assert_eq!(
        zk.get_string("/consumers/old-group/offsets/t/0").as_deref(),
        Some("3")
    );
    // Restarted, the broker knows the group only from ZooKeeper.
    broker.restart();
    assert!(zk.exists("/consumers/old-group/offsets/t/0"));
    wait_until(
        "the group's offsets to expire",
        Duration::from_secs(150),
        || (!zk.exists("/consumers/old-group")).then_some(()),
    );
    broker.wait_for_log(
        "offsets expired (offsets.retention.minutes); removing the empty group group=old-group",
        Duration::from_secs(10),
    );
}
