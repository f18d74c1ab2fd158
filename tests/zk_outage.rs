//! A ZooKeeper outage longer than the session timeout, with the server
//! restarted (same data dir): ZooKeeper keeps sessions across a restart and
//! gives each a fresh timeout, so a client that reconnects in time keeps its
//! session and ephemeral znodes, as Kafka's brokers do with the Java client.
//! The `zookeeper-client` crate gives a session up on its own after 1.4 x
//! the session timeout without an answer; the ZooKeeper room then resumes
//! that session instead of starting a new one, and only a server that says
//! the session expired makes it start over.
//!
//! This binary crashes its own ZooKeeper server, so its tests take turns
//! (`TURN`).

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use sluice::zk::{CreateMode, ZkClient, ZkConfig};
use tokio::sync::broadcast::error::TryRecvError;

/// One outage at a time: both tests crash the binary's ZooKeeper server.
static TURN: Mutex<()> = Mutex::new(());

/// The session timeout the tests ask for (the server's minimum is 4 s).
const SESSION_TIMEOUT_MS: u64 = 4_000;

/// Longer than the crate's own give-up point (1.4 x the session timeout).
const OUTAGE: Duration = Duration::from_secs(8);

fn zk_config(connect: &str) -> ZkConfig {
    ZkConfig {
        connect: connect.to_string(),
        session_timeout_ms: SESSION_TIMEOUT_MS,
        connection_timeout_ms: 10_000,
    }
}

/// Crashes the server, keeps it down for `OUTAGE`, starts it again.
fn outage() {
    zookeeper().kill();
    std::thread::sleep(OUTAGE);
    zookeeper().start_again();
}

#[test]
fn a_restarted_zookeeper_gives_the_client_its_session_back() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(client_keeps_its_session());
}

async fn client_keeps_its_session() {
    let connect = zk_connect(&unique_chroot("outage-client"));
    let zk = ZkClient::connect(zk_config(&connect)).await.unwrap();
    let session = zk.session_id();
    zk.create("/owned", b"x", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut events = zk.subscribe_session_events();

    tokio::task::spawn_blocking(outage).await.unwrap();

    // The session comes back: operations work on it, the ephemeral is
    // still ours, and nobody was told the session ended.
    let deadline = Instant::now() + Duration::from_secs(30);
    let stat = loop {
        match zk.stat("/owned").await {
            Ok(stat) => break stat,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for ZooKeeper: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("ZooKeeper did not come back: {e}"),
        }
    };
    assert_eq!(
        zk.session_id(),
        session,
        "a new session replaced the old one"
    );
    let stat = stat.expect("the ephemeral znode survived the outage");
    assert_eq!(stat.ephemeral_owner, session);
    assert!(zk.is_connected());
    match events.try_recv() {
        Err(TryRecvError::Empty) => {}
        other => panic!("no session event expected after a resumed session, got {other:?}"),
    }
    assert!(
        matches!(events.try_recv(), Err(TryRecvError::Empty)),
        "still no session event"
    );
}

#[test]
fn brokers_keep_their_registrations_across_a_zookeeper_restart() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let chroot = unique_chroot("outage-brokers");
    let mut brokers: Vec<Broker> = (1..=2)
        .map(|id| {
            Broker::start(
                BrokerSpec::new(id, zk_connect(&chroot))
                    .set("zookeeper.session.timeout.ms", SESSION_TIMEOUT_MS),
            )
        })
        .collect();
    let zk_view = zk(&chroot);
    let before: Vec<(i64, i64)> = (1..=2)
        .map(|id| {
            let stat = zk_view
                .stat(&format!("/brokers/ids/{id}"))
                .expect("registered");
            (stat.czxid, stat.ephemeral_owner)
        })
        .collect();
    drop(zk_view);

    outage();

    // Every broker keeps its registration (same znode, same session: no
    // broker bounce for the controller to handle), and serves again.
    let after = wait_until("both registrations back", Duration::from_secs(30), || {
        let zk_view = zk(&chroot);
        let stats: Option<Vec<(i64, i64)>> = (1..=2)
            .map(|id| {
                zk_view
                    .stat(&format!("/brokers/ids/{id}"))
                    .map(|s| (s.czxid, s.ephemeral_owner))
            })
            .collect();
        stats
    });
    assert_eq!(
        after, before,
        "the brokers' registrations were re-created after a ZooKeeper restart"
    );
    for broker in &mut brokers {
        assert!(broker.is_running(), "broker {} exited", broker.id());
        let log = broker.log_text();
        assert!(
            !log.contains("ZooKeeper session ended"),
            "broker {} gave its session up:\n{}",
            broker.id(),
            tail_lines(&log, 40)
        );
    }
}
