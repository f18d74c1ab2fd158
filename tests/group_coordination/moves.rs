//! Coordinator moves keep the group: after SIGKILL or SIGTERM of the
//! coordinator, or a new broker that wins the group, the new coordinator
//! loads the membership from ZooKeeper and the member's next heartbeat and
//! commit with its old member id and generation succeed (no rebalance);
//! zkCli shows `ids/<member>`, `owners/<t>/<p>` and the owner record.

use std::time::Duration;

use super::common::cluster::{create_replicated_topic, start_cluster};
use super::common::*;
use super::member::*;

const MOVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Heartbeats `member` at `port` until the broker serves the group: the
/// heartbeat answered NONE and DescribeGroups answered with the group (a
/// heartbeat alone is no sign: as in Kafka, a coordinator still loading or
/// waiting for the old owner answers heartbeats with NONE). Allows only the
/// answers of a coordinator still moving; panics on anything that would mean
/// a rebalance (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS).
pub fn heartbeat_until_served(member: &RawMember, port: u16, what: &str) {
    wait_until(what, MOVE_TIMEOUT, || match member.heartbeat(port) {
        Ok(NONE) => match describe(port, &member.group) {
            Ok((NONE, _, _)) => Some(()),
            _ => None,
        },
        Ok(COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR) | Err(_) => {
            None
        }
        Ok(code) => panic!("{what}: heartbeat answered {code}: the group was rebalanced"),
    });
}

/// Checks what ZooKeeper shows of the one-member group.
pub fn assert_membership_in_zk(chroot: &str, member: &RawMember, owner: i32) {
    let zk = zk(chroot);
    let g = &member.group;
    let state = zk
        .get_json(&format!("/consumers/{g}"))
        .expect("group state");
    assert_eq!(state["state"], "Stable", "{state}");
    assert_eq!(state["generation"], member.generation, "{state}");
    assert_eq!(state["leader"], member.member_id.as_str(), "{state}");
    let ids = zk.children(&format!("/consumers/{g}/ids")).expect("ids");
    assert_eq!(ids, vec![member.member_id.clone()]);
    let record = zk
        .get_json(&format!("/consumers/{g}/ids/{}", member.member_id))
        .expect("member record");
    assert_eq!(record["subscription"][&member.topic], 1, "{record}");
    assert_eq!(record["member_id"], member.member_id.as_str(), "{record}");
    for p in 0..3 {
        assert_eq!(
            zk.get_string(&format!("/consumers/{g}/owners/{}/{p}", member.topic))
                .as_deref(),
            Some(member.member_id.as_str())
        );
    }
    let owner_record = zk
        .get_json(&format!("/consumers/{g}/owner"))
        .expect("owner");
    assert_eq!(owner_record["broker_id"], owner, "{owner_record}");
    // What an operator sees.
    let shown = zk_get(chroot, &format!("/consumers/{g}/owners/{}/0", member.topic));
    assert_eq!(shown.as_deref(), Some(member.member_id.as_str()));
}

enum Fault {
    Kill,
    Terminate,
}

fn coordinator_move_keeps_the_group(name: &str, fault: Fault) {
    let mut cluster = start_cluster(name, &[]);
    create_replicated_topic(&cluster, &[1, 2, 3], "t", 3, 3, &[]);
    let group = group_moving("move", &[1, 2, 3], 3, &[1, 2], 2);
    let mut member = RawMember::new(&group, "t");
    let port3 = cluster.broker(3).port();
    member.join_when_ready(port3, &[0, 1, 2]);
    assert_eq!(member.commit(port3, &[0, 1, 2], 7).unwrap(), NONE);
    assert_membership_in_zk(&cluster.chroot, &member, 3);
    let generation = member.generation;

    match fault {
        Fault::Kill => cluster.broker(3).kill(),
        Fault::Terminate => {
            cluster.broker(3).terminate();
        }
    }
    let port2 = cluster.broker(2).port();
    heartbeat_until_served(&member, port2, "broker 2 to serve the group's member");
    assert_eq!(member.generation, generation);
    assert_eq!(member.commit(port2, &[0, 1, 2], 9).unwrap(), NONE);
    let (code, state, members) = describe(port2, &group).unwrap();
    assert_eq!(
        (code, state.as_str(), members),
        (NONE, "Stable", vec![member.member_id.clone()])
    );
    assert_membership_in_zk(&cluster.chroot, &member, 2);
    assert_eq!(
        zk(&cluster.chroot)
            .get_string(&format!("/consumers/{group}/offsets/t/1"))
            .as_deref(),
        Some("9")
    );
    let log = cluster.broker(2).log_text();
    assert!(
        log.contains(&format!("took over the group's coordination group={group}")),
        "broker 2 loaded the group"
    );
    assert!(
        !log.contains(&format!("preparing to rebalance group={group}")),
        "no rebalance on broker 2"
    );
}

#[test]
fn a_sigkilled_coordinator_hands_the_group_over_without_a_rebalance() {
    coordinator_move_keeps_the_group("gc-kill", Fault::Kill);
}

#[test]
fn a_sigtermed_coordinator_hands_the_group_over_without_a_rebalance() {
    coordinator_move_keeps_the_group("gc-term", Fault::Terminate);
}

/// A fourth broker that wins the group by the rendezvous choice takes it
/// once the old coordinator's metadata shows the new broker and it releases
/// the group; members keep their generation.
#[test]
fn a_new_broker_takes_over_the_groups_it_wins_without_a_rebalance() {
    let mut cluster = start_cluster("gc-join", &[]);
    create_replicated_topic(&cluster, &[1, 2, 3], "t", 3, 3, &[]);
    let group = group_moving("join", &[1, 2, 3], 1, &[1, 2, 3, 4], 4);
    let mut member = RawMember::new(&group, "t");
    let port1 = cluster.broker(1).port();
    member.join_when_ready(port1, &[0, 1, 2]);
    assert_eq!(member.commit(port1, &[0, 1, 2], 3).unwrap(), NONE);

    let spec = cluster.broker(1).spec().clone();
    let mut spec4 = BrokerSpec::new(4, spec.zk_connect.clone());
    spec4.overrides = spec.overrides.clone();
    let broker4 = Broker::start(spec4);
    heartbeat_until_served(&member, broker4.port(), "broker 4 to serve the group");
    assert_eq!(member.commit(broker4.port(), &[0, 1, 2], 4).unwrap(), NONE);
    // Broker 1 let go of it: it answers NOT_COORDINATOR now.
    wait_until("broker 1 to refuse the group", MOVE_TIMEOUT, || {
        (member.heartbeat(port1).ok() == Some(NOT_COORDINATOR)).then_some(())
    });
    assert!(
        cluster
            .broker(1)
            .log_text()
            .contains(&format!("released the group's coordination group={group}"))
    );
    assert_membership_in_zk(&cluster.chroot, &member, 4);
}
