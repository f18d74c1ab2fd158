//! A group an old ZooKeeper-based consumer registered in (0.8's ephemeral
//! `ids/<consumer>` without Sluice's fields) is left alone: a Kafka-protocol
//! member may still use it and commit, but Sluice writes no ids, owners or
//! state there, and DeleteGroups refuses it.

use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId};

use super::common::*;
use super::member::*;

const NON_EMPTY_GROUP: i16 = 68;

#[test]
fn a_group_of_an_old_zookeeper_consumer_is_left_alone() {
    let chroot = unique_chroot("gc-legacy");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let port = broker.port();
    assert_eq!(create_topic_with_configs(&broker, "t", 1, 1, &[]), 0);
    let old = Zk::new_session(&chroot);
    let registration =
        br#"{"version":1,"subscription":{"t":1},"pattern":"static","timestamp":"1"}"#;
    old.create_ephemeral("/consumers/legacy/ids/old-consumer-1", registration);
    old.create("/consumers/legacy/offsets/t/0", b"4");

    let mut member = RawMember::new("legacy", "t");
    member.join_when_ready(port, &[0]);
    assert_eq!(member.commit(port, &[0], 9).unwrap(), NONE);
    let zk = zk(&chroot);
    assert_eq!(
        zk.get_string("/consumers/legacy/offsets/t/0").as_deref(),
        Some("9")
    );
    assert_eq!(
        zk.children("/consumers/legacy/ids").unwrap(),
        vec!["old-consumer-1".to_string()]
    );
    assert!(!zk.exists("/consumers/legacy/owners"));
    assert_eq!(
        zk.get("/consumers/legacy").unwrap_or_default(),
        Vec::<u8>::new()
    );

    assert_eq!(
        member.leave_and_check(port),
        NONE,
        "the member leaves the group"
    );
    let request =
        DeleteGroupsRequest::default().with_groups_names(vec![GroupId(str_bytes("legacy"))]);
    let response: DeleteGroupsResponse = send_request(&broker, 2, &request);
    assert_eq!(response.results[0].error_code, NON_EMPTY_GROUP);
    assert!(zk.exists("/consumers/legacy/ids/old-consumer-1"));
}
