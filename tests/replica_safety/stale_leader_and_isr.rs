//! Finding 1 of the safety review: a LeaderAndIsr repeating the state from
//! before the leader's own ISR change (same leader epoch, the older
//! zkVersion) must be ignored, or the leader's ISR and zkVersion go back,
//! its next ISR write loses the zkVersion race and ISR changes freeze with
//! a member that lags (acks=all hangs) or, after an expansion, without one
//! that ZooKeeper counts as in sync (acknowledged writes lost).

use common::cluster::start_cluster;
use common::raw;
use common::{now_ms, plain_batch, produce_request, send_request};

use super::*;

#[test]
fn a_resent_same_epoch_leader_and_isr_does_not_roll_back_the_isr() {
    let topic = "stale-lai";
    // A long session: broker 3 stays registered (and in the controller's
    // view alive) while it is frozen; only the leader drops it.
    let mut cluster = start_cluster(
        "replica-stale-lai",
        &[("zookeeper.session.timeout.ms", "30000")],
    );
    create_assigned(&cluster, topic, &[&[1, 2, 3]], &[]);
    let (before, before_version) =
        wait_for_state(&cluster, topic, 0, "ISR [1,2,3]", |s| s.isr.len() == 3);

    // Broker 3 freezes and misses a write; the leader shrinks the ISR
    // (zkVersion + 1, same leader epoch).
    cluster.broker(3).pause();
    let response = send_request(
        broker(&cluster, 1),
        7,
        &produce_request(topic, plain_batch(&["3 misses this"], now_ms())).with_acks(1),
    );
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
    let (shrunk, shrunk_version) = wait_for_state(&cluster, topic, 0, "3 out of the ISR", |s| {
        !s.isr.contains(&3)
    });
    assert_eq!(
        shrunk.leader_epoch, before.leader_epoch,
        "the leader shrank it"
    );
    assert!(shrunk_version > before_version);

    // The controller's earlier copy arrives again (a failover or a resend).
    let (top, partition_error) = send_leader_and_isr(
        &cluster,
        1,
        &RawPartitionState {
            topic,
            partition: 0,
            leader: 1,
            leader_epoch: before.leader_epoch,
            isr: &before.isr,
            replicas: &[1, 2, 3],
            zk_version: before_version,
        },
    );
    assert_eq!(top, 0);
    assert_eq!(
        partition_error,
        raw::STALE_CONTROLLER_EPOCH,
        "the leader took a same-epoch LeaderAndIsr with an older zkVersion"
    );

    // The leader still counts [1,2] only: acks=all goes through while 3 is frozen.
    let response = send_request(
        broker(&cluster, 1),
        7,
        &produce_request(topic, plain_batch(&["after the stale copy"], now_ms()))
            .with_timeout_ms(10_000),
    );
    let code = response.responses[0].partition_responses[0].error_code;
    assert_eq!(code, 0, "acks=all with 3 frozen");

    cluster.broker(3).resume();
}
