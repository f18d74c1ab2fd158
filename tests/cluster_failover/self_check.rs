//! The checks of this test binary check something: the acknowledged-message
//! check names each kind of loss, and the Metadata agreement check catches a
//! broker that was not told about a znode change.

use std::collections::BTreeMap;

use crate::common::ack_stream::acknowledged_problems;
use crate::common::cluster::{ALL, create_replicated_topic, start_cluster};
use crate::common::cluster_view::{
    ZkView, assert_metadata_agrees, disagreements, fetch_metadata, port_of,
};
use crate::common::zk;

#[test]
fn acknowledged_check_names_lost_moved_reordered_and_duplicated_messages() {
    let log: Vec<(i64, String)> = [(0, "a"), (1, "b"), (2, "b"), (2, "c"), (4, "d")]
        .into_iter()
        .map(|(o, v)| (o, v.to_owned()))
        .collect();
    let acked: BTreeMap<String, i64> = [("a", 0), ("d", 1), ("e", 5)]
        .into_iter()
        .map(|(v, o)| (v.to_owned(), o))
        .collect();
    let problems = acknowledged_problems(&log, &acked, true);
    let text = problems.join("\n");
    assert_eq!(problems.len(), 4, "{text}");
    assert!(text.contains("offset 2 read after offset 2"), "{text}");
    assert!(text.contains("1 acknowledged messages are gone"), "{text}");
    assert!(text.contains(r#"e\"@5"#), "{text}");
    assert!(
        text.contains(r#"offset 1 holds "b", but "d" was acknowledged"#),
        "{text}"
    );
    assert!(text.contains("\"b\" stored twice"), "{text}");
    assert!(acknowledged_problems(&log[..2], &acked_prefix(), true).is_empty());
}

fn acked_prefix() -> BTreeMap<String, i64> {
    [("a".to_owned(), 0), ("b".to_owned(), 1)].into()
}

#[test]
fn agreement_check_catches_a_broker_that_was_not_told() {
    // A state znode changed behind the controller's back (it never watches
    // them): no broker hears of it, and the check must say so.
    let topic = "told";
    let cluster = start_cluster("failover-agreement-check", &[]);
    let initial = create_replicated_topic(&cluster, &ALL, topic, 1, 3, &[]);
    let view = assert_metadata_agrees(&cluster, &ALL, &[topic], "after creating the topic");
    let state = &initial[&0];
    let forged = serde_json::json!({
        "controller_epoch": state.controller_epoch,
        "leader": state.leader,
        "version": 1,
        "leader_epoch": state.leader_epoch + 7,
        "isr": state.isr,
    });
    zk(&cluster.chroot).set(
        &format!("/brokers/topics/{topic}/partitions/0/state"),
        forged.to_string().as_bytes(),
    );
    let forged_view = ZkView::read(&cluster.chroot, &[topic]);
    assert_ne!(forged_view, view);
    for id in ALL {
        let meta = fetch_metadata(port_of(&cluster, id), &[topic]).expect("Metadata");
        let found = disagreements(&forged_view, id, &meta);
        assert_eq!(
            found,
            vec![format!(
                "broker {id}: {topic}-0 leader epoch is {} in its Metadata, {} in ZooKeeper",
                state.leader_epoch,
                state.leader_epoch + 7
            )],
            "the agreement check must name exactly the forged leader epoch"
        );
    }
}
