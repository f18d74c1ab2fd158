//! Finding 17, group bullets: Heartbeat and OffsetCommit check the member,
//! then the generation, then the group's state, as Kafka's GroupCoordinator
//! does; a stale generation's heartbeat does not count as a heartbeat.

use super::common::*;
use super::member::*;

const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;

#[test]
fn heartbeat_and_commit_check_member_then_generation_then_state() {
    let chroot = unique_chroot("gc-precedence");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let port = broker.port();
    assert_eq!(create_topic_with_configs(&broker, "t", 2, 1, &[]), 0);
    let mut a = RawMember::new("order", "t");
    a.join_when_ready(port, &[0, 1]);
    assert_eq!(a.commit(port, &[0, 1], 1).unwrap(), NONE);

    // B joins: PreparingRebalance, waiting for A.
    let b_joined = RawMember::new("order", "t").join_in_background(port);
    wait_until("B to join", std::time::Duration::from_secs(30), || {
        let (_, state, members) = describe(port, "order").ok()?;
        (state == "PreparingRebalance" && members.len() == 2).then_some(())
    });
    let mut stale = a.clone();
    stale.generation -= 1;
    assert_eq!(stale.heartbeat(port).unwrap(), ILLEGAL_GENERATION);
    assert_eq!(a.heartbeat(port).unwrap(), REBALANCE_IN_PROGRESS);
    let mut stranger = a.clone();
    stranger.member_id = "nobody".to_string();
    assert_eq!(stranger.heartbeat(port).unwrap(), UNKNOWN_MEMBER_ID);

    // A rejoins: generation 2, CompletingRebalance until the leader syncs.
    let (a2, _) = a.clone().join_in_background(port).join().unwrap();
    let (b2, _) = b_joined.join().unwrap();
    assert_eq!(describe(port, "order").unwrap().1, "CompletingRebalance");
    let mut stranger2 = a2.clone();
    stranger2.member_id = "nobody".to_string();
    assert_eq!(stranger2.commit(port, &[0], 2).unwrap(), UNKNOWN_MEMBER_ID);
    assert_eq!(a.commit(port, &[0], 2).unwrap(), ILLEGAL_GENERATION);
    assert_eq!(a2.commit(port, &[0], 2).unwrap(), REBALANCE_IN_PROGRESS);
    assert_eq!(b2.heartbeat(port).unwrap(), NONE);
}
