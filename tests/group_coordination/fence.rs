//! Exactly one broker serves a group: a coordinator whose owner record was
//! taken cannot commit (its multi fails the Check of the owner znode's
//! version); a broker whose metadata says it coordinates a group that a live
//! broker with stale metadata still holds answers COORDINATOR_LOAD_IN_PROGRESS
//! until that broker releases it, so the two never both accept commits; a
//! coordinator frozen (SIGSTOP) past its ZooKeeper session serves nothing of
//! the group after SIGCONT.

use std::time::{Duration, Instant};

use super::common::cluster::{create_replicated_topic, start_cluster};
use super::common::*;
use super::member::*;
use super::moves::heartbeat_until_served;

const FENCE_TIMEOUT: Duration = Duration::from_secs(60);

fn offset_in_zk(chroot: &str, group: &str, partition: i32) -> Option<String> {
    zk(chroot).get_string(&format!("/consumers/{group}/offsets/t/{partition}"))
}

/// Another writer takes the owner record (as a broker that found this one
/// dead would): the coordinator's next commit fails the fence, nothing
/// lands, and it answers NOT_COORDINATOR. A record naming a broker that is
/// not registered is a dead owner's, so the broker claims the group back.
#[test]
fn a_commit_from_a_deposed_coordinator_fails_the_fence() {
    let chroot = unique_chroot("gc-fence");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    assert_eq!(create_topic_with_configs(&broker, "t", 1, 1, &[]), 0);
    let mut member = RawMember::new("fenced", "t");
    member.join_when_ready(broker.port(), &[0]);
    assert_eq!(member.commit(broker.port(), &[0], 5).unwrap(), NONE);
    let zk = zk(&chroot);
    let owner_path = "/consumers/fenced/owner";
    let version_before = zk.stat(owner_path).unwrap().version;
    zk.set(
        owner_path,
        br#"{"version":1,"broker_id":99,"broker_epoch":1,"timestamp":"0"}"#,
    );

    assert_eq!(
        member.commit(broker.port(), &[0], 6).unwrap(),
        NOT_COORDINATOR
    );
    assert_eq!(offset_in_zk(&chroot, "fenced", 0).as_deref(), Some("5"));
    broker.wait_for_log(
        "no longer coordinating the group group=fenced reason=a write failed the owner fence",
        Duration::from_secs(10),
    );
    // Broker 99 is not registered: its record is a dead owner's. The group
    // is claimed again, with the members it had.
    heartbeat_until_served(&member, broker.port(), "the broker to claim the group back");
    assert_eq!(member.commit(broker.port(), &[0], 7).unwrap(), NONE);
    assert_eq!(offset_in_zk(&chroot, "fenced", 0).as_deref(), Some("7"));
    let record = zk.get_json(owner_path).unwrap();
    assert_eq!(record["broker_id"], 1, "{record}");
    assert!(zk.stat(owner_path).unwrap().version > version_before + 1);
}

/// Broker 2 coordinates the group; the controller's link to broker 2 is cut,
/// then broker 3 (which wins the group by the rendezvous choice) joins. Broker
/// 3 answers COORDINATOR_LOAD_IN_PROGRESS while broker 2, which does not know
/// broker 3 yet, still holds the group; once the link is back broker 2
/// releases it and broker 3 takes it. At no point do both accept a commit,
/// and the committed offset never goes back.
#[test]
fn a_broker_with_stale_metadata_and_the_new_coordinator_never_both_accept_commits() {
    let chroot = unique_chroot("gc-stale");
    let spec = |id: i32| {
        BrokerSpec::new(id, zk_connect(&chroot))
            .set("zookeeper.session.timeout.ms", 6000)
            .set("controller.socket.timeout.ms", 3000)
    };
    let broker1 = Broker::start(spec(1));
    wait_until("broker 1 to be the controller", FENCE_TIMEOUT, || {
        (cluster_view::controller(&chroot) == Some(1)).then_some(())
    });
    // Broker 2 advertises a proxy: the controller reaches it through it,
    // the test talks to its real port.
    let port2 = free_port();
    let proxy = TcpProxy::start(port2);
    let mut spec2 = spec(2).set(
        "advertised.listeners",
        format!("PLAINTEXT://127.0.0.1:{}", proxy.port()),
    );
    spec2.port = Some(port2);
    let _broker2 = Broker::start(spec2);
    assert_eq!(create_topic_with_configs(&broker1, "t", 1, 1, &[]), 0);
    let group = group_moving("stale", &[1, 2], 2, &[1, 2, 3], 3);
    let mut member = RawMember::new(&group, "t");
    member.join_when_ready(port2, &[0]);
    let mut offset = 1;
    assert_eq!(member.commit(port2, &[0], offset).unwrap(), NONE);

    proxy.cut();
    let broker3 = Broker::start(spec(3));
    let mut last_landed = offset;
    let mut round = |offset: &mut i64, expect_owner: Option<u16>| -> Option<u16> {
        *offset += 1;
        let at2 = member.commit(port2, &[0], *offset).unwrap_or(-1);
        *offset += 1;
        let at3 = member.commit(broker3.port(), &[0], *offset).unwrap_or(-1);
        assert!(
            !(at2 == NONE && at3 == NONE),
            "brokers 2 and 3 both accepted a commit"
        );
        let landed = match (at2, at3) {
            (NONE, _) => Some((port2, *offset - 1)),
            (_, NONE) => Some((broker3.port(), *offset)),
            _ => None,
        };
        if let Some((_, value)) = landed {
            assert!(value > last_landed);
            last_landed = value;
            assert_eq!(
                offset_in_zk(&chroot, &group, 0),
                Some(value.to_string()),
                "the accepted commit is the one in ZooKeeper"
            );
        }
        if let (Some(want), Some((port, _))) = (expect_owner, landed) {
            assert_eq!(port, want, "answers 2: {at2}, 3: {at3}");
        }
        landed.map(|(port, _)| port)
    };
    // Broker 3 knows it should coordinate, broker 2 does not know broker 3.
    wait_until("broker 3 to wait for broker 2", FENCE_TIMEOUT, || {
        (member.commit(broker3.port(), &[0], 0).ok() == Some(COORDINATOR_LOAD_IN_PROGRESS))
            .then_some(())
    });
    for _ in 0..5 {
        assert_eq!(round(&mut offset, Some(port2)), Some(port2));
    }
    proxy.restore();
    wait_until("broker 3 to take the group over", FENCE_TIMEOUT, || {
        (round(&mut offset, None) == Some(broker3.port())).then_some(())
    });
    for _ in 0..5 {
        assert_eq!(
            round(&mut offset, Some(broker3.port())),
            Some(broker3.port())
        );
    }
    assert_eq!(member.heartbeat(port2).unwrap(), NOT_COORDINATOR);
}

/// The coordinator is frozen past its ZooKeeper session; broker 2 takes the
/// group and the member commits there. After SIGCONT broker 3 answers
/// nothing for the group (its lease has lapsed, its session is gone) until
/// it claims the group anew, and its stale commit never lands.
#[test]
fn a_frozen_coordinator_never_serves_the_group_again_after_another_took_it() {
    let mut cluster = start_cluster("gc-frozen", &[]);
    create_replicated_topic(&cluster, &[1, 2, 3], "t", 1, 3, &[]);
    let group = group_moving("frozen", &[1, 2, 3], 3, &[1, 2], 2);
    let mut member = RawMember::new(&group, "t");
    let port3 = cluster.broker(3).port();
    let port2 = cluster.broker(2).port();
    member.join_when_ready(port3, &[0]);
    assert_eq!(member.commit(port3, &[0], 10).unwrap(), NONE);

    cluster.broker(3).pause();
    heartbeat_until_served(&member, port2, "broker 2 to take the group");
    assert_eq!(member.commit(port2, &[0], 20).unwrap(), NONE);
    let takeovers = |cluster: &mut TestCluster| {
        cluster
            .broker(3)
            .log_text()
            .matches(&format!("took over the group's coordination group={group}"))
            .count()
    };
    let takeovers_before = takeovers(&mut cluster);
    cluster.broker(3).resume();
    // Until broker 3 claims the group anew (once its new registration is in
    // every broker's metadata and broker 2 has released the group), it must
    // answer nothing for the group with its old claim.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut answers = Vec::new();
    while Instant::now() < deadline && takeovers(&mut cluster) == takeovers_before {
        let code = member.commit(port3, &[0], 5).unwrap_or(-1);
        answers.push(code);
        if code == NONE {
            // Only a new claim, logged before the commit was answered, may serve it.
            assert!(
                takeovers(&mut cluster) > takeovers_before,
                "the resumed broker accepted a commit with its old claim: {answers:?}"
            );
            break;
        }
        assert_eq!(
            offset_in_zk(&cluster.chroot, &group, 0).as_deref(),
            Some("20")
        );
        if let Ok((NONE, state, _)) = describe(port3, &group) {
            assert!(
                state == "Dead" || takeovers(&mut cluster) > takeovers_before,
                "the resumed broker described the group as {state} with its old claim"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!answers.is_empty(), "the resumed broker was probed");
}
