//! Tests of the test harness itself (tests/common): the shared ZooKeeper, the
//! ZooKeeper inspection helpers, the clients, the process helpers. None needs
//! a broker.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

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
