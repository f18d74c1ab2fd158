//! The `sluice::zk` module (the ZooKeeper room) against the real ZooKeeper
//! server the harness shares: the session (chroot creation, connect timeout,
//! ephemeral ownership, close, expiry and re-establishment, a network
//! partition longer than the session timeout) and Kafka's typed znode
//! operations (controller election and epoch, topics, partition state,
//! consumer offsets, multi, watches, ids, notifications, producer id blocks,
//! bad data). Every test works under a chroot of its own.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use sluice::model::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use sluice::zk::{
    BrokerRegistration, ControllerElection, CreateMode, PartitionStateZnode, SessionEvent,
    WatchEvent, WatcherOptions, ZkClient, ZkConfig, ZkError, ZkOp, new_kafka_uuid, paths,
    spawn_children_watcher, spawn_data_watcher,
};
use tokio::sync::broadcast::error::RecvError;

// ------------------------------------------------------------------ helpers

/// Broker ids from bare numbers.
fn ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|&id| BrokerId(id)).collect()
}

/// A `zookeeper.connect` string for the shared server with a chroot no other
/// test uses.
fn unique_connect(name: &str) -> String {
    zk_connect(&unique_chroot(name))
}

/// The test settings: a 6 s session (the server's minimum is 4 s), 10 s to connect.
fn zk_config(connect: &str) -> ZkConfig {
    ZkConfig {
        connect: connect.to_string(),
        session_timeout_ms: 6_000,
        connection_timeout_ms: 10_000,
    }
}

async fn connect_to(connect: &str) -> ZkClient {
    ZkClient::connect(zk_config(connect))
        .await
        .unwrap_or_else(|e| panic!("connect to the test ZooKeeper at {connect}: {e}"))
}

/// A client without a chroot, to see where the chrooted ones write.
async fn connect_root() -> ZkClient {
    connect_to(&zk_connect("")).await
}

/// Two clients (two sessions) under a fresh chroot, persistent paths made.
async fn pair(name: &str) -> (ZkClient, ZkClient) {
    let connect = unique_connect(name);
    let a = connect_to(&connect).await;
    let b = connect_to(&connect).await;
    a.ensure_persistent_paths().await.unwrap();
    (a, b)
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn registration(port: u16) -> BrokerRegistration {
    BrokerRegistration::new(&[format!("PLAINTEXT://localhost:{port}")], None).unwrap()
}

/// The next session event, skipping lag; panics after 40 s.
async fn next_event(rx: &mut tokio::sync::broadcast::Receiver<SessionEvent>) -> SessionEvent {
    loop {
        match tokio::time::timeout(Duration::from_secs(40), rx.recv()).await {
            Ok(Ok(event)) => return event,
            Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Err(RecvError::Closed)) => panic!("session events closed"),
            Err(_) => panic!("no session event within 40 s"),
        }
    }
}

/// `wait_until` for async checks (the harness's one blocks the thread, which
/// would starve the clients of a current-thread test runtime): polls `check`
/// until it is true; panics naming `what` after `timeout`.
async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP proxy in front of the shared ZooKeeper that can cut the network:
/// `cut` drops every proxied connection and refuses new ones until `restore`.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Proxy {
        let target = zookeeper().port();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (cut2, connections2) = (cut.clone(), connections.clone());
        let acceptor = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if cut2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections2.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy {
            port,
            cut,
            connections,
            acceptor,
        }
    }

    /// `127.0.0.1:<proxy port><chroot>`.
    fn connect_string(&self, chroot: &str) -> String {
        format!("127.0.0.1:{}{chroot}", self.port)
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.acceptor.abort();
    }
}

// ------------------------------------------------------------------ the session

#[tokio::test]
async fn connect_creates_a_missing_chroot() {
    init_tracing();
    // Three levels, none of which exists yet.
    let chroot = format!("{}/deep/er", unique_chroot("chroot"));
    let connect = zk_connect(&chroot);
    let root = connect_root().await;
    let top = chroot.split('/').nth(1).map(|t| format!("/{t}")).unwrap();
    assert!(!root.exists(&top).await.unwrap());

    let zk = connect_to(&connect).await;
    assert!(
        root.exists(&chroot).await.unwrap(),
        "chroot {chroot} was not created"
    );
    zk.ensure_persistent_paths().await.unwrap();
    // Paths are relative to the chroot.
    assert!(root.exists(&format!("{chroot}/brokers/ids")).await.unwrap());
    assert!(!root.exists("/brokers/ids").await.unwrap());
    assert!(zk.exists("/config/brokers").await.unwrap());
    // Connecting again to an existing chroot is fine.
    let again = connect_to(&connect).await;
    assert!(again.exists("/brokers/topics").await.unwrap());
}

#[tokio::test]
async fn connect_fails_clearly_when_no_server_answers() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = ZkConfig {
        connect: format!("127.0.0.1:{port}/x"),
        session_timeout_ms: 6_000,
        connection_timeout_ms: 1_500,
    };
    let started = std::time::Instant::now();
    let err = ZkClient::connect(cfg).await.unwrap_err();
    assert!(
        matches!(
            err,
            ZkError::ConnectTimeout {
                timeout_ms: 1_500,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}/x")),
        "{err}"
    );

    let bad = ZkConfig::new("127.0.0.1:2181/bad/");
    assert!(matches!(
        ZkClient::connect(bad).await.unwrap_err(),
        ZkError::InvalidConnect { .. }
    ));
}

#[tokio::test]
async fn broker_registration_is_ephemeral_and_exclusive() {
    init_tracing();
    let connect = unique_connect("register");
    let a = connect_to(&connect).await;
    let b = connect_to(&connect).await;
    a.ensure_persistent_paths().await.unwrap();

    let epoch = a
        .register_broker(BrokerId(1), &registration(9092))
        .await
        .unwrap();
    let (_, stat) = a.get_data("/brokers/ids/1").await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, a.session_id());
    assert_eq!(stat.czxid, epoch);
    // Registering again from the owning session is success.
    assert_eq!(
        a.register_broker(BrokerId(1), &registration(9092))
            .await
            .unwrap(),
        epoch
    );

    // Another session cannot take the id.
    let err = b
        .register_broker(BrokerId(1), &registration(9093))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ZkError::NodeExists { path } if path == "/brokers/ids/1"),
        "{err:?}"
    );
    assert_eq!(b.get_all_broker_ids().await.unwrap(), ids(&[1]));
    let seen = b.get_broker(BrokerId(1)).await.unwrap().unwrap();
    assert_eq!(
        seen.endpoint("PLAINTEXT"),
        Some(("localhost".to_string(), 9092))
    );

    // Closing the session removes the registration at once.
    a.close().await;
    assert_eq!(b.get_broker(BrokerId(1)).await.unwrap(), None);
    assert!(matches!(
        a.get_data("/brokers/ids").await,
        Err(ZkError::Closed { .. })
    ));
    b.register_broker(BrokerId(1), &registration(9093))
        .await
        .unwrap();
    let all = b.get_all_brokers().await.unwrap();
    assert_eq!(all[&BrokerId(1)].registration.port, 9093);
}

#[tokio::test]
async fn session_expiry_rebuilds_the_client() {
    init_tracing();
    let connect = unique_connect("expiry");
    let zk = connect_to(&connect).await;
    let observer = connect_to(&connect).await;
    zk.ensure_persistent_paths().await.unwrap();
    zk.register_broker(BrokerId(7), &registration(9092))
        .await
        .unwrap();
    let mut events = zk.subscribe_session_events();
    let old_session = zk.session_id();
    let (_, watch) = zk.get_children_and_watch("/brokers/topics").await.unwrap();

    zk.force_session_expiry().await.unwrap();

    assert_eq!(
        next_event(&mut events).await,
        SessionEvent::Expired {
            session_id: old_session
        }
    );
    let SessionEvent::NewSession { session_id } = next_event(&mut events).await else {
        panic!("expected NewSession");
    };
    assert_ne!(session_id, old_session);
    assert_eq!(zk.session_id(), session_id);
    // Watches of the old session report the loss.
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .unwrap(),
        WatchEvent::SessionLost
    );
    // The old session's ephemeral is gone; operations work on the new session.
    assert!(observer.get_broker(BrokerId(7)).await.unwrap().is_none());
    zk.register_broker(BrokerId(7), &registration(9092))
        .await
        .unwrap();
    let (_, stat) = observer.get_data("/brokers/ids/7").await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, session_id);
    zk.close().await;
}

#[tokio::test]
async fn operations_during_expiry_wait_for_the_new_session() {
    init_tracing();
    let connect = unique_connect("expiry-ops");
    let zk = connect_to(&connect).await;
    zk.ensure_persistent_paths().await.unwrap();
    let mut events = zk.subscribe_session_events();
    let old = zk.session_id();
    zk.force_session_expiry().await.unwrap();
    // Issued right away: either it ran on the old session before the server
    // ended it, or it waits for (or retries on) the new one.
    let topics = zk.get_all_topics().await.unwrap();
    assert!(topics.is_empty());
    assert!(
        matches!(next_event(&mut events).await, SessionEvent::Expired { session_id } if session_id == old)
    );
    assert!(matches!(
        next_event(&mut events).await,
        SessionEvent::NewSession { .. }
    ));
    assert!(zk.exists("/brokers/ids").await.unwrap());
    zk.close().await;
    assert_eq!(zk.session_id(), 0);
}

/// A real expiry: the client is cut off from ZooKeeper for longer than its
/// session timeout and the server expires the session. Cut off, the client
/// cannot know that (its watches report the loss); once the network is back
/// the server tells it, and it builds a new session and says so (the Java
/// client's behaviour: only a server ends a session).
#[tokio::test]
async fn network_partition_longer_than_the_session_timeout_expires_the_session() {
    init_tracing();
    let proxy = Proxy::start().await;
    let direct = unique_connect("partition");
    let chroot = direct[direct.find('/').unwrap()..].to_string();
    let cfg = ZkConfig {
        connect: proxy.connect_string(&chroot),
        session_timeout_ms: 4_000,
        connection_timeout_ms: 3_000,
    };
    let zk = ZkClient::connect(cfg).await.unwrap();
    let observer = connect_to(&direct).await;
    zk.ensure_persistent_paths().await.unwrap();
    zk.register_broker(BrokerId(3), &registration(9092))
        .await
        .unwrap();
    let mut events = zk.subscribe_session_events();
    let old_session = zk.session_id();
    let (_, watch) = zk.get_data_and_watch("/brokers/ids/3").await.unwrap();

    proxy.cut();
    // The server expires the session after the session timeout.
    wait_until_async(
        "the server to expire the partitioned session",
        Duration::from_secs(15),
        || async { observer.get_broker(BrokerId(3)).await.unwrap().is_none() },
    )
    .await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), watch)
            .await
            .unwrap(),
        WatchEvent::SessionLost
    );
    proxy.restore();
    assert_eq!(
        next_event(&mut events).await,
        SessionEvent::Expired {
            session_id: old_session
        }
    );
    let SessionEvent::NewSession { session_id } = next_event(&mut events).await else {
        panic!("expected NewSession");
    };
    assert_ne!(session_id, old_session);
    zk.register_broker(BrokerId(3), &registration(9092))
        .await
        .unwrap();
    assert!(observer.get_broker(BrokerId(3)).await.unwrap().is_some());
    zk.close().await;
}

// ------------------------------------------------------------------ typed operations

#[tokio::test]
async fn controller_election_has_exactly_one_winner() {
    init_tracing();
    let (a, b) = pair("controller").await;
    let (ra, rb) = tokio::join!(
        a.register_controller_and_increment_epoch(BrokerId(1)),
        b.register_controller_and_increment_epoch(BrokerId(2))
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let winners: Vec<_> = [(BrokerId(1), &ra, &a), (BrokerId(2), &rb, &b)]
        .into_iter()
        .filter(|(_, r, _)| matches!(r, ControllerElection::Won { .. }))
        .collect();
    assert_eq!(winners.len(), 1, "{ra:?} {rb:?}");
    let (winner_id, result, winner) = winners[0];
    assert_eq!(
        *result,
        ControllerElection::Won {
            epoch: 1,
            epoch_zk_version: 1
        }
    );
    let loser = if winner_id == BrokerId(1) { &b } else { &a };
    let loser_result = if winner_id == BrokerId(1) { &rb } else { &ra };
    assert_eq!(
        *loser_result,
        ControllerElection::Lost {
            controller_id: Some(winner_id)
        }
    );
    assert_eq!(loser.get_controller_id().await.unwrap(), Some(winner_id));
    let (raw, _) = a.get_data("/controller_epoch").await.unwrap().unwrap();
    assert_eq!(text(&raw), "1");
    let (raw, stat) = a.get_data("/controller").await.unwrap().unwrap();
    assert!(text(&raw).starts_with(&format!(
        r#"{{"version":1,"brokerid":{winner_id},"timestamp":""#
    )));
    assert_eq!(stat.ephemeral_owner, winner.session_id());

    // Fenced writes of the deposed epoch fail; the winner's succeed.
    let op = || {
        vec![ZkOp::Create {
            path: "/fenced".into(),
            data: vec![],
            mode: CreateMode::Persistent,
        }]
    };
    let err = loser.controller_fenced_multi(0, op()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ZkError::ControllerMoved {
                expected_zk_version: 0,
                ..
            }
        ),
        "{err:?}"
    );
    winner.controller_fenced_multi(1, op()).await.unwrap();

    // The winner resigns (fenced delete); the other broker takes over with epoch 2.
    winner.delete_controller(1).await.unwrap();
    assert_eq!(loser.get_controller_id().await.unwrap(), None);
    let other_id = BrokerId(3 - winner_id.0);
    assert_eq!(
        loser
            .register_controller_and_increment_epoch(other_id)
            .await
            .unwrap(),
        ControllerElection::Won {
            epoch: 2,
            epoch_zk_version: 2
        }
    );
    // Closing the controller's session frees /controller.
    loser.close().await;
    assert!(winner.try_create_controller(winner_id).await.unwrap());
    assert!(
        winner.try_create_controller(winner_id).await.unwrap(),
        "own node counts as won"
    );
}

#[tokio::test]
async fn controller_epoch_increments_conditionally() {
    init_tracing();
    let (a, b) = pair("epoch").await;
    assert_eq!(a.get_controller_epoch().await.unwrap(), None);
    assert_eq!(a.increment_controller_epoch().await.unwrap(), (1, 1));
    assert_eq!(b.increment_controller_epoch().await.unwrap(), (2, 2));
    assert_eq!(a.get_controller_epoch().await.unwrap(), Some((2, 2)));
    // Concurrent increments: each either wins its conditional set or gets
    // BadVersion; the epoch advances by the number of winners.
    let results = futures_join(&a, &b, 8).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert!(won >= 1);
    for r in &results {
        assert!(
            matches!(r, Ok(_) | Err(ZkError::BadVersion { .. })),
            "{r:?}"
        );
    }
    let (epoch, _) = a.get_controller_epoch().await.unwrap().unwrap();
    assert_eq!(epoch as usize, 2 + won);
    // Only one client at a time can create /controller.
    assert!(a.try_create_controller(BrokerId(1)).await.unwrap());
    assert!(!b.try_create_controller(BrokerId(2)).await.unwrap());
}

async fn futures_join(a: &ZkClient, b: &ZkClient, n: usize) -> Vec<Result<(i32, i32), ZkError>> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let zk = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            zk.increment_controller_epoch().await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results
}

#[tokio::test]
async fn topic_round_trip_keeps_numeric_partition_order() {
    init_tracing();
    let (zk, other) = pair("topics").await;
    let assignment: BTreeMap<i32, Vec<BrokerId>> = (0..12)
        .map(|p| (p, vec![BrokerId(p % 3), BrokerId((p + 1) % 3)]))
        .collect();
    let (topic_id, id_bytes) = new_kafka_uuid();
    zk.create_topic("orders", &assignment, &topic_id)
        .await
        .unwrap();

    let (raw, _) = zk
        .get_data("/brokers/topics/orders")
        .await
        .unwrap()
        .unwrap();
    let raw = text(&raw);
    assert!(
        raw.starts_with(r#"{"partitions":{"0":[0,1],"1":[1,2],"2":[2,0],"3":[0,1],"4":[1,2],"5":[2,0],"6":[0,1],"7":[1,2],"8":[2,0],"9":[0,1],"10":[1,2],"11":[2,0]},"topic_id":""#),
        "{raw}"
    );
    assert!(
        raw.ends_with(r#"","adding_replicas":{},"removing_replicas":{},"version":3}"#),
        "{raw}"
    );
    let topic = other.get_topic("orders").await.unwrap().unwrap();
    assert_eq!(topic.partitions, assignment);
    assert_eq!(topic.topic_id_bytes(), Some(id_bytes));
    let (config, _) = zk.get_data("/config/topics/orders").await.unwrap().unwrap();
    assert_eq!(text(&config), r#"{"version":1,"config":{}}"#);

    let err = other
        .create_topic("orders", &assignment, &topic_id)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ZkError::NodeExists { path } if path == "/brokers/topics/orders"),
        "{err:?}"
    );
    zk.create_topic("audit", &[(0, ids(&[1]))].into(), &new_kafka_uuid().0)
        .await
        .unwrap();
    assert_eq!(zk.get_all_topics().await.unwrap(), ["audit", "orders"]);
    assert_eq!(zk.get_topic("missing").await.unwrap(), None);

    // Conditional assignment update.
    let (mut topic, version) = zk.get_topic_and_version("audit").await.unwrap().unwrap();
    topic.partitions.insert(1, ids(&[2]));
    let new_version = zk
        .set_topic_assignment("audit", &topic, version)
        .await
        .unwrap();
    assert_eq!(new_version, version + 1);
    assert!(matches!(
        zk.set_topic_assignment("audit", &topic, version).await,
        Err(ZkError::BadVersion { .. })
    ));

    // Topic configs with a change notification.
    let cfg: BTreeMap<String, String> =
        [("retention.ms".to_string(), "86400000".to_string())].into();
    zk.set_topic_config("orders", &cfg).await.unwrap();
    assert_eq!(other.get_topic_config("orders").await.unwrap(), cfg);
    assert!(other.get_topic_config("audit").await.unwrap().is_empty());
    let changes = other.get_config_change_notifications().await.unwrap();
    assert_eq!(changes.len(), 1);
    assert!(changes[0].starts_with("config_change_"), "{changes:?}");
    let (raw, _) = zk
        .get_data(&paths::child("/config/changes", &changes[0]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text(&raw), r#"{"version":2,"entity_path":"topics/orders"}"#);
    zk.delete_config_change_notifications(&changes)
        .await
        .unwrap();
    assert!(
        zk.get_config_change_notifications()
            .await
            .unwrap()
            .is_empty()
    );

    // Deletion request and removal of the znodes.
    zk.create_delete_topic_request("orders").await.unwrap();
    zk.create_delete_topic_request("orders").await.unwrap();
    assert_eq!(other.get_delete_topic_requests().await.unwrap(), ["orders"]);
    zk.create_partition_state(
        "orders",
        0,
        &PartitionStateZnode::new(BrokerId(0), LeaderEpoch::new(0), ids(&[0, 1]), 1),
    )
    .await
    .unwrap();
    zk.delete_topic_znodes("orders").await.unwrap();
    zk.remove_delete_topic_request("orders").await.unwrap();
    assert!(!zk.exists("/brokers/topics/orders").await.unwrap());
    assert!(!zk.exists("/config/topics/orders").await.unwrap());
    assert!(zk.get_delete_topic_requests().await.unwrap().is_empty());
    assert_eq!(zk.get_all_topics().await.unwrap(), ["audit"]);
}

#[tokio::test]
async fn partition_state_updates_are_conditional() {
    init_tracing();
    let (zk, other) = pair("partition-state").await;
    zk.create_topic(
        "t",
        &[(0, ids(&[1, 2])), (1, ids(&[2, 1]))].into(),
        &new_kafka_uuid().0,
    )
    .await
    .unwrap();
    let state = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(0), ids(&[1, 2]), 1);
    assert_eq!(zk.create_partition_state("t", 0, &state).await.unwrap(), 0);
    let (raw, _) = zk
        .get_data("/brokers/topics/t/partitions/0/state")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        text(&raw),
        r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}"#
    );
    assert!(matches!(
        zk.create_partition_state("t", 0, &state).await,
        Err(ZkError::NodeExists { .. })
    ));
    assert_eq!(
        zk.get_partition_state("t", 0).await.unwrap(),
        Some((state.clone(), 0))
    );

    // The leader shrinks the ISR; a stale writer loses.
    let shrunk = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(0), ids(&[1]), 1);
    assert_eq!(
        zk.update_partition_state("t", 0, &shrunk, 0).await.unwrap(),
        1
    );
    let stale = PartitionStateZnode::new(BrokerId(2), LeaderEpoch::new(1), ids(&[2]), 1);
    let err = other
        .update_partition_state("t", 0, &stale, 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ZkError::BadVersion { path } if path == "/brokers/topics/t/partitions/0/state"),
        "{err:?}"
    );
    assert_eq!(
        other.get_partition_state("t", 0).await.unwrap(),
        Some((shrunk, 1))
    );

    // Controller-fenced writes.
    let ControllerElection::Won {
        epoch_zk_version, ..
    } = zk
        .register_controller_and_increment_epoch(BrokerId(1))
        .await
        .unwrap()
    else {
        panic!("no controller");
    };
    let elected = PartitionStateZnode::new(BrokerId(2), LeaderEpoch::new(1), ids(&[2, 1]), 1);
    assert_eq!(
        zk.create_partition_state_fenced("t", 1, &elected, epoch_zk_version)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        zk.update_partition_state_fenced("t", 1, &elected, 0, epoch_zk_version)
            .await
            .unwrap(),
        1
    );
    other.increment_controller_epoch().await.unwrap(); // a new controller
    let err = zk
        .update_partition_state_fenced("t", 1, &elected, 1, epoch_zk_version)
        .await
        .unwrap_err();
    assert!(matches!(err, ZkError::ControllerMoved { .. }), "{err:?}");

    let all = other
        .get_partition_states(&[
            TopicPartition::new("t", 0),
            TopicPartition::new("t", 1),
            TopicPartition::new("t", 9),
        ])
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[&TopicPartition::new("t", 1)].1, 1);
}

#[tokio::test]
async fn consumer_offsets_round_trip_in_one_multi() {
    init_tracing();
    let (zk, other) = pair("offsets").await;
    let tp = |t: &str, p| TopicPartition::new(t, p);
    zk.set_consumer_offsets(
        "g1",
        None,
        &[
            (tp("a", 0), Offset::new(10)),
            (tp("a", 1), Offset::new(11)),
            (tp("b", 0), Offset::new(20)),
        ],
    )
    .await
    .unwrap();
    let (raw, _) = zk
        .get_data("/consumers/g1/offsets/a/1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text(&raw), "11");
    assert_eq!(
        other.get_consumer_offset("g1", "a", 0).await.unwrap(),
        Some(Offset::new(10))
    );
    assert_eq!(other.get_consumer_offset("g1", "a", 7).await.unwrap(), None);
    assert_eq!(
        other.get_consumer_offset("nobody", "a", 0).await.unwrap(),
        None
    );

    // Mixed: updates existing znodes and creates new ones atomically.
    zk.set_consumer_offsets(
        "g1",
        None,
        &[(tp("a", 0), Offset::new(15)), (tp("c", 3), Offset::new(30))],
    )
    .await
    .unwrap();
    assert_eq!(
        other.get_consumer_offsets("g1").await.unwrap(),
        vec![
            (tp("a", 0), Offset::new(15)),
            (tp("a", 1), Offset::new(11)),
            (tp("b", 0), Offset::new(20)),
            (tp("c", 3), Offset::new(30))
        ]
    );
    assert!(
        other
            .get_consumer_offsets("nobody")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(other.get_consumer_groups().await.unwrap(), ["g1"]);

    // Group ids are encoded into one path segment, reversibly.
    zk.set_consumer_offsets("bad/group", None, &[(tp("a", 0), Offset::new(1))])
        .await
        .unwrap();
    assert!(
        zk.exists("/consumers/bad%2Fgroup/offsets/a/0")
            .await
            .unwrap()
    );
    assert_eq!(
        other
            .get_consumer_offset("bad/group", "a", 0)
            .await
            .unwrap(),
        Some(Offset::new(1))
    );
    assert_eq!(
        other.get_consumer_groups().await.unwrap(),
        ["bad/group", "g1"]
    );
    zk.delete_recursive("/consumers/g1").await.unwrap();
    assert!(zk.get_consumer_offsets("g1").await.unwrap().is_empty());
}

#[tokio::test]
async fn multi_is_atomic_and_names_the_failing_path() {
    init_tracing();
    let (zk, _) = pair("multi").await;
    zk.create("/exists", b"x", CreateMode::Persistent)
        .await
        .unwrap();
    let ops = [
        ZkOp::Create {
            path: "/new".into(),
            data: b"1".to_vec(),
            mode: CreateMode::Persistent,
        },
        ZkOp::Create {
            path: "/exists".into(),
            data: vec![],
            mode: CreateMode::Persistent,
        },
    ];
    let err = zk.multi(&ops).await.unwrap_err();
    assert!(
        matches!(&err, ZkError::NodeExists { path } if path == "/exists"),
        "{err:?}"
    );
    assert!(!zk.exists("/new").await.unwrap());

    // Generic operations.
    assert_eq!(
        zk.create_recursive("/a/b/c", b"leaf", CreateMode::Persistent)
            .await
            .unwrap(),
        "/a/b/c"
    );
    assert!(matches!(
        zk.create_recursive("/a/b/c", b"leaf", CreateMode::Persistent)
            .await,
        Err(ZkError::NodeExists { .. })
    ));
    let seq = zk
        .create("/a/s-", b"", CreateMode::PersistentSequential)
        .await
        .unwrap();
    assert!(
        seq.starts_with("/a/s-") && seq.len() == "/a/s-".len() + 10,
        "{seq}"
    );
    assert_eq!(zk.set_data("/a/b/c", b"v2", Some(0)).await.unwrap(), 1);
    assert!(matches!(
        zk.set_data("/a/b/c", b"v3", Some(0)).await,
        Err(ZkError::BadVersion { .. })
    ));
    assert!(matches!(
        zk.delete("/a", None).await,
        Err(ZkError::NotEmpty { .. })
    ));
    assert!(matches!(
        zk.delete("/nope", None).await,
        Err(ZkError::NoNode { .. })
    ));
    assert_eq!(zk.get_children("/nope").await.unwrap(), None);
    let mut children = zk.get_children("/a").await.unwrap().unwrap();
    children.sort();
    assert_eq!(children[0], "b");
    zk.delete_recursive("/a").await.unwrap();
    zk.delete_recursive("/a").await.unwrap();
    assert!(!zk.exists("/a").await.unwrap());
}

#[tokio::test]
async fn watches_fire_on_changes() {
    init_tracing();
    let (zk, other) = pair("watches").await;
    let (children, watch) = zk.get_children_and_watch("/brokers/ids").await.unwrap();
    assert!(children.is_empty());
    let reg = BrokerRegistration::new(&["PLAINTEXT://h:9092"], None).unwrap();
    other.register_broker(BrokerId(5), &reg).await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .unwrap(),
        WatchEvent::ChildrenChanged
    );

    // A data watch on an absent node fires on creation, then on change and deletion.
    let (data, watch) = zk
        .get_data_and_watch("/admin/reassign_partitions")
        .await
        .unwrap();
    assert!(data.is_none());
    other
        .create_recursive(
            "/admin/reassign_partitions",
            br#"{"version":1,"partitions":[]}"#,
            CreateMode::Persistent,
        )
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .unwrap(),
        WatchEvent::NodeCreated
    );
    let (data, watch) = zk
        .get_data_and_watch("/admin/reassign_partitions")
        .await
        .unwrap();
    assert_eq!(data.unwrap().1.version, 0);
    other
        .set_data(
            "/admin/reassign_partitions",
            br#"{"version":1,"partitions":[]}"#,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .unwrap(),
        WatchEvent::DataChanged
    );
    let (stat, watch) = zk
        .exists_and_watch("/admin/reassign_partitions")
        .await
        .unwrap();
    assert!(stat.is_some());
    assert_eq!(
        zk.get_partition_reassignment()
            .await
            .unwrap()
            .unwrap()
            .partitions
            .len(),
        0
    );
    other.delete_partition_reassignment().await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .unwrap(),
        WatchEvent::NodeDeleted
    );

    // A re-arming watcher posts every change to a channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let handle = spawn_children_watcher(
        zk.clone(),
        "/brokers/ids".into(),
        WatcherOptions::default(),
        tx,
        |ids| ids.len(),
    );
    assert_eq!(rx.recv().await, Some(1));
    other.register_broker(BrokerId(6), &reg).await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap(),
        Some(2)
    );
    other.close().await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap(),
        Some(0)
    );
    // After an expiry the watcher re-arms on the new session.
    zk.force_session_expiry().await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(15), rx.recv())
            .await
            .unwrap(),
        Some(0)
    );
    let third = connect_to(&zk.config().connect).await;
    third.register_broker(BrokerId(8), &reg).await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap(),
        Some(1)
    );
    drop(rx);
    third.register_broker(BrokerId(9), &reg).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .unwrap()
        .unwrap();
}

/// The next value a watcher posts, within 5 s.
async fn next_post(
    rx: &mut tokio::sync::mpsc::Receiver<Option<Vec<u8>>>,
) -> Option<Option<Vec<u8>>> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a post within 5 s")
}

/// The re-arming data watcher's options, as the controller uses them: no
/// post at the start (only changes), an end when the znode is deleted, and
/// an end when its stop token is cancelled.
#[tokio::test]
async fn data_watchers_post_changes_and_stop_on_deletion_or_their_token() {
    init_tracing();
    let (zk, other) = pair("data-watchers").await;
    other
        .create("/watched", b"one", CreateMode::Persistent)
        .await
        .unwrap();

    // Changes only, and the end at deletion: nothing posted for it.
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let options = WatcherOptions {
        post_at_start: false,
        stop_when_deleted: true,
        rearm_backoff: Duration::from_millis(200),
        ..WatcherOptions::default()
    };
    let until_deleted = spawn_data_watcher(zk.clone(), "/watched".into(), options, tx, |d| {
        d.map(|(data, _)| data)
    });
    // Not posted at the start ("one"); a change after the watcher has armed
    // is. When it arms is not visible, so change until it posts.
    let mut first_post = None;
    for _ in 0..50 {
        other.set_data("/watched", b"two", None).await.unwrap();
        if let Ok(post) = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
            first_post = post;
            break;
        }
    }
    assert_eq!(first_post, Some(Some(b"two".to_vec())));
    other.delete("/watched", None).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), until_deleted)
        .await
        .expect("the watcher ends when the znode is deleted")
        .unwrap();
    while let Some(post) = rx.recv().await {
        assert_eq!(
            post,
            Some(b"two".to_vec()),
            "nothing posted for the deletion"
        );
    }

    // Posted at the start, absent included; ends with its token.
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let stop = tokio_util::sync::CancellationToken::new();
    let options = WatcherOptions {
        stop: stop.clone(),
        ..WatcherOptions::default()
    };
    let until_stopped = spawn_data_watcher(zk.clone(), "/watched".into(), options, tx, |d| {
        d.map(|(data, _)| data)
    });
    assert_eq!(next_post(&mut rx).await, Some(None));
    other
        .create("/watched", b"three", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(next_post(&mut rx).await, Some(Some(b"three".to_vec())));
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), until_stopped)
        .await
        .expect("the watcher ends with its token")
        .unwrap();
}

#[tokio::test]
async fn ids_notifications_and_producer_id_blocks() {
    init_tracing();
    let (zk, other) = pair("ids").await;
    for path in paths::persistent_paths() {
        assert!(zk.exists(&path).await.unwrap(), "{path} missing");
    }
    assert_eq!(zk.generate_broker_id(1000).await.unwrap(), BrokerId(1001));
    assert_eq!(
        other.generate_broker_id(1000).await.unwrap(),
        BrokerId(1002)
    );

    let (a, b) = tokio::join!(
        zk.get_or_create_cluster_id(),
        other.get_or_create_cluster_id()
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert_eq!(a.len(), 22);
    let (raw, _) = zk.get_data("/cluster/id").await.unwrap().unwrap();
    assert_eq!(text(&raw), format!(r#"{{"version":"1","id":"{a}"}}"#));

    let tps = [TopicPartition::new("t", 0), TopicPartition::new("u", 2)];
    let created = zk.create_isr_change_notification(&tps).await.unwrap();
    assert!(
        created.starts_with("/isr_change_notification/isr_change_"),
        "{created}"
    );
    other
        .create_isr_change_notification(&tps[..1])
        .await
        .unwrap();
    let names = other.get_isr_change_notifications().await.unwrap();
    assert_eq!(names.len(), 2);
    let (raw, _) = zk.get_data(&created).await.unwrap().unwrap();
    assert_eq!(
        text(&raw),
        r#"{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":2}]}"#
    );
    assert_eq!(
        other
            .get_isr_change_notification_partitions(&names)
            .await
            .unwrap(),
        tps
    );
    other.delete_isr_change_notifications(&names).await.unwrap();
    other.delete_isr_change_notifications(&names).await.unwrap();
    assert!(zk.get_isr_change_notifications().await.unwrap().is_empty());

    let first = zk
        .allocate_producer_id_block(BrokerId(1), 1000)
        .await
        .unwrap();
    assert_eq!((first.block_start, first.block_end), (0, 999));
    let (x, y) = tokio::join!(
        zk.allocate_producer_id_block(BrokerId(1), 1000),
        other.allocate_producer_id_block(BrokerId(2), 1000)
    );
    let mut starts = [x.unwrap().block_start, y.unwrap().block_start];
    starts.sort();
    assert_eq!(starts, [1000, 2000]);
    let (raw, _) = zk
        .get_data("/latest_producer_id_block")
        .await
        .unwrap()
        .unwrap();
    assert!(
        text(&raw).contains(r#""block_start":"2000","block_end":"2999"}"#),
        "{}",
        text(&raw)
    );

    // Broker configs, including the cluster default.
    let cfg: BTreeMap<String, String> =
        [("log.cleaner.threads".to_string(), "2".to_string())].into();
    zk.set_broker_config("<default>", &cfg).await.unwrap();
    assert_eq!(other.get_broker_config("<default>").await.unwrap(), cfg);
    assert!(other.get_broker_config("1").await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_znode_data_is_an_error_naming_the_path() {
    init_tracing();
    let (zk, _) = pair("bad-data").await;
    zk.create("/brokers/ids/4", b"not json", CreateMode::Ephemeral)
        .await
        .unwrap();
    let err = zk.get_broker(BrokerId(4)).await.unwrap_err();
    assert!(
        matches!(&err, ZkError::BadData { path, .. } if path == "/brokers/ids/4"),
        "{err:?}"
    );
    assert!(err.to_string().contains("not json"), "{err}");
    zk.create("/controller_epoch", b"x", CreateMode::Persistent)
        .await
        .unwrap();
    assert!(matches!(
        zk.get_controller_epoch().await,
        Err(ZkError::BadData { .. })
    ));
}
