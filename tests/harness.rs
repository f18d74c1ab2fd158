//! Tests of the test harness itself (tests/common): the shared ZooKeeper, the
//! ZooKeeper inspection helpers, the clients, the process helpers, the
//! proxies (the ZooKeeper-aware one driven by the broker's own ZooKeeper
//! client). None needs a broker.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use sluice::zk::{WatchEvent, ZkClient, ZkConfig, ZkOp};

#[test]
fn shared_zookeeper_answers_ruok_and_srvr() {
    assert_eq!(four_letter_word("ruok"), "imok");
    let srvr = four_letter_word("srvr");
    assert!(srvr.contains("Mode: standalone"), "srvr: {srvr}");
    assert!(
        zk_connect("/c").ends_with(&format!(":{}/c", zookeeper().port())),
        "{}",
        zk_connect("/c")
    );
}

#[test]
fn chroots_do_not_see_each_other() {
    let (a, b) = (unique_chroot("iso-a"), unique_chroot("iso-b"));
    assert_ne!(a, b);
    zk(&a).create("/brokers/ids/1", b"in a");
    zk(&b).create("/brokers/topics/t", b"in b");

    assert_eq!(zk(&a).get_string("/brokers/ids/1").as_deref(), Some("in a"));
    assert_eq!(zk(&b).get("/brokers/ids/1"), None);
    assert_eq!(zk(&a).children("/brokers"), Some(vec!["ids".to_owned()]));
    assert_eq!(zk(&b).children("/brokers"), Some(vec!["topics".to_owned()]));
    // The same through zkCli, as an operator sees it.
    assert_eq!(zk_children(&a, "/brokers/ids"), Some(vec!["1".to_owned()]));
    assert_eq!(zk_children(&b, "/brokers/ids"), None);
}

#[test]
fn zk_get_reads_what_zkcli_and_the_crate_wrote() {
    let chroot = unique_chroot("get");
    let json = r#"{"version":1,"brokerid":1,"timestamp":"1700000000000"}"#;
    zk(&chroot).create("/controller", json.as_bytes());
    assert_eq!(zk_get(&chroot, "/controller").as_deref(), Some(json));
    assert_eq!(zk(&chroot).get_json("/controller").unwrap()["brokerid"], 1);
    assert_eq!(zk_get(&chroot, "/missing"), None);

    // Written by zkCli (it needs the parent), read back by both.
    let path = chroot_path(&chroot, "/controller_epoch");
    assert_success(&zk_cli(&["create", &path, "7"]), "zkCli create");
    assert_eq!(
        zk(&chroot).get_string("/controller_epoch").as_deref(),
        Some("7")
    );
    assert_eq!(zk_get(&chroot, "/controller_epoch").as_deref(), Some("7"));
    assert_eq!(
        zk_children(&chroot, "/"),
        Some(vec!["controller".to_owned(), "controller_epoch".to_owned()])
    );
    // Empty data is an empty string.
    zk(&chroot).create("/admin/delete_topics/t", b"");
    assert_eq!(
        zk_get(&chroot, "/admin/delete_topics/t").as_deref(),
        Some("")
    );
}

#[test]
fn ephemeral_owner_is_the_session_and_goes_with_it() {
    let chroot = unique_chroot("ephemeral");
    zk(&chroot).create("/brokers/ids", b"");
    let session = Zk::new_session(&chroot);
    session.create_ephemeral("/brokers/ids/1", b"{}");

    let owner = session.session_id();
    assert_ne!(owner, 0);
    assert_eq!(zk(&chroot).ephemeral_owner("/brokers/ids/1"), Some(owner));
    assert_eq!(
        zk_stat_ephemeral_owner(&chroot, "/brokers/ids/1"),
        Some(owner)
    );
    assert_eq!(zk_stat_ephemeral_owner(&chroot, "/brokers/ids"), Some(0));
    assert_eq!(zk_stat_ephemeral_owner(&chroot, "/brokers/ids/2"), None);

    drop(session);
    wait_until(
        "the ephemeral to vanish with its session",
        Duration::from_secs(30),
        || (!zk(&chroot).exists("/brokers/ids/1")).then_some(()),
    );
    zk(&chroot).delete_recursive("/");
    assert!(!zk("").exists(&chroot));
}

#[test]
fn zkcli_output_parsing_drops_connection_chatter() {
    let out = "Connecting to 127.0.0.1:2181\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n{\"a\":1}\n";
    assert_eq!(zk_cli_body(out), "{\"a\":1}");
    let empty = "Connecting to 127.0.0.1:2181\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n\n";
    assert_eq!(zk_cli_body(empty), "");
    // A late watcher notice after the data.
    let late = "Connecting to h:1\nline1\nline2\n\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n";
    assert_eq!(zk_cli_body(late), "line1\nline2");
}

#[test]
fn kcat_is_installed() {
    let out = kcat(&["-V"], None);
    let text = assert_success(&out, "kcat -V");
    assert!(text.contains("kcat"), "kcat -V printed: {text}");
}

#[test]
fn venv_python_has_the_kafka_clients() {
    let out = run_python(
        "import sys, kafka, confluent_kafka; print(kafka.__version__, confluent_kafka.version()[0], sys.argv[1])",
        &["arg"],
    );
    let text = assert_success(&out, "python import kafka, confluent_kafka");
    assert!(text.trim_end().ends_with(" arg"), "{text}");
}

#[test]
fn rdkafka_clients_are_created_without_a_broker() {
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let _producer = future_producer(&bootstrap);
    let _consumer = base_consumer(&bootstrap, "harness-group");
    assert_eq!(consumer_config(&bootstrap, "g").get("group.id"), Some("g"));
}

#[test]
fn a_hanging_command_is_killed_at_its_timeout() {
    let start = Instant::now();
    let mut cmd = Command::new("sleep");
    cmd.arg("60");
    let out = run_with_timeout(cmd, None, Duration::from_millis(200));
    assert!(!out.status.success());
    assert!(start.elapsed() < Duration::from_secs(10));

    let mut cat = Command::new("cat");
    cat.arg("-");
    let out = run_with_timeout(cat, Some(b"through stdin"), Duration::from_secs(10));
    assert_eq!(assert_success(&out, "cat"), "through stdin");
}

#[test]
fn wait_until_returns_the_value_or_panics_naming_what() {
    let mut calls = 0;
    let v = wait_until("three calls", Duration::from_secs(5), || {
        calls += 1;
        (calls == 3).then_some(calls)
    });
    assert_eq!(v, 3);

    let err = std::panic::catch_unwind(|| {
        wait_until("never", Duration::from_millis(50), || None::<()>);
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("waiting for never"), "{msg}");
}

#[test]
fn free_ports_and_chroots_are_unique() {
    let ports: std::collections::HashSet<u16> = (0..20).map(|_| free_port()).collect();
    assert_eq!(ports.len(), 20);
    let chroot = unique_chroot("a b/c");
    assert!(chroot.starts_with("/sluice-a_b_c-"), "{chroot}");
    assert_ne!(unique_chroot("x"), unique_chroot("x"));
}

// ------------------------------------------------------------- proxies

/// A tokio runtime for the broker's own ZooKeeper client (`sluice::zk`).
fn zk_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The broker's ZooKeeper client (6 s session, 10 s to connect) at `connect`.
fn broker_zk_client(rt: &tokio::runtime::Runtime, connect: &str) -> ZkClient {
    let cfg = ZkConfig {
        connect: connect.to_owned(),
        session_timeout_ms: 6_000,
        connection_timeout_ms: 10_000,
    };
    rt.block_on(ZkClient::connect(cfg))
        .unwrap_or_else(|e| panic!("connect to ZooKeeper through {connect}: {e}"))
}

/// Sends a four-letter word to 127.0.0.1:`port` and reads the answer.
fn four_letter_word_through(port: u16, cmd: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(cmd.as_bytes()).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

const STATE: &str = "/brokers/topics/t/partitions/0/state";

#[test]
fn zk_proxy_drops_the_reply_of_an_applied_set_data_and_the_client_retries() {
    let chroot = unique_chroot("zk-proxy-set");
    zk(&chroot).create(STATE, b"v0");
    zk(&chroot).create("/other", b"o0");
    let proxy = ZkProxy::start(zookeeper().port());
    let rt = zk_runtime();
    let client = broker_zk_client(&rt, &proxy.connect_string(&chroot));
    let session = client.session_id();

    proxy.arm(
        WriteTrigger::set_data("/partitions/0/state"),
        AfterFire::Reconnect,
    );
    // Reads and writes of other paths pass.
    rt.block_on(client.set_data("/other", b"o1", None)).unwrap();
    assert!(rt.block_on(client.get_data(STATE)).unwrap().is_some());
    assert!(proxy.fired().is_none(), "fired for another path");
    assert_eq!(proxy.connections_accepted(), 1);

    let version = rt.block_on(client.set_data(STATE, b"v1", None)).unwrap();
    let fired = proxy.wait_fired(Duration::ZERO).expect("the proxy fired");
    assert_eq!(fired.op, zk_proxy::op::SET_DATA);
    assert_eq!(fired.paths, vec![chroot_path(&chroot, STATE)]);
    // The first attempt was applied (its reply dropped), then the client
    // reconnected on the same session and the retry was applied again.
    let stat = zk(&chroot).stat(STATE).expect("state znode");
    assert_eq!((version, stat.version), (2, 2));
    assert!(stat.mzxid > fired.zxid, "the retry is the later write");
    assert_eq!(zk(&chroot).get(STATE).as_deref(), Some(&b"v1"[..]));
    assert_eq!(proxy.connections_accepted(), 2);
    assert_eq!(
        client.session_id(),
        session,
        "a connection loss, not a new session"
    );
    // One shot: later writes get their replies.
    rt.block_on(client.set_data(STATE, b"v2", None)).unwrap();
    assert_eq!(proxy.fire_count(), 1);
}

#[test]
fn zk_proxy_finds_a_path_inside_a_multi_and_can_stay_cut_until_restored() {
    let chroot = unique_chroot("zk-proxy-multi");
    zk(&chroot).create(STATE, b"v0");
    zk(&chroot).create("/controller_epoch", b"1");
    let proxy = ZkProxy::start(zookeeper().port());
    let rt = zk_runtime();
    let client = broker_zk_client(&rt, &proxy.connect_string(&chroot));

    proxy.arm(
        WriteTrigger::multi("/partitions/0/state"),
        AfterFire::StayCut,
    );
    // A multi of other paths, and a plain setData of the path, pass.
    let epoch_only = [ZkOp::SetData {
        path: "/controller_epoch".into(),
        data: b"1".to_vec(),
        expected_version: Some(0),
    }];
    rt.block_on(client.multi(&epoch_only)).unwrap();
    rt.block_on(client.set_data(STATE, b"v1", None)).unwrap();
    assert!(proxy.fired().is_none());

    // As the controller writes: check the epoch znode, then set the state.
    let ops = vec![
        ZkOp::Check {
            path: "/controller_epoch".into(),
            version: 1,
        },
        ZkOp::SetData {
            path: STATE.into(),
            data: b"v2".to_vec(),
            expected_version: None,
        },
    ];
    let multi = {
        let client = client.clone();
        rt.spawn(async move { client.multi(&ops).await })
    };
    let fired = proxy
        .wait_fired(Duration::from_secs(30))
        .expect("the multi fired the trigger");
    assert_eq!(fired.op, zk_proxy::op::MULTI);
    assert_eq!(
        fired.paths,
        vec![
            chroot_path(&chroot, "/controller_epoch"),
            chroot_path(&chroot, STATE)
        ]
    );
    assert!(proxy.is_cut());
    // Applied, and the client cannot reconnect to retry while cut.
    assert_eq!(zk(&chroot).stat(STATE).unwrap().version, 2);
    assert!(!multi.is_finished());

    proxy.restore();
    let results = rt.block_on(multi).unwrap().expect("the retried multi");
    assert_eq!(results.len(), 2);
    assert_eq!(zk(&chroot).stat(STATE).unwrap().version, 3);
    assert_eq!(zk(&chroot).get(STATE).as_deref(), Some(&b"v2"[..]));
}

#[test]
fn zk_proxy_passes_pings_watch_events_and_four_letter_words() {
    let chroot = unique_chroot("zk-proxy-pass");
    zk(&chroot).create(STATE, b"v0");
    let proxy = ZkProxy::start(zookeeper().port());
    assert_eq!(four_letter_word_through(proxy.port(), "ruok"), "imok");
    let rt = zk_runtime();
    let client = broker_zk_client(&rt, &proxy.connect_string(&chroot));
    let session = client.session_id();
    proxy.arm(
        WriteTrigger::new(ZkWrite::Any, "/nothing-matches"),
        AfterFire::Reconnect,
    );

    let (_, watch) = rt.block_on(client.get_data_and_watch(STATE)).unwrap();
    zk(&chroot).set(STATE, b"v1");
    let event = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), watch).await })
        .expect("the watch event came through the proxy");
    assert_eq!(event, WatchEvent::DataChanged);
    assert!(proxy.notifications_relayed() >= 1);

    // Idle past the session timeout: the pings keep the session alive.
    wait_until(
        "three pings through the proxy",
        Duration::from_secs(30),
        || (proxy.pings_relayed() >= 3).then_some(()),
    );
    assert!(client.is_connected());
    assert_eq!(client.session_id(), session);
    assert!(proxy.disarm(), "nothing matched, so still armed");

    // A plain cut and restore: the same session reconnects.
    proxy.cut();
    wait_until(
        "the client to notice the cut",
        Duration::from_secs(30),
        || (!client.is_connected()).then_some(()),
    );
    proxy.restore();
    wait_until("the client to reconnect", Duration::from_secs(30), || {
        client.is_connected().then_some(())
    });
    assert_eq!(client.session_id(), session);
    assert_eq!(
        rt.block_on(client.get_data(STATE)).unwrap().unwrap().0,
        b"v1"
    );
}

#[test]
fn tcp_proxy_holds_each_chunk_for_its_delay() {
    let proxy = TcpProxy::start(zookeeper().port());
    let delay = Duration::from_millis(300);
    proxy.set_delay(Direction::ToTarget, delay);
    assert_eq!(proxy.delay(Direction::ToTarget), delay);
    assert_eq!(proxy.delay(Direction::FromTarget), Duration::ZERO);
    let start = Instant::now();
    assert_eq!(four_letter_word_through(proxy.port(), "ruok"), "imok");
    assert!(start.elapsed() >= delay, "answered before the delay passed");

    proxy.set_delay(Direction::ToTarget, Duration::ZERO);
    proxy.set_delay(Direction::FromTarget, delay);
    let start = Instant::now();
    assert_eq!(four_letter_word_through(proxy.port(), "ruok"), "imok");
    assert!(start.elapsed() >= delay, "answered before the delay passed");

    proxy.set_delay(Direction::FromTarget, Duration::ZERO);
    assert_eq!(four_letter_word_through(proxy.port(), "ruok"), "imok");
    proxy.cut();
    assert_eq!(four_letter_word_through(proxy.port(), "ruok"), "");
    proxy.restore();
    assert_eq!(four_letter_word_through(proxy.port(), "ruok"), "imok");
}
