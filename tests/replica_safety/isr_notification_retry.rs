//! Finding 17 of the safety review (ISR change notification not retried):
//! when the leader's ISR write succeeds but writing
//! `/isr_change_notification/isr_change_<seq>` fails, the change must be
//! announced later (Kafka keeps isrChangeSet and retries), or the
//! controller and every client's metadata keep the old ISR. The test makes
//! the notification fail with a read-only ACL on `/isr_change_notification`,
//! then deletes that node.

use common::cluster::start_cluster;
use common::{chroot_path, now_ms, plain_batch, produce_request, send_request, zk_cli};

use super::*;

fn set_acl(chroot: &str, path: &str, acl: &str) {
    let output = zk_cli(&["setAcl", &chroot_path(chroot, path), acl]);
    assert!(output.status.success(), "setAcl {path} {acl}: {output:?}");
}

#[test]
fn an_isr_change_whose_notification_failed_is_announced_later() {
    let topic = "isr-notification-retry";
    // Frozen broker 3 stays registered: only the leader changes the ISR.
    let mut cluster = start_cluster(
        "replica-isr-notification",
        &[("zookeeper.session.timeout.ms", "40000")],
    );
    // The frozen follower is not the controller, which must announce the change.
    let (frozen, assignment) = frozen_follower(&cluster, 1);
    create_assigned(&cluster, topic, &[&assignment], &[]);
    set_acl(
        &cluster.chroot,
        "/isr_change_notification",
        "world:anyone:r",
    );

    cluster.broker(frozen).pause();
    let request = produce_request(
        topic,
        plain_batch(&["the frozen follower misses this"], now_ms()),
    )
    .with_acks(1);
    let response = send_request(broker(&cluster, 1), 7, &request);
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
    let shrunk = &assignment[..2];
    wait_for_state(
        &cluster,
        topic,
        0,
        "the frozen follower out of the ISR",
        |s| s.isr == shrunk,
    );
    broker(&cluster, 1).wait_for_log(
        "could not write the ISR change notification",
        CLUSTER_TIMEOUT,
    );

    // The read-only node goes (its parent allows that); the leader's next
    // try creates it anew.
    zk(&cluster.chroot).delete_recursive("/isr_change_notification");
    wait_for_metadata_isr(&cluster, 1, topic, shrunk, Duration::from_secs(25));
    cluster.broker(frozen).resume();
}
