//! Multiple listeners, as an operator with Docker or split networks sets them
//! up: `listeners=INTERNAL://…,EXTERNAL://…`, a protocol map and
//! `inter.broker.listener.name=INTERNAL`. Covers: every listener is bound and
//! registered; Metadata, FindCoordinator and DescribeCluster answer with the
//! endpoints of the listener the request came in on; clients produce and
//! consume through EXTERNAL; replication runs over INTERNAL; a broker without
//! a listener is hidden from that listener's clients (LISTENER_NOT_FOUND for
//! the partitions it leads); a taken port fails start-up naming `listeners`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::cluster::{TOPIC_READY_TIMEOUT, try_create_topic, wait_fully_replicated};
use common::*;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, DescribeClusterRequest, DescribeClusterResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, MetadataRequest, MetadataResponse,
};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::util::Timeout;

const PROTOCOL_MAP: &str = "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT";
const LISTENER_NOT_FOUND: i16 = 72;
const LEADER_NOT_AVAILABLE: i16 = 5;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;

/// The ports of one broker's two listeners.
#[derive(Clone, Copy, Debug)]
struct Ports {
    internal: u16,
    external: u16,
}

/// A broker with INTERNAL and EXTERNAL listeners on free ports, listed in
/// `order` ("INTERNAL" or "EXTERNAL" first), advertised as bound, with
/// inter.broker.listener.name=INTERNAL. The harness waits on INTERNAL.
fn two_listener_spec(id: i32, chroot: &str, external_first: bool) -> (BrokerSpec, Ports) {
    let ports = Ports {
        internal: free_port(),
        external: free_port(),
    };
    let internal = format!("INTERNAL://127.0.0.1:{}", ports.internal);
    let external = format!("EXTERNAL://127.0.0.1:{}", ports.external);
    let listeners = if external_first {
        format!("{external},{internal}")
    } else {
        format!("{internal},{external}")
    };
    let mut spec = BrokerSpec::new(id, zk_connect(chroot))
        .set("listeners", &listeners)
        .set("advertised.listeners", &listeners)
        .set("listener.security.protocol.map", PROTOCOL_MAP)
        .set("inter.broker.listener.name", "INTERNAL")
        .set("replica.fetch.wait.max.ms", "200");
    spec.port = Some(ports.internal);
    (spec, ports)
}

/// Metadata (`version`, no auto-creation) sent to 127.0.0.1:`port`.
fn metadata(port: u16, version: i16, topics: &[&str]) -> MetadataResponse {
    let request = MetadataRequest::default()
        .with_topics(Some(
            topics
                .iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                .collect(),
        ))
        .with_allow_auto_topic_creation(false);
    exchange(port, ApiKey::Metadata, version, &request)
        .unwrap_or_else(|e| panic!("Metadata v{version} on port {port}: {e}"))
}

/// broker id -> advertised port, as a Metadata answer lists them.
fn broker_ports(response: &MetadataResponse) -> BTreeMap<i32, u16> {
    response
        .brokers
        .iter()
        .map(|b| (b.node_id.0, b.port as u16))
        .collect()
}

/// Waits until Metadata through `port` lists exactly `want` (id -> port).
fn wait_broker_ports(port: u16, want: &BTreeMap<i32, u16>) {
    wait_until(
        &format!("Metadata through port {port} to list {want:?}"),
        TOPIC_READY_TIMEOUT,
        || Some(()).filter(|_| broker_ports(&metadata(port, 9, &[])) == *want),
    );
}

/// FindCoordinator v2 for `group` through `port`: (error, node, port).
fn find_coordinator(port: u16, group: &str) -> (i16, i32, i32) {
    let request = FindCoordinatorRequest::default()
        .with_key(str_bytes(group))
        .with_key_type(0);
    let r: FindCoordinatorResponse = exchange(port, ApiKey::FindCoordinator, 2, &request)
        .unwrap_or_else(|e| panic!("FindCoordinator on port {port}: {e}"));
    (r.error_code, r.node_id.0, r.port)
}

fn describe_cluster_ports(port: u16) -> BTreeMap<i32, u16> {
    let r: DescribeClusterResponse = exchange(
        port,
        ApiKey::DescribeCluster,
        0,
        &DescribeClusterRequest::default(),
    )
    .unwrap_or_else(|e| panic!("DescribeCluster on port {port}: {e}"));
    r.brokers
        .iter()
        .map(|b| (b.broker_id.0, b.port as u16))
        .collect()
}

fn produce_and_consume(bootstrap: &str, topic: &str, acks: &str) {
    let out = kcat(
        &[
            "-b",
            bootstrap,
            "-t",
            topic,
            "-P",
            "-X",
            &format!("request.required.acks={acks}"),
        ],
        Some(b"one\ntwo\nthree\n"),
    );
    assert_success(&out, &format!("kcat produce to {topic} via {bootstrap}"));
    let out = kcat(
        &[
            "-b",
            bootstrap,
            "-t",
            topic,
            "-C",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        None,
    );
    assert_success(&out, &format!("kcat consume {topic} via {bootstrap}"));
    let got: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let want: BTreeSet<String> = ["one", "two", "three"].map(String::from).into();
    assert_eq!(got, want, "consumed from {topic} via {bootstrap}");
}

#[test]
fn each_listener_answers_with_its_own_endpoints_and_serves_clients() {
    let chroot = unique_chroot("listeners-one");
    let (spec, ports) = two_listener_spec(1, &chroot, false);
    let broker = Broker::start(spec);

    // Both endpoints registered, with their security protocols.
    let registration = zk(&chroot)
        .get_json("/brokers/ids/1")
        .expect("registration");
    let endpoints: BTreeSet<String> = registration["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    let want: BTreeSet<String> = [
        format!("INTERNAL://127.0.0.1:{}", ports.internal),
        format!("EXTERNAL://127.0.0.1:{}", ports.external),
    ]
    .into();
    assert_eq!(endpoints, want, "{registration}");
    assert_eq!(
        registration["listener_security_protocol_map"],
        serde_json::json!({"INTERNAL": "PLAINTEXT", "EXTERNAL": "PLAINTEXT"}),
        "{registration}"
    );

    // Each listener tells its clients its own port.
    wait_broker_ports(ports.external, &BTreeMap::from([(1, ports.external)]));
    wait_broker_ports(ports.internal, &BTreeMap::from([(1, ports.internal)]));
    assert_eq!(
        describe_cluster_ports(ports.external),
        BTreeMap::from([(1, ports.external)])
    );
    assert_eq!(
        describe_cluster_ports(ports.internal),
        BTreeMap::from([(1, ports.internal)])
    );
    assert_eq!(
        find_coordinator(ports.external, "g"),
        (0, 1, i32::from(ports.external))
    );
    assert_eq!(
        find_coordinator(ports.internal, "g"),
        (0, 1, i32::from(ports.internal))
    );

    // A client that knows only EXTERNAL produces and consumes.
    produce_and_consume(&format!("127.0.0.1:{}", ports.external), "outside", "1");
    let out = kcat(
        &["-b", &format!("127.0.0.1:{}", ports.external), "-L"],
        None,
    );
    assert_success(&out, "kcat -L via EXTERNAL");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains(&format!("127.0.0.1:{}", ports.external))
            && !listing.contains(&format!("127.0.0.1:{}", ports.internal)),
        "kcat -L through EXTERNAL:\n{listing}"
    );
    drop(broker);
}

#[test]
fn two_brokers_replicate_over_the_inter_broker_listener() {
    let chroot = unique_chroot("listeners-two");
    // EXTERNAL first: the inter-broker choice must follow
    // inter.broker.listener.name, not the order of the endpoints.
    let (spec1, ports1) = two_listener_spec(1, &chroot, true);
    let (spec2, ports2) = two_listener_spec(2, &chroot, true);
    let mut brokers = vec![Broker::spawn(spec1), Broker::spawn(spec2)];
    for b in &mut brokers {
        b.wait_ready();
    }
    let cluster = TestCluster { chroot, brokers };

    let external = BTreeMap::from([(1, ports1.external), (2, ports2.external)]);
    let internal = BTreeMap::from([(1, ports1.internal), (2, ports2.internal)]);
    for p in [ports1, ports2] {
        wait_broker_ports(p.external, &external);
        wait_broker_ports(p.internal, &internal);
    }

    let bootstrap = format!("127.0.0.1:{}", ports1.external);
    try_create_topic(&bootstrap, "both", 2, 2, &[])
        .unwrap_or_else(|code| panic!("CreateTopics both: {code:?}"));
    wait_fully_replicated(&cluster, "both", "after creation");
    produce_and_consume(&bootstrap, "both", "-1");

    // Every follower fetches from the leader's INTERNAL endpoint.
    for (b, other) in [(0, ports2), (1, ports1)] {
        let log = cluster.brokers[b].wait_for_log("replica fetcher started", TOPIC_READY_TIMEOUT);
        let addresses: BTreeSet<&str> = log
            .lines()
            .filter(|l| l.contains("replica fetcher started"))
            .filter_map(|l| l.split("address=").nth(1))
            .map(|rest| rest.split_whitespace().next().unwrap_or(""))
            .collect();
        let want = format!("127.0.0.1:{}", other.internal);
        assert_eq!(
            addresses,
            BTreeSet::from([want.as_str()]),
            "broker {}'s replica fetchers",
            cluster.brokers[b].id()
        );
    }
}

#[test]
fn inter_broker_traffic_never_uses_the_client_listener() {
    // EXTERNAL is advertised at a port nobody listens on, and listed first:
    // the controller's requests, the replica fetchers and controlled shutdown
    // work only if they all use INTERNAL, the inter.broker.listener.name.
    let chroot = unique_chroot("listeners-inter");
    let spec = |id: i32| {
        let (internal, bound, dead) = (free_port(), free_port(), free_port());
        let mut spec = BrokerSpec::new(id, zk_connect(&chroot))
            .set(
                "listeners",
                format!("EXTERNAL://127.0.0.1:{bound},INTERNAL://127.0.0.1:{internal}"),
            )
            .set(
                "advertised.listeners",
                format!("EXTERNAL://127.0.0.1:{dead},INTERNAL://127.0.0.1:{internal}"),
            )
            .set("listener.security.protocol.map", PROTOCOL_MAP)
            .set("inter.broker.listener.name", "INTERNAL")
            .set("replica.fetch.wait.max.ms", "200")
            .set("controlled.shutdown.retry.backoff.ms", "500");
        spec.port = Some(internal);
        spec
    };
    let mut brokers = vec![Broker::spawn(spec(1)), Broker::spawn(spec(2))];
    for b in &mut brokers {
        b.wait_ready();
    }
    let mut cluster = TestCluster { chroot, brokers };
    let bootstrap = cluster.brokers[0].bootstrap();
    try_create_topic(&bootstrap, "inside", 2, 2, &[])
        .unwrap_or_else(|code| panic!("CreateTopics inside: {code:?}"));
    wait_fully_replicated(&cluster, "inside", "after creation");
    produce_and_consume(&bootstrap, "inside", "-1");

    // Broker 2 leads one of the two partitions (preferred leaders): its
    // controlled shutdown reaches the controller over INTERNAL.
    let broker = cluster.broker(2);
    let status = broker.terminate();
    assert!(status.success(), "broker 2 exit status {status}");
    let log = broker.log_text();
    assert!(
        log.contains("controlled shutdown succeeded"),
        "broker 2's controlled shutdown:\n{}",
        tail_lines(&log, 30)
    );
}

#[test]
fn a_broker_without_the_listener_is_hidden_from_its_clients() {
    let chroot = unique_chroot("listeners-mixed");
    let (spec1, ports1) = two_listener_spec(1, &chroot, false);
    let internal2 = free_port();
    let mut spec2 = BrokerSpec::new(2, zk_connect(&chroot))
        .set("listeners", format!("INTERNAL://127.0.0.1:{internal2}"))
        .set("listener.security.protocol.map", PROTOCOL_MAP)
        .set("inter.broker.listener.name", "INTERNAL");
    spec2.port = Some(internal2);
    let mut brokers = vec![Broker::spawn(spec1), Broker::spawn(spec2)];
    for b in &mut brokers {
        b.wait_ready();
    }

    wait_broker_ports(
        ports1.internal,
        &BTreeMap::from([(1, ports1.internal), (2, internal2)]),
    );
    wait_broker_ports(ports1.external, &BTreeMap::from([(1, ports1.external)]));

    // Partition 0 on broker 1, partition 1 on broker 2.
    let admin: AdminClient<DefaultClientContext> =
        producer_config(&format!("127.0.0.1:{}", ports1.internal))
            .create()
            .expect("admin client");
    let assignment: &[&[i32]] = &[&[1], &[2]];
    let topic = NewTopic::new("split", 2, TopicReplication::Variable(assignment));
    let options =
        AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(30))));
    let results = block_on(admin.create_topics([&topic], &options)).expect("CreateTopics");
    assert!(
        results.iter().all(|r| r.is_ok()),
        "CreateTopics split: {results:?}"
    );
    let leaders = |port: u16, version: i16| -> BTreeMap<i32, (i16, i32)> {
        metadata(port, version, &["split"])
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| (p.partition_index, (p.error_code, p.leader_id.0)))
            .collect()
    };
    wait_until(
        "both partitions of split led, as seen through INTERNAL",
        TOPIC_READY_TIMEOUT,
        || {
            Some(()).filter(|_| {
                leaders(ports1.internal, 9) == BTreeMap::from([(0, (0, 1)), (1, (0, 2))])
            })
        },
    );
    // Through EXTERNAL: broker 2's partition has no reachable leader.
    assert_eq!(
        leaders(ports1.external, 9),
        BTreeMap::from([(0, (0, 1)), (1, (LISTENER_NOT_FOUND, -1))])
    );
    assert_eq!(
        leaders(ports1.external, 5),
        BTreeMap::from([(0, (0, 1)), (1, (LEADER_NOT_AVAILABLE, -1))])
    );
    assert_eq!(
        describe_cluster_ports(ports1.external),
        BTreeMap::from([(1, ports1.external)])
    );

    // A group coordinated by broker 2 is not available through EXTERNAL.
    let group = (0..200)
        .map(|i| format!("group-{i}"))
        .find(|g| find_coordinator(ports1.internal, g).1 == 2)
        .expect("some group coordinated by broker 2");
    assert_eq!(
        find_coordinator(ports1.internal, &group),
        (0, 2, i32::from(internal2))
    );
    assert_eq!(
        find_coordinator(ports1.external, &group).0,
        COORDINATOR_NOT_AVAILABLE
    );
    drop(brokers);
}

#[test]
fn a_taken_port_on_the_second_listener_fails_start_up_naming_listeners() {
    let chroot = unique_chroot("listeners-taken");
    let (spec, ports) = two_listener_spec(1, &chroot, false);
    let taken = std::net::TcpListener::bind(("127.0.0.1", ports.external)).expect("hold port");
    let mut broker = Broker::spawn(spec);
    let status = broker.wait_exit(BROKER_START_TIMEOUT);
    assert!(!status.success(), "the broker started on a taken port");
    let log = broker.log_text();
    assert!(
        log.contains("listeners")
            && log.contains("EXTERNAL")
            && log.contains(&ports.external.to_string()),
        "start-up error should name listeners, EXTERNAL and port {}:\n{}",
        ports.external,
        tail_lines(&log, 20)
    );
    assert!(
        zk(&chroot).get_json("/brokers/ids/1").is_none(),
        "a broker that failed start-up must not stay registered"
    );
    drop(taken);
}
