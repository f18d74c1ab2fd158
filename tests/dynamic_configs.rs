//! Dynamic configs through real clients (confluent-kafka's AdminClient and
//! Producer): AlterConfigs / IncrementalAlterConfigs write Kafka's znodes and
//! a `/config/changes` notification, and every broker (also one that did not
//! get the request) applies the change without a restart: retention deletes
//! segments, max.message.bytes refuses larger batches, min.insync.replicas
//! refuses acks=all, a cluster-default broker config reaches topics without
//! overrides, a topic's unclean.leader.election.enable reaches the controller,
//! message.timestamp.type=LogAppendTime stamps batches. DescribeConfigs
//! reports Kafka's sources and synonyms; errors are Kafka's (unknown key
//! INVALID_CONFIG, bad value INVALID_REQUEST in the Alter APIs and
//! INVALID_CONFIG in CreateTopics), naming the key; validate_only writes nothing.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const INVALID_CONFIG: i64 = 40;
const INVALID_REQUEST: i64 = 42;
const MESSAGE_TOO_LARGE: i64 = 10;
const NOT_ENOUGH_REPLICAS: i64 = 19;

const SOURCE_TOPIC_CONFIG: i64 = 1;
const SOURCE_DYNAMIC_BROKER_CONFIG: i64 = 2;
const SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG: i64 = 3;
const SOURCE_STATIC_BROKER_CONFIG: i64 = 4;
const SOURCE_DEFAULT_CONFIG: i64 = 5;

/// How long a change may take to reach every broker and act.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a list of admin/produce operations (JSON, argv[2]) against
/// argv[1] and prints one JSON list of results: `{"ok": ...}` or
/// `{"error": code, "message": text}` per operation.
const ADMIN: &str = r#"
import json, sys
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,
                                   ConfigResource, NewTopic, ResourceType)

bootstrap, ops = sys.argv[1], json.loads(sys.argv[2])
admin = AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
TYPES = {"topic": ResourceType.TOPIC, "broker": ResourceType.BROKER}

def one(future):
    try:
        return {"ok": future.result()}
    except KafkaException as e:
        return {"error": e.args[0].code(), "message": e.args[0].str()}

def entry(e):
    return [e.value, int(e.source), [[s.name, s.value, int(s.source)] for s in e.synonyms.values()]]

out = []
for op in ops:
    kind = op["op"]
    if kind == "create":
        if "assignment" in op:
            topic = NewTopic(op["topic"], num_partitions=len(op["assignment"]), replica_assignment=op["assignment"],
                             config=op.get("configs", {}))
        else:
            topic = NewTopic(op["topic"], num_partitions=1, replication_factor=op.get("rf", 1),
                             config=op.get("configs", {}))
        fs = admin.create_topics([topic], validate_only=op.get("validate_only", False),
                                 operation_timeout=30, request_timeout=40)
        r = one(fs[op["topic"]])
        out.append({"ok": True} if "ok" in r else r)
    elif kind == "incremental":
        entries = [ConfigEntry(k, v, incremental_operation=getattr(AlterConfigOpType, t))
                   for k, t, v in op["ops"]]
        res = ConfigResource(TYPES[op["type"]], op["name"], incremental_configs=entries)
        fs = admin.incremental_alter_configs([res], validate_only=op.get("validate_only", False),
                                             request_timeout=40)
        r = one(list(fs.values())[0])
        out.append({"ok": True} if "ok" in r else r)
    elif kind == "alter":
        res = ConfigResource(TYPES[op["type"]], op["name"], set_config=op["configs"])
        fs = admin.alter_configs([res], validate_only=op.get("validate_only", False),
                                 request_timeout=40)
        r = one(list(fs.values())[0])
        out.append({"ok": True} if "ok" in r else r)
    elif kind == "describe":
        res = ConfigResource(TYPES[op["type"]], op["name"])
        fs = admin.describe_configs([res], request_timeout=40)
        r = one(list(fs.values())[0])
        if "ok" in r:
            r = {"ok": {k: entry(e) for k, e in r["ok"].items()}}
        out.append(r)
    elif kind == "describe_kp":
        # kafka-python keeps the synonyms as the list the broker sent.
        from kafka.admin import ConfigResource as KpResource, ConfigResourceType, KafkaAdminClient
        kp = KafkaAdminClient(bootstrap_servers=bootstrap)
        rtype = ConfigResourceType.TOPIC if op["type"] == "topic" else ConfigResourceType.BROKER
        res = kp.describe_configs([KpResource(rtype, op["name"])], include_synonyms=True)[0].resources[0]
        if res[0] != 0:
            out.append({"error": res[0], "message": res[1]})
        else:
            out.append({"ok": {e[0]: [e[1], e[3], [[s[0], s[1], s[2]] for s in e[5]]] for e in res[4]}})
        kp.close()
    elif kind == "alter_kp":
        # kafka-python's legacy AlterConfigs takes "" (the cluster default) for a broker.
        from kafka.admin import ConfigResource as KpResource, ConfigResourceType, KafkaAdminClient
        kp = KafkaAdminClient(bootstrap_servers=bootstrap)
        rtype = ConfigResourceType.TOPIC if op["type"] == "topic" else ConfigResourceType.BROKER
        res = kp.alter_configs([KpResource(rtype, op["name"], configs=op["configs"])]).resources[0]
        out.append({"ok": True} if res[0] == 0 else {"error": res[0], "message": res[1]})
        kp.close()
    elif kind == "produce":
        errors = []
        p = Producer({"bootstrap.servers": bootstrap, "broker.address.family": "v4",
                      "acks": op.get("acks", "all"), "retries": 0, "linger.ms": 0,
                      "message.timeout.ms": 20000})
        for i in range(op.get("count", 1)):
            p.produce(op["topic"], b"x" * op["size"], partition=0, timestamp=op.get("timestamp", 0),
                      on_delivery=lambda err, msg: errors.append(err.code() if err else 0))
            p.flush(30)
        out.append({"ok": errors})
    elif kind == "consume":
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4",
                      "group.id": "dyn-ts", "enable.auto.commit": False})
        c.assign([TopicPartition(op["topic"], 0, op["offset"])])
        got = []
        while len(got) < op["count"]:
            m = c.poll(30)
            if m is None:
                break
            if not m.error():
                got.append(list(m.timestamp()))
        c.close()
        out.append({"ok": got})
print(json.dumps(out))
"#;

/// Runs `ops` through the ADMIN script against `bootstrap`.
fn admin(bootstrap: &str, ops: Value) -> Vec<Value> {
    let out = run_python(ADMIN, &[bootstrap, &ops.to_string()]);
    let text = assert_success(&out, "confluent-kafka admin script");
    let last = text.lines().last().unwrap_or_default();
    let parsed: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("admin script printed no JSON ({e}):\n{text}"));
    parsed.as_array().cloned().expect("a JSON list")
}

/// The single result of one operation, which must have succeeded.
fn ok(bootstrap: &str, op: Value) -> Value {
    let result = admin(bootstrap, json!([op.clone()])).remove(0);
    assert!(result.get("ok").is_some(), "{op} failed: {result}");
    result["ok"].clone()
}

/// The single result of one operation, which must have failed: (code, message).
fn err(bootstrap: &str, op: Value) -> (i64, String) {
    let result = admin(bootstrap, json!([op.clone()])).remove(0);
    let code = result["error"]
        .as_i64()
        .unwrap_or_else(|| panic!("{op} did not fail: {result}"));
    (
        code,
        result["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Segment files (`*.log`) of partition 0 of `topic` in `log_dir`.
fn segment_count(log_dir: &Path, topic: &str) -> usize {
    std::fs::read_dir(log_dir.join(format!("{topic}-0")))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .count()
        })
        .unwrap_or(0)
}

fn produce(bootstrap: &str, topic: &str, size: usize, count: usize) -> Vec<i64> {
    let codes = ok(
        bootstrap,
        json!({"op": "produce", "topic": topic, "size": size, "count": count}),
    );
    codes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect()
}

/// A topic change sent to broker 1 is applied by broker 2 too: retention
/// deletes segments on both without a restart, and a lowered
/// max.message.bytes refuses a batch the topic accepted before.
#[test]
fn topic_changes_apply_live_on_every_broker() {
    let mut cluster = TestCluster::start_with("dyn-live", 2, |s| {
        s.set("log.retention.check.interval.ms", 200)
    });
    let all = cluster.bootstrap();
    let only_1 = cluster.broker(1).bootstrap();
    ok(
        &all,
        json!({"op": "create", "topic": "live", "rf": 2, "configs": {"segment.bytes": "20000"}}),
    );
    assert_eq!(produce(&all, "live", 8000, 12), vec![0; 12]);
    let (dir1, dir2) = (
        cluster.broker(1).log_dir().to_path_buf(),
        cluster.broker(2).log_dir().to_path_buf(),
    );
    for dir in [&dir1, &dir2] {
        wait_until("several segments on both brokers", APPLY_TIMEOUT, || {
            (segment_count(dir, "live") >= 4).then_some(())
        });
    }
    // A 5000-byte record fits the default max.message.bytes.
    assert_eq!(produce(&all, "live", 5000, 1), vec![0]);

    // Only broker 1 hears the request.
    ok(
        &only_1,
        json!({"op": "incremental", "type": "topic", "name": "live",
               "ops": [["retention.ms", "SET", "1"], ["max.message.bytes", "SET", "1000"]]}),
    );
    for dir in [&dir1, &dir2] {
        wait_until(
            "retention to delete the old segments",
            APPLY_TIMEOUT,
            || (segment_count(dir, "live") == 1).then_some(()),
        );
    }
    cluster
        .broker(2)
        .wait_for_log("config changed: topic live", APPLY_TIMEOUT);
    assert_eq!(produce(&all, "live", 5000, 1), vec![MESSAGE_TOO_LARGE]);
    assert_eq!(produce(&all, "live", 100, 1), vec![0]);

    // The znodes are Kafka's JSON, as zkCli shows them.
    let chroot = cluster.chroot.clone();
    let stored: Value =
        serde_json::from_str(&zk_get(&chroot, "/config/topics/live").expect("topic config"))
            .unwrap();
    assert_eq!(
        stored,
        json!({"version": 1, "config": {
            "segment.bytes": "20000", "retention.ms": "1", "max.message.bytes": "1000"}})
    );
    let changes = zk_children(&chroot, "/config/changes").expect("config changes");
    let last = changes.iter().max().expect("a change notification");
    assert!(last.starts_with("config_change_"), "{changes:?}");
    assert_eq!(
        zk_get(&chroot, &format!("/config/changes/{last}")).as_deref(),
        Some(r#"{"version":2,"entity_path":"topics/live"}"#)
    );
}

/// `/config/brokers/<default>` reaches topics without an override, and a
/// per-broker min.insync.replicas refuses acks=all on a one-replica topic.
#[test]
fn broker_configs_apply_to_topics_without_overrides() {
    let chroot = unique_chroot("dyn-broker");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("log.retention.check.interval.ms", 200)
            .set("log.segment.bytes", 2000),
    );
    let b = broker.bootstrap();
    ok(&b, json!({"op": "create", "topic": "plain"}));
    ok(
        &b,
        json!({"op": "create", "topic": "kept", "configs": {"retention.ms": "-1"}}),
    );
    for topic in ["plain", "kept"] {
        assert_eq!(produce(&b, topic, 600, 12), vec![0; 12]);
    }
    let dir = broker.log_dir().to_path_buf();
    let kept_before = segment_count(&dir, "kept");
    assert!(kept_before >= 4, "{kept_before}");

    ok(
        &b,
        json!({"op": "alter_kp", "type": "broker", "name": "",
               "configs": {"log.retention.ms": "1"}}),
    );
    wait_until("retention from the cluster default", APPLY_TIMEOUT, || {
        (segment_count(&dir, "plain") == 1).then_some(())
    });
    broker.wait_for_log("config changed: broker <default>", APPLY_TIMEOUT);
    assert_eq!(segment_count(&dir, "kept"), kept_before, "override kept");
    assert_eq!(
        zk_get(&chroot, "/config/brokers/<default>").as_deref(),
        Some(r#"{"version":1,"config":{"log.retention.ms":"1"}}"#)
    );

    // Sources and synonyms as Kafka reports them.
    let plain = ok(
        &b,
        json!({"op": "describe_kp", "type": "topic", "name": "plain"}),
    );
    assert_eq!(
        plain["retention.ms"],
        json!([
            "1",
            SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG,
            [
                [
                    "log.retention.ms",
                    "1",
                    SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG
                ],
                ["log.retention.hours", "168", SOURCE_DEFAULT_CONFIG]
            ]
        ])
    );
    assert_eq!(
        plain["segment.bytes"],
        json!([
            "2000",
            SOURCE_STATIC_BROKER_CONFIG,
            [
                ["log.segment.bytes", "2000", SOURCE_STATIC_BROKER_CONFIG],
                ["log.segment.bytes", "1073741824", SOURCE_DEFAULT_CONFIG]
            ]
        ])
    );
    assert_eq!(
        plain["cleanup.policy"],
        json!([
            "delete",
            SOURCE_DEFAULT_CONFIG,
            [["log.cleanup.policy", "delete", SOURCE_DEFAULT_CONFIG]]
        ])
    );
    let kept = ok(
        &b,
        json!({"op": "describe", "type": "topic", "name": "kept"}),
    );
    assert_eq!(kept["retention.ms"][0], "-1");
    assert_eq!(kept["retention.ms"][1], SOURCE_TOPIC_CONFIG);
    assert_eq!(
        kept["retention.ms"][2][0],
        json!(["retention.ms", "-1", SOURCE_TOPIC_CONFIG])
    );
    // Per-broker min.insync.replicas=2: a one-replica topic refuses acks=all.
    assert_eq!(produce(&b, "plain", 100, 1), vec![0]);
    ok(
        &b,
        json!({"op": "incremental", "type": "broker", "name": "1",
               "ops": [["min.insync.replicas", "SET", "2"]]}),
    );
    broker.wait_for_log("config changed: broker 1", APPLY_TIMEOUT);
    assert_eq!(produce(&b, "plain", 100, 1), vec![NOT_ENOUGH_REPLICAS]);
    let own = ok(
        &b,
        json!({"op": "describe_kp", "type": "broker", "name": "1"}),
    );
    assert_eq!(
        own["min.insync.replicas"],
        json!([
            "2",
            SOURCE_DYNAMIC_BROKER_CONFIG,
            [
                ["min.insync.replicas", "2", SOURCE_DYNAMIC_BROKER_CONFIG],
                ["min.insync.replicas", "1", SOURCE_DEFAULT_CONFIG]
            ]
        ])
    );
    assert_eq!(own["log.segment.bytes"][1], SOURCE_STATIC_BROKER_CONFIG);
    // DELETE puts the static value back.
    ok(
        &b,
        json!({"op": "incremental", "type": "broker", "name": "1",
               "ops": [["min.insync.replicas", "DELETE", null]]}),
    );
    wait_until("acks=all to succeed again", APPLY_TIMEOUT, || {
        (produce(&b, "plain", 100, 1) == vec![0]).then_some(())
    });
}

/// Bad keys and values are refused naming the key (Kafka's codes), static broker
/// keys cannot change, validate_only writes nothing, AlterConfigs replaces
/// the whole config, CreateTopics checks its configs too.
#[test]
fn validation_and_validate_only_follow_kafka() {
    let chroot = unique_chroot("dyn-validate");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let b = broker.bootstrap();
    ok(
        &b,
        json!({"op": "create", "topic": "v", "configs": {"retention.ms": "1000"}}),
    );
    let znode = || zk_get(&chroot, "/config/topics/v");
    let before = znode();
    assert_eq!(
        before.as_deref(),
        Some(r#"{"version":1,"config":{"retention.ms":"1000"}}"#)
    );

    let (code, message) = err(
        &b,
        json!({"op": "incremental", "type": "topic", "name": "v",
               "ops": [["retention.msx", "SET", "5"]]}),
    );
    assert_eq!(code, INVALID_CONFIG, "{message}");
    assert!(message.contains("retention.msx"), "{message}");
    let (code, message) = err(
        &b,
        json!({"op": "alter", "type": "topic", "name": "v", "configs": {"segment.bytes": "abc"}}),
    );
    // Kafka's ZkAdminManager answers a bad value (a ConfigException) with
    // INVALID_REQUEST, an unknown key with INVALID_CONFIG.
    assert_eq!(code, INVALID_REQUEST, "{message}");
    assert!(message.contains("segment.bytes"), "{message}");
    let (code, message) = err(
        &b,
        json!({"op": "incremental", "type": "topic", "name": "v",
               "ops": [["cleanup.policy", "APPEND", "keep"]]}),
    );
    assert_eq!(code, INVALID_REQUEST, "{message}");
    assert!(message.contains("cleanup.policy"), "{message}");
    let (code, message) = err(
        &b,
        json!({"op": "incremental", "type": "topic", "name": "v",
               "ops": [["retention.ms", "APPEND", "5"]]}),
    );
    assert_eq!(code, INVALID_REQUEST, "{message}");
    let (code, message) = err(
        &b,
        json!({"op": "alter_kp", "type": "broker", "name": "",
               "configs": {"log.dirs": "/tmp/x"}}),
    );
    assert_eq!(code, INVALID_REQUEST, "{message}");
    assert!(message.contains("log.dirs"), "{message}");

    // validate_only: a valid change is accepted and nothing is written.
    let changes_before = zk_children(&chroot, "/config/changes").unwrap_or_default();
    ok(
        &b,
        json!({"op": "incremental", "type": "topic", "name": "v", "validate_only": true,
               "ops": [["retention.ms", "SET", "5"], ["cleanup.policy", "APPEND", "compact"]]}),
    );
    ok(
        &b,
        json!({"op": "create", "topic": "never", "validate_only": true,
               "configs": {"segment.ms": "1000"}}),
    );
    assert_eq!(znode(), before);
    assert_eq!(zk_get(&chroot, "/config/topics/never"), None);
    assert_eq!(
        zk_children(&chroot, "/config/changes").unwrap_or_default(),
        changes_before
    );

    // AlterConfigs replaces the whole set; APPEND starts from Kafka's default.
    ok(
        &b,
        json!({"op": "alter", "type": "topic", "name": "v", "configs": {"segment.ms": "60000"}}),
    );
    ok(
        &b,
        json!({"op": "incremental", "type": "topic", "name": "v",
               "ops": [["cleanup.policy", "APPEND", "compact"]]}),
    );
    assert_eq!(
        znode().as_deref(),
        Some(r#"{"version":1,"config":{"cleanup.policy":"delete,compact","segment.ms":"60000"}}"#)
    );
    let described = ok(&b, json!({"op": "describe", "type": "topic", "name": "v"}));
    assert_eq!(described["retention.ms"][1], SOURCE_DEFAULT_CONFIG);
    assert_eq!(described["segment.ms"][0], "60000");
    assert_eq!(described["cleanup.policy"][0], "delete,compact");

    // message.timestamp.type=LogAppendTime: the broker's clock replaces the producer's.
    ok(&b, json!({"op": "create", "topic": "ts"}));
    let produce_at = |timestamp: i64| {
        ok(
            &b,
            json!({"op": "produce", "topic": "ts", "size": 10, "timestamp": timestamp}),
        )
    };
    let consume_at = |offset: i64| {
        ok(
            &b,
            json!({"op": "consume", "topic": "ts", "offset": offset, "count": 1}),
        )
    };
    assert_eq!(produce_at(1000), json!([0]));
    assert_eq!(consume_at(0), json!([[1, 1000]]), "CreateTime kept");
    ok(
        &b,
        json!({"op": "incremental", "type": "topic", "name": "ts",
               "ops": [["message.timestamp.type", "SET", "LogAppendTime"]]}),
    );
    broker.wait_for_log("config changed: topic ts", APPLY_TIMEOUT);
    assert_eq!(produce_at(1000), json!([0]));
    let stamped = consume_at(1);
    assert_eq!(stamped[0][0], 2, "LogAppendTime: {stamped}");
    assert!(
        stamped[0][1].as_i64().unwrap() > 1_600_000_000_000,
        "{stamped}"
    );

    // CreateTopics names a bad key or value too.
    let (code, message) = err(
        &b,
        json!({"op": "create", "topic": "bad", "configs": {"max.message.bytes": "-5"}}),
    );
    assert_eq!(code, INVALID_CONFIG, "{message}");
    assert!(message.contains("max.message.bytes"), "{message}");
    assert_eq!(zk_get(&chroot, "/brokers/topics/bad"), None);
}

/// The leader in `/brokers/topics/<topic>/partitions/0/state`.
fn leader(chroot: &str, topic: &str) -> Option<i64> {
    zk(chroot)
        .get_json(&format!("/brokers/topics/{topic}/partitions/0/state"))
        .and_then(|state| state["leader"].as_i64())
}

/// A topic override turning unclean.leader.election.enable on makes the
/// active controller elect a partition whose only ISR member is dead (Kafka's
/// `enableTopicUncleanLeaderElection`); before it, the partition stays offline.
#[test]
fn unclean_election_override_is_seen_by_the_controller() {
    let mut cluster = TestCluster::start("dyn-unclean", 2);
    let chroot = cluster.chroot.clone();
    let all = cluster.bootstrap();
    ok(
        &all,
        json!({"op": "create", "topic": "u", "assignment": [[1, 2]]}),
    );
    wait_until("broker 1 to lead u", APPLY_TIMEOUT, || {
        (leader(&chroot, "u") == Some(1)).then_some(())
    });
    // Broker 2 leaves (and so leaves the ISR); broker 1 takes writes alone, then dies.
    cluster.broker(2).terminate();
    let only_1 = cluster.broker(1).bootstrap();
    assert_eq!(produce(&only_1, "u", 100, 3), vec![0; 3]);
    cluster.broker(1).kill();
    cluster.broker(2).restart();
    let only_2 = cluster.broker(2).bootstrap();
    wait_until(
        "u to be offline under broker 2's control",
        APPLY_TIMEOUT,
        || {
            let controller = zk(&chroot).get_json("/controller")?;
            (controller["brokerid"] == 2 && leader(&chroot, "u") == Some(-1)).then_some(())
        },
    );

    ok(
        &only_2,
        json!({"op": "incremental", "type": "topic", "name": "u",
               "ops": [["unclean.leader.election.enable", "SET", "true"]]}),
    );
    wait_until("broker 2 to be elected uncleanly", APPLY_TIMEOUT, || {
        (leader(&chroot, "u") == Some(2)).then_some(())
    });
    wait_until_ok("a produce to the new leader", APPLY_TIMEOUT, || {
        let codes = produce(&only_2, "u", 100, 1);
        if codes == vec![0] { Ok(()) } else { Err(codes) }
    });
}
