//! The web console on the brokers' HTTP listener (`metrics.listener`),
//! against a real three-broker cluster and real ZooKeeper, over plain HTTP:
//!
//! - the JSON API's cluster, topics, topic and znode answers match what the
//!   Kafka protocol (Metadata, ListOffsets) and ZooKeeper say, from any broker;
//! - ListOffsets as a debugging consumer (replica id -2) is answered by a
//!   follower with its own log end, which the console shows per replica;
//! - the pages are served; bad requests get JSON errors with their status,
//!   never a crash, and the broker keeps serving Kafka clients;
//! - every broker's traffic counters (`/api/v1/stats`, the others' read
//!   from their own listeners) add up to what was produced and fetched;
//! - write actions (create topic, configs, delete records, reset offsets,
//!   preferred election) are refused with 403 unless
//!   `console.writes.enable=true`, and when on do what the Kafka protocol
//!   then reports;
//! - `console.enable=false` serves /metrics only;
//! - in a real browser (headless Chromium driven by selenium,
//!   `tests/console/browser.py`), each view draws the numbers the Kafka
//!   protocol and ZooKeeper report; screenshots of every view go to
//!   `target/tmp/console-screenshots/` (the README's come from there).

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use common::cluster::{create_replicated_topic, start_cluster};
use common::cluster_view::{fetch_metadata, port_of};
use common::*;
use kafka_protocol::messages::BrokerId;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The browser script: loads each view, prints what it read as JSON.
const BROWSER_SCRIPT: &str = include_str!("console/browser.py");
/// How long the browser may take for every view.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(180);

/// Three brokers with `start_cluster`'s settings, each with an HTTP
/// listener; their ports by broker id.
fn cluster_with_consoles(name: &str) -> (TestCluster, BTreeMap<i32, u16>) {
    cluster_with_consoles_and(name, &[])
}

fn cluster_with_consoles_and(
    name: &str,
    extra: &[(&str, &str)],
) -> (TestCluster, BTreeMap<i32, u16>) {
    let ports = Mutex::new(BTreeMap::new());
    let cluster = TestCluster::start_with(name, 3, |spec| {
        let port = free_port();
        ports.lock().unwrap().insert(spec.id, port);
        common::cluster::cluster_spec(spec, extra)
            .set("metrics.listener", format!("127.0.0.1:{port}"))
    });
    (cluster, ports.into_inner().unwrap())
}

/// POST a JSON body: (HTTP status code, answer).
fn post_json(port: u16, path: &str, body: &str) -> (u16, Value) {
    let (status, _, answer) = http_post_json(port, path, body);
    let code: u16 = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("status line {status:?}"));
    let value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{path}: {e}: {answer}"));
    (code, value)
}

/// The log start offset of `topic`-`partition`, from its leader.
fn log_start(cluster: &TestCluster, topic: &str, partition: i32) -> i64 {
    let meta = fetch_metadata(cluster.brokers[0].port(), &[topic]).unwrap();
    let leader_id = meta.partitions[&(topic.to_owned(), partition)].leader;
    let leader = cluster
        .brokers
        .iter()
        .find(|b| b.id() == leader_id)
        .unwrap();
    let mut earliest = list_offsets_request(topic, -2);
    earliest.topics[0].partitions[0].partition_index = partition;
    list_offsets_answer(&send_request(leader, 1, &earliest)).1
}

/// The committed offset of `group` for `topic`-`partition`, from the console.
fn committed(port: u16, group: &str, topic: &str, partition: i32) -> Option<i64> {
    let g = ok_json(port, &format!("/api/v1/groups/{group}"));
    g["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["topic"] == topic && o["partition"] == partition)
        .and_then(|o| o["committed"].as_i64())
}

/// GET `path` as JSON: (HTTP status code, body).
fn get_json(port: u16, path: &str) -> (u16, Value) {
    let (status, headers, body) = http_get(port, path);
    let code: u16 = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("status line {status:?}"));
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{path}: {headers}\n{body}"
    );
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (code, value)
}

fn ok_json(port: u16, path: &str) -> Value {
    let (code, value) = get_json(port, path);
    assert_eq!(code, 200, "{path}: {value}");
    value
}

fn produce(bootstrap: &str, topic: &str, partition: i32, count: usize) {
    let producer = future_producer(bootstrap);
    block_on(async {
        for i in 0..count {
            let value = format!("{{\"n\":{i}}}");
            producer
                .send(
                    FutureRecord::<(), _>::to(topic)
                        .partition(partition)
                        .payload(&value),
                    Duration::from_secs(30),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
        }
    });
}

/// A consumer of `topic` in `group` that has joined, been assigned every
/// partition and committed `offset` for partition 0 only: a member with lag.
fn lagging_member(bootstrap: &str, group: &str, topic: &str, offset: i64) -> BaseConsumer {
    let consumer = base_consumer(bootstrap, group);
    consumer.subscribe(&[topic]).expect("subscribe");
    wait_until("the consumer's assignment", STEP_TIMEOUT, || {
        let _ = consumer.poll(Duration::from_millis(100));
        let assigned = consumer.assignment().ok()?.count();
        (assigned > 0).then_some(())
    });
    let mut commit = TopicPartitionList::new();
    commit
        .add_partition_offset(topic, 0, Offset::Offset(offset))
        .unwrap();
    consumer
        .commit(&commit, CommitMode::Sync)
        .expect("commit offset");
    consumer
}

fn ids(value: &Value) -> Vec<i32> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect()
}

#[test]
fn the_console_shows_the_cluster_topics_and_znodes_as_kafka_and_zookeeper_report_them() {
    let (cluster, http) = cluster_with_consoles("console-views");
    let topic = "orders";
    create_replicated_topic(
        &cluster,
        &[1, 2, 3],
        topic,
        3,
        3,
        &[("retention.ms", "7200000")],
    );
    produce(&cluster.bootstrap(), topic, 0, 10);
    produce(&cluster.bootstrap(), topic, 1, 4);

    // Every broker's console shows the whole cluster.
    for (&id, &port) in &http {
        let c = ok_json(port, "/api/v1/cluster");
        assert_eq!(c["this_broker"], id);
        let meta = fetch_metadata(port_of(&cluster, id), &[topic]).unwrap();
        assert_eq!(c["controller"]["id"], meta.controller, "broker {id}: {c}");
        let brokers = c["brokers"].as_array().unwrap();
        assert_eq!(brokers.len(), 3, "{c}");
        for b in brokers {
            assert_eq!(b["live"], true, "{b}");
            let dirs = b["log_dirs"].as_array().unwrap();
            assert_eq!(dirs.len(), 1, "{b}");
            assert!(dirs[0]["size_bytes"].as_i64().unwrap() > 0, "{b}");
            assert!(dirs[0]["total_bytes"].as_i64().unwrap() > 0, "{b}");
            assert_eq!(b["replica_partitions"], 3, "{b}");
            let bport = port_of(&cluster, b["id"].as_i64().unwrap() as i32);
            assert_eq!(b["port"], bport, "{b}");
        }
        assert_eq!(c["topics"], 1);
        assert_eq!(c["partitions"]["total"], 3);
        assert_eq!(c["partitions"]["under_replicated"], 0);
        assert_eq!(c["partitions"]["offline"], 0);
    }

    let port = http[&2];
    let topics = ok_json(port, "/api/v1/topics");
    let orders = &topics.as_array().unwrap()[0];
    assert_eq!(orders["name"], topic);
    assert_eq!(orders["partitions"], 3);
    assert_eq!(orders["replication_factor"], 3);
    assert!(orders["size_bytes"].as_i64().unwrap() > 0, "{orders}");

    // One topic: leaders, replicas and ISR as Metadata says; offsets as
    // ListOffsets says; every replica caught up (wait for the followers).
    let meta = fetch_metadata(port_of(&cluster, 2), &[topic]).unwrap();
    let view = wait_until(
        "every replica's log end in the console",
        STEP_TIMEOUT,
        || {
            let t = ok_json(port, &format!("/api/v1/topics/{topic}"));
            let caught_up = t["partitions"].as_array().unwrap().iter().all(|p| {
                p["replica_states"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|r| r["lag"] == 0 && r["log_end_offset"] == p["high_watermark"])
            });
            caught_up.then_some(t)
        },
    );
    assert!(view["errors"].as_array().unwrap().is_empty(), "{view}");
    for p in view["partitions"].as_array().unwrap() {
        let index = p["partition"].as_i64().unwrap() as i32;
        let m = &meta.partitions[&(topic.to_owned(), index)];
        assert_eq!(p["leader"], m.leader, "{p}");
        assert_eq!(ids(&p["replicas"]), m.replicas, "{p}");
        assert_eq!(ids(&p["isr"]), m.isr, "{p}");
        let expected: i64 = [10, 4, 0][index as usize];
        assert_eq!(p["log_start_offset"], 0, "{p}");
        assert_eq!(p["high_watermark"], expected, "{p}");
        assert_eq!(p["messages"], expected, "{p}");
        let leader = cluster.brokers.iter().find(|b| b.id() == m.leader).unwrap();
        let mut latest = list_offsets_request(topic, -1);
        latest.topics[0].partitions[0].partition_index = index;
        let listed = send_request(leader, 1, &latest);
        assert_eq!(
            list_offsets_answer(&listed),
            (0, expected),
            "partition {index}"
        );
    }
    let configs = view["configs"].as_array().unwrap();
    let config = |name: &str| {
        configs
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {view}"))
    };
    assert_eq!(config("retention.ms")["value"], "7200000");
    assert_eq!(config("retention.ms")["source"], "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(config("cleanup.policy")["source"], "DEFAULT_CONFIG");

    // A consumer group with a member and lag on partition 0 (10 - 6).
    let _member = lagging_member(&cluster.bootstrap(), "billing", topic, 6);
    let groups = ok_json(port, "/api/v1/groups");
    let billing = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group_id"] == "billing")
        .unwrap_or_else(|| panic!("no billing in {groups}"));
    assert_eq!(billing["state"], "Stable", "{billing}");
    assert_eq!(billing["members"], 1, "{billing}");
    let g = ok_json(port, "/api/v1/groups/billing");
    assert_eq!(g["members"].as_array().unwrap().len(), 1, "{g}");
    let p0 = g["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["topic"] == topic && o["partition"] == 0)
        .unwrap_or_else(|| panic!("no {topic}-0 in {g}"));
    assert_eq!(p0["committed"], 6, "{g}");
    assert_eq!(p0["high_watermark"], 10, "{g}");
    assert_eq!(p0["lag"], 4, "{g}");
    assert_eq!(p0["owner"], g["members"][0]["member_id"], "{g}");
    assert_eq!(
        g["total_lag"], 4,
        "only partition 0 has a committed offset: {g}"
    );
    assert_eq!(get_json(port, "/api/v1/groups/no-such-group").0, 404);

    // The message browser: produced JSON values, pretty-printed.
    let m = ok_json(
        port,
        &format!("/api/v1/topics/{topic}/messages?partition=0&offset=3&count=2&format=json"),
    );
    let shown: Vec<(i64, String)> = m["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["offset"].as_i64().unwrap(),
                r["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (3, "{\n  \"n\": 3\n}".to_owned()),
            (4, "{\n  \"n\": 4\n}".to_owned())
        ]
    );
    let hex = ok_json(
        port,
        &format!("/api/v1/topics/{topic}/messages?format=hex&count=1"),
    );
    assert_eq!(hex["messages"][0]["value"], "7b226e223a307d", "{hex}");
    let from_time = ok_json(
        port,
        &format!("/api/v1/topics/{topic}/messages?partition=2&timestamp=0"),
    );
    assert_eq!(
        from_time["messages"].as_array().unwrap().len(),
        0,
        "partition 2 is empty"
    );
    assert_eq!(
        get_json(port, &format!("/api/v1/topics/{topic}/messages?offset=999")).0,
        400
    );
    assert_eq!(
        get_json(
            port,
            &format!("/api/v1/topics/{topic}/messages?partition=9")
        )
        .0,
        404
    );

    // A znode as zkCli shows it.
    let z = ok_json(port, "/api/v1/znodes?path=%2Fbrokers%2Fids%2F1");
    let registration: Value = serde_json::from_str(z["data"].as_str().unwrap()).unwrap();
    assert_eq!(registration["port"], port_of(&cluster, 1), "{z}");
    assert_ne!(
        z["stat"]["ephemeral_owner"], "0x0",
        "an ephemeral znode: {z}"
    );
    assert_eq!(
        z["stat"]["data_length"].as_u64().unwrap() as usize,
        z["data"].as_str().unwrap().len()
    );
    let ids_znode = ok_json(port, "/api/v1/znodes?path=/brokers/ids");
    assert_eq!(ids_znode["children"], serde_json::json!(["1", "2", "3"]));
    let root = ok_json(port, "/api/v1/znodes");
    assert!(
        root["children"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "brokers"),
        "{root}"
    );

    // The page and its script and style.
    let (status, headers, body) = http_get(port, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.to_ascii_lowercase().contains("text/html"),
        "{headers}"
    );
    assert!(body.contains("/console.js"), "{body}");
    for asset in ["/console.js", "/console.css"] {
        let (status, _, body) = http_get(port, asset);
        assert_eq!(status, "HTTP/1.1 200 OK", "{asset}");
        assert!(!body.is_empty(), "{asset}");
    }
}

#[test]
fn every_brokers_traffic_counters_add_up_to_what_was_produced_and_fetched() {
    let (mut cluster, http) = cluster_with_consoles("console-stats");
    let topic = "metered";
    create_replicated_topic(&cluster, &[1, 2, 3], topic, 3, 3, &[]);
    produce(&cluster.bootstrap(), topic, 0, 10);
    produce(&cluster.bootstrap(), topic, 1, 4);
    // A consumer's fetch through the message browser (a Kafka Fetch).
    let m = ok_json(
        http[&1],
        &format!("/api/v1/topics/{topic}/messages?partition=0&count=10"),
    );
    assert_eq!(m["messages"].as_array().unwrap().len(), 10, "{m}");

    for (&id, &port) in &http {
        let own = ok_json(port, "/api/v1/broker-stats");
        assert_eq!(own["broker"], id, "{own}");
        assert!(own["requests"].as_u64().unwrap() > 0, "{own}");
    }
    // From one broker: all three, the others read over HTTP at the address
    // they report for metrics.listener.
    let stats = ok_json(http[&2], "/api/v1/stats");
    let brokers = stats["brokers"].as_array().unwrap();
    assert_eq!(
        brokers
            .iter()
            .map(|b| b["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3],
        "{stats}"
    );
    let mut messages_in = 0;
    let mut bytes_out = 0;
    for b in brokers {
        assert!(b["error"].is_null(), "{b}");
        assert_eq!(b["stats"]["broker"], b["id"], "{b}");
        let t = &b["stats"]["topics"][topic];
        messages_in += t["messages_in"].as_u64().unwrap_or(0);
        bytes_out += t["bytes_out"].as_u64().unwrap_or(0);
    }
    assert_eq!(messages_in, 14, "leader appends over the brokers: {stats}");
    assert!(bytes_out > 0, "the browser's fetch: {stats}");
    let topics = ok_json(http[&3], "/api/v1/topics");
    let metered = &topics.as_array().unwrap()[0];
    assert_eq!(metered["messages_in"], 14, "{metered}");
    assert!(metered["bytes_in"].as_u64().unwrap() > 14 * 7, "{metered}");
    assert_eq!(metered["bytes_out"], bytes_out, "{metered}");

    // A broker that is down is listed with why.
    cluster.broker(3).kill();
    let stats = wait_until("broker 3 reported unreachable", STEP_TIMEOUT, || {
        let stats = ok_json(http[&1], "/api/v1/stats");
        let down = stats["brokers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == 3 && b["error"].is_string());
        down.then_some(stats)
    });
    let one = &stats["brokers"].as_array().unwrap()[0];
    assert!(one["stats"]["requests"].as_u64().unwrap() > 0, "{stats}");
}

#[test]
fn write_actions_do_what_kafka_then_reports_when_enabled() {
    let (mut cluster, http) =
        cluster_with_consoles_and("console-writes", &[("console.writes.enable", "true")]);
    let port = http[&1];
    let topic = "made-here";
    wait_until("broker 1 to know the controller", STEP_TIMEOUT, || {
        let c = ok_json(port, "/api/v1/cluster");
        (!c["controller"].is_null() && c["brokers"].as_array()?.len() == 3).then_some(())
    });

    // Create a topic.
    let (code, answer) = post_json(
        port,
        "/api/v1/topics",
        &format!(
            r#"{{"name":"{topic}","partitions":2,"replication_factor":3,"configs":{{"retention.ms":"3600000"}}}}"#
        ),
    );
    assert_eq!(code, 200, "{answer}");
    let states =
        common::cluster::wait_fully_replicated(&cluster, topic, "after the console made it");
    assert_eq!(states.len(), 2);
    let (code, again) = post_json(port, "/api/v1/topics", &format!(r#"{{"name":"{topic}"}}"#));
    assert_eq!(code, 409, "{again}");
    assert!(
        again["error"]
            .as_str()
            .unwrap()
            .contains("TOPIC_ALREADY_EXISTS"),
        "{again}"
    );
    let config = |name: &str| -> Value {
        let view = ok_json(port, &format!("/api/v1/topics/{topic}"));
        view["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {view}"))
    };
    assert_eq!(config("retention.ms")["value"], "3600000");

    // Change a config, then delete it back to the default.
    let configs = format!("/api/v1/topics/{topic}/configs");
    let (code, answer) = post_json(port, &configs, r#"{"set":{"retention.ms":"60000"}}"#);
    assert_eq!(code, 200, "{answer}");
    wait_until("retention.ms at 60000", STEP_TIMEOUT, || {
        (config("retention.ms")["value"] == "60000").then_some(())
    });
    let (code, answer) = post_json(port, &configs, r#"{"delete":["retention.ms"]}"#);
    assert_eq!(code, 200, "{answer}");
    wait_until("retention.ms back to its default", STEP_TIMEOUT, || {
        (config("retention.ms")["source"] == "DEFAULT_CONFIG").then_some(())
    });
    let (code, bad) = post_json(port, &configs, r#"{"set":{"retention.ms":"soon"}}"#);
    assert_eq!(code, 409, "{bad}");
    // As Kafka's ZkAdminManager: a bad value is an INVALID_REQUEST.
    assert!(
        bad["error"].as_str().unwrap().contains("INVALID_REQUEST"),
        "{bad}"
    );

    // Delete records before offset 4.
    produce(&cluster.bootstrap(), topic, 0, 10);
    let (code, answer) = post_json(
        port,
        &format!("/api/v1/topics/{topic}/delete-records"),
        r#"{"partition":0,"offset":4}"#,
    );
    assert_eq!(code, 200, "{answer}");
    assert_eq!(log_start(&cluster, topic, 0), 4);

    // Reset offsets: a group without members takes them; one with a member
    // is refused, as kafka-consumer-groups.sh refuses.
    let reset = |group: &str, body: &str| {
        post_json(port, &format!("/api/v1/groups/{group}/reset-offsets"), body)
    };
    let (code, answer) = reset("audit", &format!(r#"{{"topic":"{topic}","to":7}}"#));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(committed(port, "audit", topic, 0), Some(7));
    assert_eq!(
        committed(port, "audit", topic, 1),
        Some(0),
        "clamped to the log end"
    );
    let (code, answer) = reset(
        "audit",
        &format!(r#"{{"topic":"{topic}","to":"earliest","partitions":[0]}}"#),
    );
    assert_eq!(code, 200, "{answer}");
    assert_eq!(committed(port, "audit", topic, 0), Some(4));
    let _member = lagging_member(&cluster.bootstrap(), "busy", topic, 5);
    let (code, refused) = reset("busy", &format!(r#"{{"topic":"{topic}","to":"latest"}}"#));
    assert_eq!(code, 409, "{refused}");
    assert_eq!(committed(port, "busy", topic, 0), Some(5));

    // Preferred election: move partition 0's leadership away by a restart,
    // then elect its preferred replica back.
    let before = fetch_metadata(port_of(&cluster, 1), &[topic]).unwrap();
    let preferred = before.partitions[&(topic.to_owned(), 0)].replicas[0];
    assert_eq!(states[&0].leader, preferred);
    cluster.broker(preferred).restart();
    common::cluster::wait_all_in_isr(&cluster, topic, 0, "after the restart");
    let moved = fetch_metadata(port_of(&cluster, 1), &[topic]).unwrap();
    assert_ne!(moved.partitions[&(topic.to_owned(), 0)].leader, preferred);
    // The controller takes the restarted broker as a candidate once it has
    // processed its registration; until then Kafka's answer is
    // PREFERRED_LEADER_NOT_AVAILABLE, which the console passes on.
    let answer = wait_until("the preferred election accepted", STEP_TIMEOUT, || {
        let (code, answer) = post_json(
            http[&2],
            &format!("/api/v1/topics/{topic}/preferred-election"),
            r#"{"partitions":[0]}"#,
        );
        if code == 409 {
            let error = answer["error"].as_str().unwrap_or("");
            assert!(error.contains("PREFERRED_LEADER_NOT_AVAILABLE"), "{answer}");
            return None;
        }
        Some((code, answer))
    });
    assert_eq!(answer.0, 200, "{}", answer.1);
    wait_until("the preferred leader back", STEP_TIMEOUT, || {
        let meta = fetch_metadata(port_of(&cluster, 2), &[topic]).ok()?;
        (meta.partitions[&(topic.to_owned(), 0)].leader == preferred).then_some(())
    });
    // Without a JSON body's Content-Type: 415, nothing done.
    let (status, _, _) = http_send(
        port,
        "POST",
        "/api/v1/topics",
        Some("text/plain"),
        r#"{"name":"not-made"}"#,
    );
    assert_eq!(status, "HTTP/1.1 415 Unsupported Media Type");
    assert_eq!(get_json(port, "/api/v1/topics/not-made").0, 404);
}

/// ListOffsets from a debugging consumer (replica id -2): a follower answers
/// with its own log end; a consumer (-1) asking the follower is refused.
#[test]
fn a_follower_answers_a_debugging_consumer_with_its_log_end() {
    let cluster = start_cluster("console-debug-offsets", &[]);
    let topic = "debugged";
    let states = create_replicated_topic(&cluster, &[1, 2, 3], topic, 1, 3, &[]);
    produce(&cluster.bootstrap(), topic, 0, 7);
    let leader = states[&0].leader;
    let follower = cluster.brokers.iter().find(|b| b.id() != leader).unwrap();
    let debugging = list_offsets_request(topic, -1).with_replica_id(BrokerId(-2));
    let answer = wait_until("the follower's log end at 7", STEP_TIMEOUT, || {
        let answer = list_offsets_answer(&send_request(follower, 1, &debugging));
        (answer == (0, 7)).then_some(answer)
    });
    assert_eq!(answer, (0, 7));
    let earliest = list_offsets_request(topic, -2).with_replica_id(BrokerId(-2));
    assert_eq!(
        list_offsets_answer(&send_request(follower, 1, &earliest)),
        (0, 0)
    );
    let consumer = list_offsets_request(topic, -1);
    assert_eq!(
        list_offsets_answer(&send_request(follower, 1, &consumer)).0,
        6,
        "NOT_LEADER_OR_FOLLOWER for a consumer asking a follower"
    );
}

#[test]
fn bad_console_requests_get_json_errors_and_the_broker_keeps_serving() {
    let chroot = unique_chroot("console-bad-input");
    let port = free_port();
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("metrics.listener", format!("127.0.0.1:{port}")),
    );
    let cases: [(&str, u16); 9] = [
        ("/api/v1/topics/no-such-topic", 404),
        ("/api/v1/topics/bad%20name", 400),
        ("/api/v1/topics/a/b", 404),
        ("/api/v1/znodes?path=%2Fno%2Fsuch%2Fznode", 404),
        ("/api/v1/znodes?path=relative", 400),
        ("/api/v1/znodes?path=%2Fa%2F..%2Fb", 400),
        ("/api/v1/znodes?path=%zz", 400),
        ("/api/v1/nothing", 404),
        ("/nothing", 404),
    ];
    for (path, expected) in cases {
        let (code, body) = get_json(port, path);
        assert_eq!(code, expected, "{path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {body}"
        );
    }
    let long = format!("/api/v1/znodes?path=/{}", "x".repeat(5000));
    assert_eq!(get_json(port, &long).0, 400);
    let (status, _, _) = http_request(port, "POST", "/api/v1/cluster");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    // Writes are off by default: refused, nothing made.
    let (status, _, body) = http_post_json(port, "/api/v1/topics", r#"{"name":"not-made"}"#);
    assert_eq!(status, "HTTP/1.1 403 Forbidden", "{body}");
    assert!(body.contains("console.writes.enable"), "{body}");
    assert_eq!(get_json(port, "/api/v1/topics/not-made").0, 404);
    assert_eq!(ok_json(port, "/api/v1/console")["writes_enabled"], false);
    let (status, _, _) = http_send(port, "POST", "/api/v1/topics", None, &"x".repeat(70_000));
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");

    // Still serving: the metrics, the console and Kafka clients.
    let (status, _, _) = http_get(port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(ok_json(port, "/api/v1/cluster")["brokers"][0]["live"], true);
    assert_eq!(create_topic_with_configs(&broker, "still-up", 1, 1, &[]), 0);
}

#[test]
fn console_enable_false_serves_metrics_only() {
    let chroot = unique_chroot("console-disabled");
    let port = free_port();
    let _broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("metrics.listener", format!("127.0.0.1:{port}"))
            .set("console.enable", "false"),
    );
    assert_eq!(http_get(port, "/").0, "HTTP/1.1 404 Not Found");
    assert_eq!(
        http_get(port, "/api/v1/cluster").0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(http_get(port, "/metrics").0, "HTTP/1.1 200 OK");
}

#[test]
fn the_pages_show_in_a_browser_what_kafka_and_zookeeper_report() {
    // Writes on at broker 3 only: the browser creates a topic there and
    // finds broker 1's forms off.
    let ports = Mutex::new(BTreeMap::new());
    let cluster = TestCluster::start_with("console-browser", 3, |spec| {
        let port = free_port();
        ports.lock().unwrap().insert(spec.id, port);
        let writes = if spec.id == 3 { "true" } else { "false" };
        common::cluster::cluster_spec(spec, &[])
            .set("metrics.listener", format!("127.0.0.1:{port}"))
            .set("console.writes.enable", writes)
    });
    let http = ports.into_inner().unwrap();
    let topic = "orders";
    let new_topic = "made-in-the-browser";
    create_replicated_topic(&cluster, &[1, 2, 3], topic, 3, 3, &[]);
    produce(&cluster.bootstrap(), topic, 0, 12);
    produce(&cluster.bootstrap(), topic, 2, 3);
    let _member = lagging_member(&cluster.bootstrap(), "billing", topic, 5);
    // Traffic for the live charts while the browser looks: partition 1,
    // so the counts the other views check stay as they are.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = {
        let stop = stop.clone();
        let bootstrap = cluster.bootstrap();
        std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && sent < 2_000 {
                produce(&bootstrap, topic, 1, 5);
                sent += 5;
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let shots = test_tmp_root().join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("http://127.0.0.1:{}", http[&3]);
    let read_only = format!("http://127.0.0.1:{}", http[&1]);
    let out = run_python_with_timeout(
        BROWSER_SCRIPT,
        &[&url, shots.to_str().unwrap(), topic, &read_only, new_topic],
        BROWSER_TIMEOUT,
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    background.join().expect("the background producer");
    assert_success(&out, "the browser script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));

    let meta = fetch_metadata(port_of(&cluster, 3), &[topic]).unwrap();
    assert_eq!(seen["cluster"]["controller"], meta.controller, "{seen}");
    assert_eq!(seen["cluster"]["partitions"], 3);
    assert_eq!(seen["cluster"]["under_replicated"], 0);
    assert_eq!(seen["cluster"]["offline"], 0);
    assert_eq!(seen["cluster"]["brokers"], serde_json::json!([1, 2, 3]));
    assert_eq!(seen["cluster"]["live"], serde_json::json!([1, 2, 3]));
    assert_eq!(seen["topics"][topic], 3);
    for index in 0..3 {
        let shown = &seen["partitions"][index.to_string()];
        let m = &meta.partitions[&(topic.to_owned(), index)];
        assert_eq!(shown["leader"], m.leader, "{shown}");
        assert_eq!(ids(&shown["isr"]), m.isr, "{shown}");
        let leader = cluster.brokers.iter().find(|b| b.id() == m.leader).unwrap();
        let mut latest = list_offsets_request(topic, -1);
        latest.topics[0].partitions[0].partition_index = index;
        let (_, high_watermark) = list_offsets_answer(&send_request(leader, 1, &latest));
        if index == 1 {
            // The background producer's partition: seen while it grew.
            assert!(shown["high_watermark"].as_i64().unwrap() <= high_watermark);
        } else {
            assert_eq!(shown["high_watermark"], high_watermark, "partition {index}");
        }
        assert_eq!(shown["log_start"], 0);
    }
    assert_eq!(seen["znode"]["path"], "/brokers/ids/1");
    let shown: Value = serde_json::from_str(seen["znode"]["data"].as_str().unwrap()).unwrap();
    let stored = common::zk_get(&cluster.chroot, "/brokers/ids/1").unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(shown, stored, "the znode view shows /brokers/ids/1's JSON");
    assert_eq!(seen["group"]["lag"], 7, "12 produced - 5 committed: {seen}");
    assert_eq!(seen["group"]["state"], "Stable", "{seen}");
    assert!(
        seen["group"]["sparkline_samples"].as_i64().unwrap() >= 1,
        "{seen}"
    );
    assert_eq!(seen["message"]["offset"], 0, "{seen}");
    let value: Value = serde_json::from_str(seen["message"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"n": 0}),
        "the produced JSON value"
    );
    // Live charts: every broker's rates, bytes in while the producer ran.
    let traffic = seen["traffic"].as_object().unwrap();
    assert_eq!(traffic.len(), 3, "{seen}");
    for (broker, rates) in traffic {
        assert!(
            rates["requests"].as_f64().unwrap() > 0.0,
            "broker {broker}: {seen}"
        );
    }
    assert!(seen["traffic_points"].as_i64().unwrap() >= 6, "{seen}");
    assert!(
        seen["topic_messages_in_rate"].as_f64().unwrap() > 0.0,
        "{seen}"
    );
    // The topic made with the page's form, as the Kafka protocol sees it.
    assert_eq!(seen["create"]["status"], 200, "{seen}");
    let made = common::cluster::wait_fully_replicated(&cluster, new_topic, "after the form");
    assert_eq!(made.len(), 2);
    let meta = fetch_metadata(port_of(&cluster, 1), &[new_topic]).unwrap();
    assert_eq!(
        meta.partitions[&(new_topic.to_owned(), 0)].replicas.len(),
        3
    );
    // Writes off at broker 1: the form is disabled and says so; a POST
    // from the page is refused and makes nothing.
    assert_eq!(seen["read_only"]["button_disabled"], true, "{seen}");
    assert!(
        seen["read_only"]["note"]
            .as_str()
            .unwrap()
            .contains("console.writes.enable=false"),
        "{seen}"
    );
    assert_eq!(seen["read_only"]["post_status"], 403, "{seen}");
    assert_eq!(get_json(http[&1], "/api/v1/topics/refused-topic").0, 404);
    for view in [
        "cluster",
        "traffic",
        "topics",
        "topics-one",
        "groups-one",
        "messages",
        "znodes",
    ] {
        let png = shots.join(format!("{view}.png"));
        let size = std::fs::metadata(&png).map_or(0, |m| m.len());
        assert!(size > 1000, "screenshot {} ({size} bytes)", png.display());
    }
}
