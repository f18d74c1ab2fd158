//! Consumer groups against real brokers and real clients: kafka-python
//! consumers split a topic and consume every record once, their commits land
//! in ZooKeeper at `/consumers/<group>/offsets/<topic>/<partition>` and a new
//! member resumes from them; librdkafka consumes and commits in a group; a
//! consumer killed without leaving loses its partitions to the others after
//! the session timeout; a static member (group.instance.id) restarting within
//! the session timeout gets its partitions back with no rebalance; a group
//! whose coordinator is SIGKILLed moves to another broker (which loads its
//! membership) and resumes from the committed offsets; `sluice consumer-groups` lists, describes (with
//! lag), resets and deletes a group, and resets by datetime, duration and
//! shift (`consumer_groups/reset_by_time.rs`).

mod common;
#[path = "consumer_groups/reset_by_time.rs"]
mod reset_by_time;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use sluice::group::coordinator_choice::coordinator_for;
use sluice::model::BrokerId;

/// Broker ids from bare numbers.
fn ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|&id| BrokerId(id)).collect()
}

fn start_broker(name: &str) -> (Broker, String) {
    let chroot = unique_chroot(name);
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("num.partitions", 6)
            .set("group.min.session.timeout.ms", 1000),
    );
    (broker, chroot)
}

/// Runs a Python script whose last stdout line is JSON; `B` is the bootstrap.
fn python_json(what: &str, script: &str, bootstrap: &str) -> Value {
    let code = format!("import json, sys, time\nB = sys.argv[1]\n{script}");
    let out = run_python_with_timeout(&code, &[bootstrap], Duration::from_secs(120));
    let stdout = assert_success(&out, what);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{what}: bad JSON ({e}): {stdout}"))
}

fn produce(bootstrap: &str, topic: &str, per_partition: usize, partitions: i32, tag: &str) {
    let producer: FutureProducer = future_producer(bootstrap);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for p in 0..partitions {
            for i in 0..per_partition {
                let value = format!("{tag}-{p}-{i}");
                producer
                    .send(
                        FutureRecord::<(), _>::to(topic)
                            .partition(p)
                            .payload(&value),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap_or_else(|(e, _)| panic!("produce to {topic}-{p}: {e}"));
            }
        }
    });
}

fn committed_in_zk(chroot: &str, group: &str, topic: &str, partition: i32) -> Option<String> {
    zk(chroot).get_string(&format!("/consumers/{group}/offsets/{topic}/{partition}"))
}

const THREE_CONSUMERS: &str = r#"
import threading
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
TOPIC, GROUP = 'split', 'three'
admin = KafkaAdminClient(bootstrap_servers=B)
admin.create_topics([NewTopic(TOPIC, 6, 1)])
admin.close()
stop = threading.Event()
state = {i: {'assigned': [], 'got': []} for i in range(3)}
errors = []
def run(i):
    try:
        c = KafkaConsumer(TOPIC, bootstrap_servers=B, group_id=GROUP, client_id='c%d' % i,
                          auto_offset_reset='earliest', enable_auto_commit=False,
                          session_timeout_ms=10000, heartbeat_interval_ms=500)
        while not stop.is_set():
            batch = c.poll(timeout_ms=200)
            for tp, records in batch.items():
                state[i]['got'].extend([[r.partition, r.offset] for r in records])
            if batch:
                c.commit()
            state[i]['assigned'] = sorted(tp.partition for tp in c.assignment())
        c.close(autocommit=False)
    except Exception as e:
        errors.append('consumer %d: %r' % (i, e))
threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
for t in threads:
    t.start()
deadline = time.monotonic() + 60
def wait(what, cond):
    while not cond():
        if time.monotonic() > deadline or errors:
            stop.set()
            raise SystemExit('timed out waiting for %s: %r %r' % (what, state, errors))
        time.sleep(0.1)
wait('a 2-2-2 split', lambda: sorted(len(state[i]['assigned']) for i in range(3)) == [2, 2, 2]
     and sorted(sum((state[i]['assigned'] for i in range(3)), [])) == list(range(6)))
split = {i: list(state[i]['assigned']) for i in range(3)}
p = KafkaProducer(bootstrap_servers=B, acks='all')
for part in range(6):
    for n in range(50):
        p.send(TOPIC, value=b'v', partition=part)
p.flush()
p.close()
wait('300 records', lambda: sum(len(state[i]['got']) for i in range(3)) >= 300)
time.sleep(1)  # let any duplicate show up before stopping
stop.set()
for t in threads:
    t.join()
if errors:
    raise SystemExit(repr(errors))
print(json.dumps({'split': split, 'got': {i: state[i]['got'] for i in range(3)}}))
"#;

const RESUME: &str = r#"
from kafka import KafkaConsumer
c = KafkaConsumer('split', bootstrap_servers=B, group_id='three', client_id='late',
                  auto_offset_reset='earliest', enable_auto_commit=False)
got = []
deadline = time.monotonic() + 60
while len(got) < 60 and time.monotonic() < deadline:
    for tp, records in c.poll(timeout_ms=200).items():
        got.extend([[r.partition, r.offset] for r in records])
c.commit()
c.close(autocommit=False)
print(json.dumps(got))
"#;

#[test]
fn three_kafka_python_consumers_split_six_partitions_and_commit_to_zookeeper() {
    let (broker, chroot) = start_broker("groups-three");
    let b = broker.bootstrap();
    let out = python_json("three kafka-python consumers", THREE_CONSUMERS, &b);

    // Two partitions each, disjoint, covering all six.
    let mut all = BTreeSet::new();
    for i in 0..3 {
        let mine: Vec<i64> = out["split"][i.to_string()]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_i64().unwrap())
            .collect();
        assert_eq!(mine.len(), 2, "consumer {i}: {out}");
        all.extend(mine);
    }
    assert_eq!(all, (0..6).collect::<BTreeSet<i64>>(), "{out}");

    // Every record exactly once.
    let mut seen: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for i in 0..3 {
        for pair in out["got"][i.to_string()].as_array().unwrap() {
            let key = (pair[0].as_i64().unwrap(), pair[1].as_i64().unwrap());
            *seen.entry(key).or_default() += 1;
        }
    }
    let expected: BTreeMap<(i64, i64), usize> = (0..6)
        .flat_map(|p| (0..50).map(move |o| ((p, o), 1)))
        .collect();
    assert_eq!(seen, expected, "every record once");

    // The commits are in ZooKeeper as decimal strings.
    for p in 0..6 {
        assert_eq!(
            committed_in_zk(&chroot, "three", "split", p).as_deref(),
            Some("50"),
            "partition {p}"
        );
    }

    // A new member of the group resumes from the committed offsets.
    produce(&b, "split", 10, 6, "more");
    let resumed = python_json("a new consumer resumes", RESUME, &b);
    let got: BTreeSet<(i64, i64)> = resumed
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_i64().unwrap(), pair[1].as_i64().unwrap()))
        .collect();
    let want: BTreeSet<(i64, i64)> = (0..6).flat_map(|p| (50..60).map(move |o| (p, o))).collect();
    assert_eq!(got, want, "only the records after the commits");
    for p in 0..6 {
        assert_eq!(
            committed_in_zk(&chroot, "three", "split", p).as_deref(),
            Some("60"),
            "partition {p}"
        );
    }
}

#[test]
fn librdkafka_consumes_in_a_group_and_commits() {
    let (broker, chroot) = start_broker("groups-rdkafka");
    let b = broker.bootstrap();
    produce(&b, "rd", 20, 6, "rd");
    let consumer: BaseConsumer = consumer_config(&b, "rd-group")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&["rd"]).expect("subscribe");
    assert_no_duplicates(&consume_and_commit(&consumer, 120));
    for p in 0..6 {
        assert_eq!(
            committed_in_zk(&chroot, "rd-group", "rd", p).as_deref(),
            Some("20"),
            "partition {p}"
        );
    }
    // OffsetFetch reads them back. (The list holds librdkafka partition
    // references: it must be gone before the consumer is destroyed.)
    {
        let committed = consumer
            .committed(Duration::from_secs(10))
            .expect("committed");
        assert_eq!(committed.count(), 6);
        for e in committed.elements() {
            assert_eq!(e.offset(), rdkafka::Offset::Offset(20), "{e:?}");
        }
    }
    leave(consumer);
}

/// Unsubscribes (serving the revocation in poll) before the consumer is
/// dropped: librdkafka's close otherwise waits for a poll that never comes.
/// Polls `consumer` until `count` records arrived, then commits its
/// position synchronously; the (partition, offset) of each record, in
/// arrival order.
fn consume_and_commit(consumer: &BaseConsumer, count: usize) -> Vec<(i32, i64)> {
    let mut got = Vec::with_capacity(count);
    wait_until(
        &format!("{count} records through the group"),
        Duration::from_secs(60),
        || {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                got.push((m.partition(), m.offset()));
            }
            (got.len() == count).then_some(())
        },
    );
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");
    got
}

fn assert_no_duplicates(records: &[(i32, i64)]) {
    let distinct: BTreeSet<&(i32, i64)> = records.iter().collect();
    assert_eq!(distinct.len(), records.len(), "duplicates in {records:?}");
}

fn leave(consumer: BaseConsumer) {
    consumer.unsubscribe();
    for _ in 0..10 {
        let _ = consumer.poll(Duration::from_millis(50));
    }
    drop(consumer);
}

/// Runs `sluice consumer-groups ARGS`; (success, stdout, stderr).
fn consumer_groups_tool(args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.arg("consumer-groups").args(args);
    let out = run_with_timeout(cmd, None, Duration::from_secs(60));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The describe table's rows as whitespace-separated columns, header dropped.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|l| !l.starts_with("GROUP"))
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn the_consumer_groups_tool_lists_describes_resets_and_deletes() {
    let (broker, chroot) = start_broker("groups-tool");
    let b = broker.bootstrap();
    produce(&b, "lagging", 10, 6, "a");
    let consumer: BaseConsumer = consumer_config(&b, "laggards")
        .set("session.timeout.ms", "6000")
        .set("client.id", "lag-client")
        .create()
        .expect("consumer");
    consumer.subscribe(&["lagging"]).expect("subscribe");
    consume_and_commit(&consumer, 60);
    produce(&b, "lagging", 5, 6, "b");

    let (ok, listed, err) = consumer_groups_tool(&["--bootstrap-server", &b, "--list"]);
    assert!(ok, "{err}");
    assert_eq!(listed, "laggards\n");

    // Keep the member alive (heartbeats ride on poll) while describing.
    let _ = consumer.poll(Duration::from_millis(100));
    let (ok, described, err) = consumer_groups_tool(&[
        "--bootstrap-server",
        &b,
        "--describe",
        "--group",
        "laggards",
    ]);
    assert!(ok, "{err}");
    let header = described
        .lines()
        .find(|l| l.starts_with("GROUP"))
        .unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ],
        "{described}"
    );
    let rows = table_rows(&described);
    assert_eq!(rows.len(), 6, "{described}");
    for (p, row) in rows.iter().enumerate() {
        assert_eq!(
            row[..6],
            ["laggards", "lagging", &p.to_string(), "10", "15", "5"],
            "{described}"
        );
        assert!(row[6].starts_with("lag-client-"), "{described}");
        assert_eq!(row[7], "/127.0.0.1", "{described}");
        assert_eq!(row[8], "lag-client", "{described}");
    }

    // An active group cannot be reset or deleted.
    let (ok, _, err) = consumer_groups_tool(&[
        "--bootstrap-server",
        &b,
        "--reset-offsets",
        "--group",
        "laggards",
        "--topic",
        "lagging",
        "--to-earliest",
        "--execute",
    ]);
    assert!(!ok && err.contains("inactive"), "{err}");

    leave(consumer);
    wait_until("the group is empty", Duration::from_secs(30), || {
        let (_, text, _) = consumer_groups_tool(&[
            "--bootstrap-server",
            &b,
            "--describe",
            "--group",
            "laggards",
        ]);
        text.contains("Consumer group 'laggards' has no active members.")
            .then_some(text)
    });
    let (ok, reset, err) = consumer_groups_tool(&[
        "--bootstrap-server",
        &b,
        "--reset-offsets",
        "--group",
        "laggards",
        "--topic",
        "lagging",
        "--to-offset",
        "3",
        "--execute",
    ]);
    assert!(ok, "{err}");
    assert_eq!(table_rows(&reset).len(), 6, "{reset}");
    for p in 0..6 {
        assert_eq!(
            committed_in_zk(&chroot, "laggards", "lagging", p).as_deref(),
            Some("3")
        );
    }
    let (ok, deleted, err) =
        consumer_groups_tool(&["--bootstrap-server", &b, "--delete", "--group", "laggards"]);
    assert!(ok, "{err}");
    assert_eq!(
        deleted.trim(),
        "Deletion of requested consumer groups ('laggards') was successful."
    );
    assert_eq!(committed_in_zk(&chroot, "laggards", "lagging", 0), None);
    let (_, listed, _) = consumer_groups_tool(&["--bootstrap-server", &b, "--list"]);
    assert_eq!(listed, "");
}

/// A kafka-python consumer in its own process, printing its assignment.
const VICTIM: &str = r#"
import json, sys, time
from kafka import KafkaConsumer
c = KafkaConsumer('expiry', bootstrap_servers=sys.argv[1], group_id='expiry-group',
                  client_id='victim', session_timeout_ms=6000, heartbeat_interval_ms=500)
last = None
while True:
    c.poll(timeout_ms=200)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        print(json.dumps(now), flush=True)
        last = now
"#;

#[test]
fn a_killed_consumer_loses_its_partitions_after_the_session_timeout() {
    let (broker, _chroot) = start_broker("groups-expiry");
    let b = broker.bootstrap();
    produce(&b, "expiry", 1, 6, "e");

    let survivor: BaseConsumer = consumer_config(&b, "expiry-group")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    survivor.subscribe(&["expiry"]).expect("subscribe");
    wait_until("the survivor owns all six", Duration::from_secs(60), || {
        let _ = survivor.poll(Duration::from_millis(100));
        (survivor.assignment().ok()?.count() == 6).then_some(())
    });

    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(VICTIM).arg(&b).stdout(Stdio::piped());
    let mut victim = spawn_tied(cmd).expect("start the victim");
    let (tx, rx) = mpsc::channel();
    let stdout = victim.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut victim_has = String::new();
    wait_until("a 3-3 split", Duration::from_secs(60), || {
        let _ = survivor.poll(Duration::from_millis(100));
        while let Ok(line) = rx.try_recv() {
            victim_has = line;
        }
        let mine = survivor.assignment().ok()?.count();
        let theirs: Vec<i32> = serde_json::from_str(&victim_has).ok()?;
        (mine == 3 && theirs.len() == 3).then_some(())
    });

    // SIGKILL: no LeaveGroup. The survivor gets everything back only once the
    // victim's 6 s session has expired.
    victim.kill().expect("kill the victim");
    let _ = victim.wait();
    let killed_at = Instant::now();
    wait_until(
        "the survivor owns all six again",
        Duration::from_secs(60),
        || {
            let _ = survivor.poll(Duration::from_millis(100));
            (survivor.assignment().ok()?.count() == 6).then_some(())
        },
    );
    let took = killed_at.elapsed();
    leave(survivor);
    assert!(
        took >= Duration::from_secs(4),
        "partitions moved after {took:?}, before the session timeout"
    );
    assert!(
        took <= Duration::from_secs(30),
        "partitions moved only after {took:?}"
    );
}

/// A confluent-kafka static member (group.instance.id 'a') printing its assignment.
const STATIC_MEMBER: &str = r#"
import json, sys
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'static', 'group.instance.id': 'a',
              'session.timeout.ms': 15000, 'heartbeat.interval.ms': 500,
              'broker.address.family': 'v4', 'auto.offset.reset': 'earliest'})
c.subscribe(['static'])
last = None
while True:
    c.poll(0.2)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        print(json.dumps(now), flush=True)
        last = now
"#;

/// Starts the static member; its assignment updates arrive on the receiver.
fn spawn_static_member(bootstrap: &str) -> (std::process::Child, mpsc::Receiver<Vec<i32>>) {
    let mut cmd = Command::new(python());
    cmd.arg("-c")
        .arg(STATIC_MEMBER)
        .arg(bootstrap)
        .stdout(Stdio::piped());
    let mut child = spawn_tied(cmd).expect("start the static member");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(assigned) = serde_json::from_str::<Vec<i32>>(&line) {
                let _ = tx.send(assigned);
            }
        }
    });
    (child, rx)
}

fn join_phases(broker: &Broker, group: &str) -> usize {
    let needle = format!("rebalance: join phase complete group={group} ");
    broker.log_text().matches(&needle).count()
}

#[test]
fn a_static_member_restarting_within_the_session_timeout_gets_its_partitions_back_without_a_rebalance()
 {
    let (broker, _chroot) = start_broker("groups-static");
    let b = broker.bootstrap();
    produce(&b, "static", 1, 6, "s");
    let other: BaseConsumer = consumer_config(&b, "static")
        .set("group.instance.id", "b")
        .set("session.timeout.ms", "15000")
        .create()
        .expect("consumer");
    other.subscribe(&["static"]).expect("subscribe");

    let (mut first, updates) = spawn_static_member(&b);
    let mut first_has = Vec::new();
    let other_has = wait_until("a 3-3 split", Duration::from_secs(60), || {
        let _ = other.poll(Duration::from_millis(100));
        while let Ok(a) = updates.try_recv() {
            first_has = a;
        }
        let mine: Vec<i32> = other
            .assignment()
            .ok()?
            .elements()
            .iter()
            .map(|e| e.partition())
            .collect();
        (mine.len() == 3 && first_has.len() == 3).then_some(mine)
    });
    let phases_before = join_phases(&broker, "static");

    // SIGKILL, then the same group.instance.id comes back at once.
    first.kill().expect("kill");
    let _ = first.wait();
    let (mut second, updates) = spawn_static_member(&b);
    let second_has = wait_until(
        "the restarted member's assignment",
        Duration::from_secs(60),
        || {
            let _ = other.poll(Duration::from_millis(100));
            updates.try_iter().filter(|a| !a.is_empty()).last()
        },
    );
    assert_eq!(second_has, first_has, "the same partitions come back");
    for _ in 0..10 {
        let _ = other.poll(Duration::from_millis(100));
    }
    let still: Vec<i32> = other
        .assignment()
        .expect("assignment")
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect();
    assert_eq!(still, other_has, "the other member kept its partitions");
    assert_eq!(
        join_phases(&broker, "static"),
        phases_before,
        "no rebalance happened"
    );
    second.kill().expect("kill");
    let _ = second.wait();
    leave(other);
}

const CREATE_PINNED_TOPIC: &str = r#"
from kafka.admin import KafkaAdminClient, NewTopic
admin = KafkaAdminClient(bootstrap_servers=B)
topic = NewTopic('moving', -1, -1, replica_assignments={0: [1], 1: [2], 2: [1], 3: [2]})
errors = [e[1] for e in admin.create_topics([topic]).topic_errors]
admin.close()
print(json.dumps(errors))
"#;

/// The group's coordinator is SIGKILLed; the group moves to another broker
/// and goes on from the offsets committed in ZooKeeper. The topic lives on
/// the surviving brokers only, so this needs no replication.
#[test]
fn a_group_moves_when_its_coordinator_is_killed_and_resumes_from_committed_offsets() {
    // Coordinated by broker 3 of [1, 2, 3] and by broker 2 of [1, 2]
    // (rendezvous choice).
    let group = &(0..1000)
        .map(|i| format!("moving-group-{i}"))
        .find(|g| {
            coordinator_for(g, &ids(&[1, 2, 3])) == Some(BrokerId(3))
                && coordinator_for(g, &ids(&[1, 2])) == Some(BrokerId(2))
        })
        .expect("a group moving from broker 3 to broker 2");
    let mut cluster = TestCluster::start_with("groups-failover", 3, |s| {
        s.set("group.min.session.timeout.ms", 1000)
    });
    let b = cluster.bootstrap();
    let created = python_json("create a topic on brokers 1 and 2", CREATE_PINNED_TOPIC, &b);
    assert_eq!(created, serde_json::json!([0]));
    wait_until("the topic has leaders", Duration::from_secs(30), || {
        let probe = base_consumer(&b, "metadata-probe");
        let md = probe
            .fetch_metadata(Some("moving"), Duration::from_secs(5))
            .ok()?;
        let t = &md.topics()[0];
        (t.partitions().len() == 4 && t.partitions().iter().all(|p| p.leader() >= 1)).then_some(())
    });
    produce(&b, "moving", 10, 4, "before");

    let consumer: BaseConsumer = consumer_config(&b, group)
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&["moving"]).expect("subscribe");
    assert_no_duplicates(&consume_and_commit(&consumer, 40));
    for p in 0..4 {
        assert_eq!(
            committed_in_zk(&cluster.chroot, group, "moving", p).as_deref(),
            Some("10")
        );
    }
    assert!(
        cluster
            .broker(3)
            .log_text()
            .contains(&format!("group is stable group={group}")),
        "broker 3 coordinated the group"
    );

    // The new coordinator loads the group's membership and the committed
    // offsets from ZooKeeper. Records fetched meanwhile may come again (at
    // least once), but nothing below the commits does.
    cluster.broker(3).kill();
    produce(&b, "moving", 5, 4, "after");
    let mut after: BTreeSet<(i32, i64)> = BTreeSet::new();
    wait_until(
        "the 20 new records consumed and committed through the new coordinator",
        Duration::from_secs(90),
        || {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                assert!(
                    m.offset() >= 10,
                    "re-read {}-{} below the committed offset",
                    m.partition(),
                    m.offset()
                );
                after.insert((m.partition(), m.offset()));
            }
            if after.len() < 20 {
                return None;
            }
            let _ = consumer.commit_consumer_state(CommitMode::Sync);
            (0..4)
                .all(|p| {
                    committed_in_zk(&cluster.chroot, group, "moving", p).as_deref() == Some("15")
                })
                .then_some(())
        },
    );
    let want: BTreeSet<(i32, i64)> = (0..4).flat_map(|p| (10..15).map(move |o| (p, o))).collect();
    assert_eq!(after, want);
    assert!(
        cluster
            .broker(2)
            .log_text()
            .contains(&format!("took over the group's coordination group={group}")),
        "broker 2 took the group over"
    );
    leave(consumer);
}

fn cooperative_member(bootstrap: &str) -> BaseConsumer {
    let consumer: BaseConsumer = consumer_config(bootstrap, "coop")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&["coop"]).expect("subscribe");
    consumer
}

fn assigned(consumer: &BaseConsumer) -> BTreeSet<i32> {
    consumer
        .assignment()
        .map(|l| l.elements().iter().map(|e| e.partition()).collect())
        .unwrap_or_default()
}

/// librdkafka's cooperative-sticky assignor over the classic protocol: a
/// member joining or leaving moves only the partitions that must move, and
/// the first member never gives up the partitions it keeps.
#[test]
fn cooperative_sticky_rebalances_move_only_the_partitions_that_must_move() {
    let (broker, _chroot) = start_broker("groups-coop");
    let b = broker.bootstrap();
    produce(&b, "coop", 1, 6, "c");
    let first = cooperative_member(&b);
    wait_until(
        "the first member owns all six",
        Duration::from_secs(60),
        || {
            let _ = first.poll(Duration::from_millis(100));
            (assigned(&first).len() == 6).then_some(())
        },
    );

    let second = cooperative_member(&b);
    let mut fewest = 6;
    let (kept, moved) = wait_until("a 3-3 split", Duration::from_secs(60), || {
        let _ = first.poll(Duration::from_millis(50));
        let _ = second.poll(Duration::from_millis(50));
        let (a, b) = (assigned(&first), assigned(&second));
        fewest = fewest.min(a.len());
        (a.len() == 3 && b.len() == 3 && a.is_disjoint(&b)).then_some((a, b))
    });
    assert_eq!(fewest, 3, "the first member only ever gave up what moved");

    second.unsubscribe();
    let mut fewest = 6;
    wait_until(
        "the first member owns all six again",
        Duration::from_secs(60),
        || {
            let _ = first.poll(Duration::from_millis(50));
            let _ = second.poll(Duration::from_millis(50));
            let a = assigned(&first);
            fewest = fewest.min(a.len());
            (a.len() == 6).then_some(())
        },
    );
    assert!(
        fewest >= kept.len(),
        "the first member kept {kept:?} throughout"
    );
    assert_eq!(moved.len(), 3);
    leave(second);
    leave(first);
}
