//! Clean shutdown when ZooKeeper is gone: a broker reaching the shared
//! ZooKeeper through a TCP proxy (`common::TcpProxy`) loses it when the proxy
//! is cut; SIGTERM must then skip controlled shutdown (there is no known
//! controller to ask), not wait for ZooKeeper to answer the session close,
//! still flush and checkpoint its logs, exit 0 within a bound, and start again
//! without recovery once ZooKeeper is back.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::*;

/// A generous bound on SIGTERM-to-exit with ZooKeeper unreachable (the
/// broker's own bound is a few seconds; a debug build on a busy machine).
const SHUTDOWN_BOUND: Duration = Duration::from_secs(15);
/// How long the broker may take to notice the cut connection.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(20);
const MESSAGES: usize = 20;
/// How long the produced values may take to be readable (after a restart too).
const CONSUME_TIMEOUT: Duration = Duration::from_secs(30);

/// The values of `topic`-0 from the beginning, read with kcat; `None` while
/// kcat fails (e.g. the partition has no leader yet after a restart).
fn try_consume_values(bootstrap: &str, topic: &str) -> Option<Vec<String>> {
    let out = kcat(
        &[
            "-b",
            bootstrap,
            "-C",
            "-t",
            topic,
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%s\n",
        ],
        None,
    );
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    })
}

/// Waits until `topic`-0 holds exactly `expected`.
fn wait_for_values(bootstrap: &str, topic: &str, expected: &[String]) {
    wait_until(
        &format!("{topic}-0 to hold {} values", expected.len()),
        CONSUME_TIMEOUT,
        || (try_consume_values(bootstrap, topic).as_deref() == Some(expected)).then_some(()),
    );
}

/// The offset recorded for `topic`-0 in a Kafka offset checkpoint file.
fn checkpointed_offset(path: &std::path::Path, topic: &str) -> Option<i64> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().skip(2).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [t, "0", offset] if *t == topic => offset.parse().ok(),
            _ => None,
        }
    })
}

/// The part of a broker's log written by its latest start.
fn latest_run(log: &str) -> &str {
    log.rfind("=== harness:").map_or(log, |at| &log[at..])
}

#[test]
fn sigterm_with_zookeeper_gone_exits_quickly_and_cleanly() {
    let chroot = unique_chroot("shutdown-zk-gone");
    let proxy = TcpProxy::start(zookeeper().port());
    let connect = format!("127.0.0.1:{}{chroot}", proxy.port());
    let mut broker = Broker::start(BrokerSpec::new(1, connect));
    // Through the proxy the harness only waits for the listener: wait for the
    // registration and the controllership (this broker is the only one).
    let zk = zk(&chroot);
    wait_until(
        "broker 1 registered and controller",
        BROKER_START_TIMEOUT,
        || {
            let controller = zk.get_json("/controller")?;
            (zk.exists("/brokers/ids/1") && controller["brokerid"] == 1).then_some(())
        },
    );

    let topic = "zk-gone";
    let payload: String = (0..MESSAGES).map(|i| format!("m{i}\n")).collect();
    let out = kcat(
        &["-b", &broker.bootstrap(), "-P", "-t", topic, "-p", "0"],
        Some(payload.as_bytes()),
    );
    assert_success(&out, "kcat produce");
    let expected: Vec<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
    wait_for_values(&broker.bootstrap(), topic, &expected);

    proxy.cut();
    broker.wait_for_log("disconnected from ZooKeeper", NOTICE_TIMEOUT);

    let started = Instant::now();
    let status = broker.terminate();
    let elapsed = started.elapsed();
    assert!(status.success(), "exit status {}", describe_status(status));
    let log = broker.log_text();
    assert!(
        elapsed < SHUTDOWN_BOUND,
        "shutdown took {elapsed:?} with ZooKeeper gone\n{}",
        tail_lines(&log, 40)
    );
    assert!(
        log.contains("skipping controlled shutdown"),
        "{}",
        tail_lines(&log, 40)
    );
    assert!(
        log.contains("not waiting for the session close"),
        "{}",
        tail_lines(&log, 40)
    );
    assert!(
        log.contains("shut down cleanly"),
        "{}",
        tail_lines(&log, 40)
    );

    // Flushed and checkpointed: the clean-shutdown marker and a recovery
    // point at the log end.
    let dir = broker.log_dir().to_path_buf();
    assert!(dir.join(".kafka_cleanshutdown").exists());
    assert_eq!(
        checkpointed_offset(&dir.join("recovery-point-offset-checkpoint"), topic),
        Some(MESSAGES as i64)
    );

    // ZooKeeper back: the old session's registration expires at the server
    // (its close never arrived), then the broker starts without recovery.
    proxy.restore();
    wait_until(
        "the old registration to expire",
        BROKER_START_TIMEOUT,
        || (!zk.exists("/brokers/ids/1")).then_some(()),
    );
    broker.restart();
    wait_until("broker 1 registered again", BROKER_START_TIMEOUT, || {
        zk.exists("/brokers/ids/1").then_some(())
    });
    let log = broker.log_text();
    let loaded = latest_run(&log)
        .lines()
        .find(|l| l.contains("loaded log") && l.contains(&format!("{topic}-0")))
        .unwrap_or_else(|| panic!("no 'loaded log' line for {topic}-0\n{}", latest_run(&log)));
    assert!(loaded.contains("had_clean_shutdown=true"), "{loaded}");
    wait_for_values(&broker.bootstrap(), topic, &expected);
}

#[test]
fn sigterm_with_zookeeper_up_still_runs_controlled_shutdown() {
    let chroot = unique_chroot("shutdown-zk-up");
    let mut broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let zk = zk(&chroot);
    wait_until(
        "broker 1 to become controller",
        BROKER_START_TIMEOUT,
        || (zk.get_json("/controller")?["brokerid"] == 1).then_some(()),
    );
    let status = broker.terminate();
    assert!(status.success(), "exit status {}", describe_status(status));
    let log = broker.log_text();
    assert!(
        log.contains("controlled shutdown succeeded"),
        "{}",
        tail_lines(&log, 40)
    );
    assert!(!log.contains("skipping controlled shutdown"));
    assert!(
        log.contains("closed ZooKeeper session"),
        "{}",
        tail_lines(&log, 40)
    );
}
