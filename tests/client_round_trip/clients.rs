//! Records and clients for the round-trip tests: what to produce, what a
//! consumer saw, and thin wrappers that make kcat, kafka-python,
//! confluent-kafka and rdkafka produce and read them the same way.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};

use crate::common::*;

/// How long a client may take to reach the end of what it reads.
const CONSUME_TIMEOUT: Duration = Duration::from_secs(45);

/// A record as a consumer saw it (or as it must be seen).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// What to produce: key, value, headers (UTF-8; `None` = null).
#[derive(Clone, Debug)]
pub struct Spec {
    pub key: Option<String>,
    pub value: Option<String>,
    pub headers: Vec<(String, Option<String>)>,
}

pub fn spec(key: Option<&str>, value: Option<&str>, headers: &[(&str, Option<&str>)]) -> Spec {
    Spec {
        key: key.map(str::to_owned),
        value: value.map(str::to_owned),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_owned)))
            .collect(),
    }
}

/// Keys, headers (empty, null, repeated), a null key, an empty key, a
/// tombstone (null value), an empty value, non-ASCII text.
pub fn tricky_records() -> Vec<Spec> {
    vec![
        spec(
            Some("k0"),
            Some("v0"),
            &[("h1", Some("x")), ("h2", Some(""))],
        ),
        spec(None, Some("no key"), &[]),
        spec(Some("k2"), None, &[]),
        spec(Some("k3"), Some(""), &[]),
        spec(
            Some(""),
            Some("empty key"),
            &[("dup", Some("1")), ("dup", Some("2")), ("nullh", None)],
        ),
        spec(
            Some("ключ"),
            Some("ünïcødé ✓ value"),
            &[("hdr-ü", Some("ü"))],
        ),
    ]
}

pub fn specs_json(specs: &[Spec]) -> Value {
    specs
        .iter()
        .map(|s| json!({"k": s.key, "v": s.value, "h": s.headers}))
        .collect()
}

/// The records `specs` must read back as, at offsets 0.. of partition 0.
pub fn expected(specs: &[Spec]) -> Vec<Rec> {
    let bytes = |s: &Option<String>| s.as_ref().map(|s| s.as_bytes().to_vec());
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| Rec {
            partition: 0,
            offset: i as i64,
            key: bytes(&s.key),
            value: bytes(&s.value),
            headers: s
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), bytes(v)))
                .collect(),
        })
        .collect()
}

/// Values that compress well: `count` records keyed k0.. in partition 0.
pub fn plain_records(tag: &str, count: usize) -> Vec<Spec> {
    (0..count)
        .map(|i| {
            let value = format!(
                "{tag} record {i} {}",
                "lorem ipsum dolor sit amet ".repeat(20)
            );
            spec(Some(&format!("k{i}")), Some(&value), &[])
        })
        .collect()
}

pub fn json_bytes(v: &Value) -> Option<Vec<u8>> {
    v.as_str().map(|s| s.as_bytes().to_vec())
}

/// Records as the Python scripts print them: {"p","o","k","v","h"}.
pub fn recs_from_python(v: &Value) -> Vec<Rec> {
    let list = v.as_array().unwrap_or_else(|| panic!("not a list: {v}"));
    list.iter()
        .map(|r| Rec {
            partition: r["p"].as_i64().unwrap() as i32,
            offset: r["o"].as_i64().unwrap(),
            key: json_bytes(&r["k"]),
            value: json_bytes(&r["v"]),
            headers: r["h"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().to_owned(), json_bytes(&h[1])))
                .collect(),
        })
        .collect()
}

/// Runs a Python script (after [`PY_PRELUDE`]) with the bootstrap and a JSON
/// argument (passed in a file: it may be larger than a command line allows);
/// returns the JSON it prints last.
pub fn python_json(what: &str, script: &str, bootstrap: &str, arg: &Value) -> Value {
    let dir = temp_dir("round-trip-py-");
    let arg_path = dir.path().join("arg.json");
    std::fs::write(&arg_path, arg.to_string()).expect("write the script's argument");
    let code = format!("{PY_PRELUDE}\n{script}");
    let out = run_python(&code, &[bootstrap, &arg_path.display().to_string()]);
    let stdout = assert_success(&out, what);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{what}: bad JSON ({e}): {stdout}"))
}

/// Helpers for every script: `B` (bootstrap), `ARG` (the JSON argument),
/// consumers that read partitions from the beginning to their end.
pub const PY_PRELUDE: &str = r#"
import json, sys, time
B = sys.argv[1]
ARG = json.load(open(sys.argv[2]))
DEADLINE = time.monotonic() + 45

def in_time(what):
    if time.monotonic() > DEADLINE:
        raise SystemExit('timed out: ' + what)

def s(x):
    return None if x is None else x.decode()

def b(x):
    return None if x is None else x.encode()

def rec(p, o, k, v, hs):
    return {'p': p, 'o': o, 'k': s(k), 'v': s(v), 'h': [[hk, s(hv)] for hk, hv in (hs or [])]}

def ck_consume(topic, parts=1, conf=None):
    from confluent_kafka import Consumer, TopicPartition, KafkaError, OFFSET_BEGINNING
    c = Consumer(dict({'bootstrap.servers': B, 'group.id': 'round-trip', 'enable.auto.commit': False,
                       'auto.offset.reset': 'earliest', 'enable.partition.eof': True}, **(conf or {})))
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
    out, eof = [], set()
    while len(eof) < parts:
        in_time('confluent-kafka reading ' + topic)
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
                continue
            raise SystemExit('confluent-kafka reading %s: %s' % (topic, m.error()))
        out.append(rec(m.partition(), m.offset(), m.key(), m.value(), m.headers()))
    c.close()
    return out

def kp_consume(topic, parts=1):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=B, group_id=None, enable_auto_commit=False,
                      auto_offset_reset='earliest')
    tps = [TopicPartition(topic, p) for p in range(parts)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    end = c.end_offsets(tps)
    out = []
    while any(c.position(tp) < end[tp] for tp in tps):
        in_time('kafka-python reading ' + topic)
        for tp, msgs in c.poll(timeout_ms=200).items():
            out.extend(rec(tp.partition, m.offset, m.key, m.value, m.headers) for m in msgs)
    c.close()
    return out

def ck_produce(topic, records, conf=None):
    from confluent_kafka import Producer
    # Reports come per batch, not in send order: keep each at its index.
    done, errors = [None] * len(records), []
    def report(i, err, m):
        if err is not None:
            errors.append(str(err))
        else:
            done[i] = [m.partition(), m.offset()]
    p = Producer(dict({'bootstrap.servers': B}, **(conf or {})))
    for i, r in enumerate(records):
        p.produce(topic, key=b(r['k']), value=b(r['v']), headers=[(k, b(v)) for k, v in r['h']],
                  on_delivery=lambda err, m, i=i: report(i, err, m))
    if p.flush(30) != 0 or errors:
        raise SystemExit('confluent-kafka producing to %s: %s' % (topic, errors))
    return done

def kp_produce(topic, records, **conf):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=B, **conf)
    futures = [p.send(topic, key=b(r['k']), value=b(r['v']), headers=[(k, b(v)) for k, v in r['h']])
               for r in records]
    done = [[m.partition, m.offset] for m in (f.get(timeout=30) for f in futures)]
    if conf.get('acks') == 0:
        # kafka-python 2.3.3 queues an acks=0 request but only writes it to the
        # socket with the next request that expects a response: ask for one.
        import threading
        written = threading.Event()
        p._metadata.request_update().add_both(lambda _: written.set())
        p._sender.wakeup()
        if not written.wait(30):
            raise SystemExit('kafka-python: no metadata response after acks=0 sends')
    p.close()
    return done
"#;

/// kcat produces `records` in order to partition 0 of `topic`, one run per
/// record (kcat's headers and `-Z` apply to a whole run). Values and keys
/// must not contain a newline or a tab.
pub fn kcat_produce(bootstrap: &str, topic: &str, records: &[Spec]) {
    for r in records {
        let mut args = vec!["-b", bootstrap, "-t", topic, "-p", "0", "-P", "-K", "\\t"];
        let header_args: Vec<String> = r
            .headers
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect();
        for h in &header_args {
            args.extend(["-H", h]);
        }
        // -Z: an empty value is sent as null.
        if r.value.is_none() {
            args.push("-Z");
        }
        let line = match &r.key {
            Some(k) => format!("{k}\t{}\n", r.value.as_deref().unwrap_or("")),
            None => format!("{}\n", r.value.as_deref().unwrap_or("")),
        };
        assert_success(&kcat(&args, Some(line.as_bytes())), "kcat produce");
    }
}

/// kcat (-J) reads `topic`, all partitions, to the end.
pub fn kcat_consume(bootstrap: &str, topic: &str) -> Vec<Rec> {
    let out = kcat(
        &["-b", bootstrap, "-t", topic, "-C", "-e", "-q", "-J"],
        None,
    );
    let stdout = assert_success(&out, "kcat consume");
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let m: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let headers = m["headers"].as_array().cloned().unwrap_or_default();
            Rec {
                partition: m["partition"].as_i64().unwrap() as i32,
                offset: m["offset"].as_i64().unwrap(),
                key: json_bytes(&m["key"]),
                value: json_bytes(&m["payload"]),
                headers: headers
                    .chunks(2)
                    .map(|h| (h[0].as_str().unwrap().to_owned(), json_bytes(&h[1])))
                    .collect(),
            }
        })
        .collect()
}

/// rdkafka sends every record at once, then waits for all delivery reports;
/// returns (partition, offset) of each, in order.
pub fn rd_produce(producer: &FutureProducer, topic: &str, records: &[Spec]) -> Vec<(i32, i64)> {
    let futures: Vec<_> = records
        .iter()
        .map(|r| {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &r.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: v.as_deref(),
                });
            }
            let mut record = FutureRecord::<str, str>::to(topic).headers(headers);
            if let Some(k) = &r.key {
                record = record.key(k);
            }
            if let Some(v) = &r.value {
                record = record.payload(v);
            }
            producer
                .send_result(record)
                .unwrap_or_else(|(e, _)| panic!("rdkafka send to {topic}: {e}"))
        })
        .collect();
    block_on(async {
        let mut done = Vec::new();
        for f in futures {
            match f.await.expect("delivery report") {
                Ok(d) => done.push((d.partition, d.offset)),
                Err((e, _)) => panic!("rdkafka delivery to {topic}: {e}"),
            }
        }
        done
    })
}

/// rdkafka reads `partitions` of `topic` from `start` (with the consumer's
/// settings plus `settings`) until each reports its end.
pub fn rd_consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    start: Offset,
    settings: &[(&str, &str)],
) -> Vec<Rec> {
    let mut config = consumer_config(bootstrap, "round-trip");
    config.set("enable.partition.eof", "true");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().expect("create rdkafka consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, start).unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    rd_read_to_end(&consumer, topic, partitions)
}

pub fn rd_read_to_end(consumer: &BaseConsumer, topic: &str, partitions: i32) -> Vec<Rec> {
    let deadline = Instant::now() + CONSUME_TIMEOUT;
    let mut out = Vec::new();
    let mut ended = BTreeSet::new();
    while ended.len() < partitions as usize {
        assert!(
            Instant::now() < deadline,
            "rdkafka reading {topic}: timed out"
        );
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                ended.insert(p);
            }
            Some(Err(e)) => panic!("rdkafka reading {topic}: {e}"),
            Some(Ok(m)) => out.push(Rec {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
        }
    }
    out
}

/// Records of one partition, in the order they were read.
pub fn of_partition(recs: &[Rec], p: i32) -> Vec<Rec> {
    recs.iter().filter(|r| r.partition == p).cloned().collect()
}

pub fn offsets_0_to(n: usize) -> Vec<(i32, i64)> {
    (0..n as i64).map(|o| (0, o)).collect()
}

/// Delivery reports from Python: [[partition, offset], ...].
pub fn as_pairs(v: &Value) -> Vec<(i32, i64)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        // confluent-kafka reports no offset (None) for acks=0.
        .map(|d| (d[0].as_i64().unwrap() as i32, d[1].as_i64().unwrap_or(-1)))
        .collect()
}

pub fn start_broker(name: &str, overrides: &[(&str, &str)]) -> Broker {
    let mut spec = BrokerSpec::new(1, zk_connect(&unique_chroot(name)));
    for (k, v) in overrides {
        spec = spec.set(k, v);
    }
    Broker::start(spec)
}

/// `len` pseudo-random (incompressible) bytes.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// kcat produces `records` (keyed, no headers) in one run, with `-X`
/// `settings` (e.g. "acks=0").
pub fn kcat_produce_lines(bootstrap: &str, topic: &str, records: &[Spec], settings: &[&str]) {
    let input: String = records
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\n",
                r.key.as_deref().unwrap(),
                r.value.as_deref().unwrap()
            )
        })
        .collect();
    let mut args = vec!["-b", bootstrap, "-t", topic, "-p", "0", "-P", "-K", "\\t"];
    for setting in settings {
        args.extend(["-X", setting]);
    }
    assert_success(&kcat(&args, Some(input.as_bytes())), "kcat produce");
}
