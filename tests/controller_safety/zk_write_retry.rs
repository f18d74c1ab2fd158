//! Finding 2, controller side: a conditional ZooKeeper write is retried by
//! the client after a connection loss; when the first attempt had landed,
//! the retry gets BadVersion. The controller must recognise its own write
//! (the state read back is exactly what it wrote) and announce it with
//! LeaderAndIsr, instead of reading it as a lost race and telling nobody.
//! The controller broker reaches ZooKeeper through a `ZkProxy` that lets
//! ZooKeeper apply the election's multi and drops the connection before
//! the reply.

use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, ElectLeadersRequest, ElectLeadersResponse, ProduceResponse,
    elect_leaders_request::TopicPartitions,
};

use crate::common::cluster::*;
use crate::common::cluster_view::*;
use crate::common::*;

const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;

const STATE: &str = "/brokers/topics/t/partitions/0/state";

/// Produce (acks=1) of one record to `topic`-0 at 127.0.0.1:`port`: the
/// partition's error code.
fn produce_code(port: u16, topic: &str) -> Result<i16, String> {
    let request = produce_request(topic, plain_batch(&["x"], now_ms())).with_acks(1);
    let response: ProduceResponse = exchange(port, ApiKey::Produce, 8, &request)?;
    Ok(response.responses[0].partition_responses[0].error_code)
}

/// Waits until broker `id` accepts produce to `topic`-0 as its leader.
fn wait_leads(cluster: &TestCluster, id: i32, topic: &str, what: &str) {
    wait_until_ok(what, FAILOVER_TIMEOUT, || {
        match produce_code(port_of(cluster, id), topic)? {
            0 => Ok(()),
            code => Err(format!("broker {id} answers produce with error {code}")),
        }
    });
}

/// Broker 1 (the controller, through `proxy`), then brokers 2 and 3.
fn cluster_with_proxied_controller(name: &str, proxy: &ZkProxy) -> TestCluster {
    let chroot = unique_chroot(name);
    let spec = |id: i32, connect: String| {
        [
            ("zookeeper.session.timeout.ms", "6000"),
            ("replica.lag.time.max.ms", "4000"),
            ("replica.fetch.wait.max.ms", "200"),
            ("controller.socket.timeout.ms", "5000"),
            ("auto.leader.rebalance.enable", "false"),
        ]
        .into_iter()
        .fold(BrokerSpec::new(id, connect), |s, (k, v)| s.set(k, v))
    };
    let first = Broker::start(spec(1, proxy.connect_string(&chroot)));
    wait_until("broker 1 to be controller", FAILOVER_TIMEOUT, || {
        (controller(&chroot) == Some(1)).then_some(())
    });
    let mut brokers = vec![first];
    brokers.extend((2..=3).map(|id| Broker::spawn(spec(id, zk_connect(&chroot)))));
    for broker in &mut brokers {
        broker.wait_ready();
    }
    TestCluster { chroot, brokers }
}

#[test]
fn an_election_whose_reply_was_lost_is_still_announced_to_the_new_leader() {
    let proxy = ZkProxy::start(zookeeper().port());
    let mut cluster = cluster_with_proxied_controller("zk-retry-election", &proxy);
    let request = CreateTopicsRequest::default()
        .with_topics(vec![assigned_topic("t", &[&[2, 3, 1]])])
        .with_timeout_ms(30_000);
    let response = send_request(cluster.broker(1), 7, &request);
    assert_eq!(response.topics[0].error_code, 0);
    let before = wait_fully_replicated(&cluster, "t", "after creation");
    assert_eq!(before[&0].leader, 2);

    // Leader 2 dies; the controller's election write for t-0 lands in
    // ZooKeeper but its reply is lost.
    proxy.arm(WriteTrigger::multi(STATE), AfterFire::Reconnect);
    cluster.broker(2).kill();
    let fired = proxy
        .wait_fired(FAILOVER_TIMEOUT)
        .expect("the controller wrote t-0's state");
    assert!(fired.paths.iter().any(|p| p.ends_with(STATE)), "{fired:?}");
    let elected = wait_for_state(&cluster.chroot, "t", 0, "leader 3", FAILOVER_TIMEOUT, |s| {
        s.leader == 3
    });
    assert_eq!(elected.leader_epoch, before[&0].leader_epoch + 1);
    wait_leads(
        &cluster,
        3,
        "t",
        "broker 3 to lead t-0 (it must get LeaderAndIsr for the election)",
    );

    // Broker 2 returns and catches up; a preferred election moves
    // leadership back to it, and again the write's reply is lost.
    cluster.broker(2).restart();
    wait_all_in_isr(&cluster, "t", 0, "broker 2 back in the ISR");
    proxy.arm(WriteTrigger::multi(STATE), AfterFire::Reconnect);
    let request = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_timeout_ms(30_000)
        .with_topic_partitions(Some(vec![
            TopicPartitions::default()
                .with_topic(topic_name("t"))
                .with_partitions(vec![0]),
        ]));
    // The controller learns the ISR change through the leader's
    // notification: until then the preferred replica is "not available".
    let response = wait_until_ok(
        "the controller to know broker 2 is back in the ISR",
        FAILOVER_TIMEOUT,
        || {
            let response: ElectLeadersResponse = send_request(cluster.broker(1), 2, &request);
            match response.replica_election_results[0].partition_result[0].error_code {
                PREFERRED_LEADER_NOT_AVAILABLE => Err(response),
                _ => Ok(response),
            }
        },
    );
    assert!(
        proxy.wait_fired(Duration::ZERO).is_some(),
        "no reply was dropped; ElectLeaders answered {response:?}"
    );
    let result = &response.replica_election_results[0].partition_result[0];
    assert_eq!(
        result.error_code, 0,
        "ElectLeaders answered {result:?} for an election that was written"
    );
    wait_leads(
        &cluster,
        2,
        "t",
        "broker 2 to lead t-0 after the preferred election",
    );
}
