//! Finding 2 of the safety review, the leader's side: the leader's
//! conditional ISR write lands in ZooKeeper but its reply is lost to a
//! connection loss; the ZooKeeper client retries and gets BadVersion (the
//! version already moved, by our own write). Read as "the controller won",
//! that left the local ISR behind ZooKeeper's, froze ISR changes and wrote
//! no ISR change notification. The leader must find its own write, adopt
//! its zkVersion and announce the change.

use common::cluster::cluster_spec;
use common::{
    AfterFire, WriteTrigger, ZkProxy, now_ms, plain_batch, produce_request, send_request,
    wait_until, zk, zookeeper,
};

use super::*;

#[test]
fn an_isr_shrink_whose_reply_was_lost_counts_as_written_and_is_announced() {
    let topic = "lost-isr-reply";
    let state_path = format!("/brokers/topics/{topic}/partitions/0/state");
    // Broker 1 (the leader) talks to ZooKeeper through the proxy.
    let proxy = ZkProxy::start(zookeeper().port());
    let mut cluster = start_cluster_with_proxy("replica-lost-isr-reply", 1, &proxy);
    // The frozen follower is not the controller, which must announce the change.
    let (frozen, assignment) = frozen_follower(&cluster, 1);
    create_assigned(&cluster, topic, &[&assignment], &[]);

    // A follower freezes and misses a write: the leader shrinks the ISR,
    // and the reply to that write is lost.
    proxy.arm(WriteTrigger::set_data(state_path), AfterFire::Reconnect);
    cluster.broker(frozen).pause();
    let response = send_request(
        broker(&cluster, 1),
        7,
        &produce_request(
            topic,
            plain_batch(&["the frozen follower misses this"], now_ms()),
        )
        .with_acks(1),
    );
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
    proxy
        .wait_fired(CLUSTER_TIMEOUT)
        .expect("the leader's ISR write went through the proxy");
    let (shrunk, _) = wait_for_state(
        &cluster,
        topic,
        0,
        "the frozen follower out of the ISR",
        |s| !s.isr.contains(&frozen),
    );
    assert_eq!(shrunk.isr, assignment[..2]);

    // The leader's own ISR is ZooKeeper's: acks=all needs only the other two.
    let response = send_request(
        broker(&cluster, 1),
        7,
        &produce_request(topic, plain_batch(&["with a follower frozen"], now_ms()))
            .with_timeout_ms(10_000),
    );
    assert_eq!(
        response.responses[0].partition_responses[0].error_code, 0,
        "acks=all still waits for the frozen follower: the leader kept its old ISR after the lost reply"
    );
    // And the controller heard of it: metadata shows the shrunk ISR.
    wait_for_metadata_isr(&cluster, 1, topic, &assignment[..2], CLUSTER_TIMEOUT);
    cluster.broker(frozen).resume();
}

/// The three-broker test cluster (`start_cluster`'s settings), broker `id`
/// talking to ZooKeeper through `proxy`; waits until all are registered.
fn start_cluster_with_proxy(name: &str, id: i32, proxy: &ZkProxy) -> TestCluster {
    let cluster = TestCluster::start_with(name, 3, |spec| {
        // A long session: frozen broker 3 stays registered, so no controller
        // change rescues the leader's ISR while the test looks at it.
        let mut spec = cluster_spec(spec, &[("zookeeper.session.timeout.ms", "40000")]);
        if spec.id == id {
            let chroot = spec.zk_connect[spec.zk_connect.find('/').expect("a chroot")..].to_owned();
            spec.zk_connect = proxy.connect_string(&chroot);
        }
        spec
    });
    wait_until("broker registrations", CLUSTER_TIMEOUT, || {
        let ids = zk(&cluster.chroot).children("/brokers/ids")?;
        (ids.len() == 3).then_some(())
    });
    cluster
}
