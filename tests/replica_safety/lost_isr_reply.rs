//! Finding 2 of the safety review, the leader's side: the leader's
//! conditional ISR write lands in ZooKeeper but its reply is lost to a
//! connection loss; the ZooKeeper client retries and gets BadVersion (the
//! version already moved, by our own write). Read as "the controller won",
//! that left the local ISR behind ZooKeeper's, froze ISR changes and wrote
//! no ISR change notification. The leader must find its own write, adopt
//! its zkVersion and announce the change.

use common::cluster::cluster_spec;
use common::cluster_view::fetch_metadata;
use common::{
    AfterFire, WriteTrigger, ZkProxy, now_ms, plain_batch, produce_request, send_request,
    wait_until, wait_until_ok, zk, zookeeper,
};

use super::*;

#[test]
fn an_isr_shrink_whose_reply_was_lost_counts_as_written_and_is_announced() {
    let topic = "lost-isr-reply";
    let state_path = format!("/brokers/topics/{topic}/partitions/0/state");
    // Broker 1 (the leader) talks to ZooKeeper through the proxy.
    let proxy = ZkProxy::start(zookeeper().port());
    let mut cluster = start_cluster_with_proxy("replica-lost-isr-reply", 1, &proxy);
    create_assigned(&cluster, topic, &[&[1, 2, 3]], &[]);

    // Broker 3 freezes and misses a write: the leader shrinks the ISR, and
    // the reply to that write is lost.
    proxy.arm(WriteTrigger::set_data(state_path), AfterFire::Reconnect);
    cluster.broker(3).pause();
    let response = send_request(
        broker(&cluster, 1),
        7,
        &produce_request(topic, plain_batch(&["3 misses this"], now_ms())).with_acks(1),
    );
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
    proxy
        .wait_fired(CLUSTER_TIMEOUT)
        .expect("the leader's ISR write went through the proxy");
    let (shrunk, _) = wait_for_state(&cluster, topic, 0, "3 out of the ISR", |s| {
        !s.isr.contains(&3)
    });
    assert_eq!(shrunk.isr, vec![1, 2]);

    // The leader's own ISR is ZooKeeper's: acks=all needs only 1 and 2.
    let response = send_request(
        broker(&cluster, 1),
        7,
        &produce_request(topic, plain_batch(&["with 3 frozen"], now_ms())).with_timeout_ms(10_000),
    );
    assert_eq!(
        response.responses[0].partition_responses[0].error_code, 0,
        "acks=all still waits for 3: the leader kept its old ISR after the lost reply"
    );
    // And the controller heard of it: metadata shows the shrunk ISR.
    wait_until_ok(
        "broker 2's metadata to show ISR [1, 2]",
        CLUSTER_TIMEOUT,
        || {
            let meta = fetch_metadata(broker(&cluster, 2).port(), &[topic])?;
            let isr = meta
                .partitions
                .get(&(topic.to_owned(), 0))
                .map(|p| p.isr.clone());
            if isr.as_deref() == Some(&[1, 2][..]) {
                Ok(())
            } else {
                Err(format!("ISR {isr:?}"))
            }
        },
    );
    cluster.broker(3).resume();
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
