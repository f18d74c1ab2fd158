//! Produce and consume from the client's side against one real broker, with
//! every standard client the tests ship: kcat, kafka-python, confluent-kafka
//! (Python) and the rdkafka crate. Records written by one client are read
//! back exactly (keys, headers, null and empty values, offsets, order) by the
//! others; a ~1 MB record travels intact and a larger one is refused; every
//! compression codec is stored as sent and readable by another client;
//! 100k records stay complete and in order; acks=0/1/all, multi-partition
//! topics (auto-created and created by an admin client) and idempotent
//! producers work; a long-poll fetch waits for data (and for min_bytes) and a
//! produce wakes it; an out-of-range fetch offset is reset by the client's
//! auto.offset.reset. The broker side of fetches is also checked with raw
//! Kafka protocol requests (stored compression codec, producer ids and
//! sequences, long-poll timing).

#[path = "client_round_trip/clients.rs"]
mod clients;
mod common;
#[path = "client_round_trip/raw.rs"]
mod raw;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use clients::*;
use common::*;
use raw::{Raw, fetched_values};
use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use serde_json::json;

/// OFFSET_OUT_OF_RANGE.
const OFFSET_OUT_OF_RANGE: i16 = 1;

/// Every batch of partition 0 of `topic` is compressed with `codec`.
fn check_codecs(raw: &mut Raw, topic: &str, codec: i16) {
    let batches = raw.all_batches(topic);
    assert!(!batches.is_empty(), "{topic}: no batches");
    for batch in batches {
        assert_eq!(
            batch.codec, codec,
            "{topic}: codec of the batch at {}",
            batch.base_offset
        );
    }
}

#[test]
fn keys_headers_tombstones_and_empty_values_round_trip_between_all_clients() {
    let broker = start_broker("rt-records", &[]);
    let b = broker.bootstrap();
    let specs = tricky_records();
    // kafka-python 2.3 refuses headers with a null value (it asserts bytes).
    let mut kp_specs = specs.clone();
    for s in &mut kp_specs {
        s.headers.retain(|(_, v)| v.is_some());
    }
    let producers = ["kcat", "kafka-python", "confluent-kafka", "rdkafka"];
    let topic = |producer: &str| format!("records-{producer}");
    let written = |t: &str| {
        if t == topic("kafka-python") {
            &kp_specs
        } else {
            &specs
        }
    };

    kcat_produce(&b, &topic("kcat"), &specs);
    let produced = python_json(
        "kafka-python and confluent-kafka produce",
        "print(json.dumps({'kafka-python': kp_produce(ARG['kp'], ARG['kp_records'], acks='all'),
                           'confluent-kafka': ck_produce(ARG['ck'], ARG['records'])}))",
        &b,
        &json!({"records": specs_json(&specs), "kp_records": specs_json(&kp_specs),
                "kp": topic("kafka-python"), "ck": topic("confluent-kafka")}),
    );
    let rd = rd_produce(&future_producer(&b), &topic("rdkafka"), &specs);
    for (client, offsets) in [
        ("kafka-python", as_pairs(&produced["kafka-python"])),
        ("confluent-kafka", as_pairs(&produced["confluent-kafka"])),
        ("rdkafka", rd),
    ] {
        assert_eq!(
            offsets,
            offsets_0_to(specs.len()),
            "{client}'s delivery reports"
        );
    }

    let topics: Vec<String> = producers.iter().map(|p| topic(p)).collect();
    let python = python_json(
        "kafka-python and confluent-kafka consume",
        "print(json.dumps({t: {'kafka-python': kp_consume(t), 'confluent-kafka': ck_consume(t)} for t in ARG}))",
        &b,
        &json!(topics),
    );
    for t in &topics {
        let reads = [
            ("kafka-python", recs_from_python(&python[t]["kafka-python"])),
            (
                "confluent-kafka",
                recs_from_python(&python[t]["confluent-kafka"]),
            ),
            ("kcat", kcat_consume(&b, t)),
            ("rdkafka", rd_consume(&b, t, 1, Offset::Beginning, &[])),
        ];
        for (reader, got) in reads {
            assert_eq!(got, expected(written(t)), "{reader} reading {t}");
        }
    }
}

#[test]
fn a_one_megabyte_record_round_trips_and_a_larger_one_is_refused() {
    const SIZE: usize = 1_000_000;
    let broker = start_broker("rt-large", &[]);
    let b = broker.bootstrap();
    let dir = temp_dir("round-trip-large-");
    let topic = "large";
    // One record from each producer, in this order (offsets 0..4).
    let producers = ["kcat", "kafka-python", "confluent-kafka", "rdkafka"];
    let values: Vec<Vec<u8>> = (0..4).map(|i| pattern(i + 1, SIZE)).collect();
    let files: Vec<String> = (0..4)
        .map(|i| {
            let path = dir.path().join(format!("in-{i}"));
            std::fs::write(&path, &values[i]).unwrap();
            path.display().to_string()
        })
        .collect();
    let too_big = dir.path().join("too-big");
    std::fs::write(&too_big, pattern(9, 1_100_000)).unwrap();

    let args = [
        "-b",
        &b,
        "-t",
        topic,
        "-p",
        "0",
        "-P",
        "-k",
        "kcat",
        "-X",
        "message.max.bytes=2000000",
        &files[0],
    ];
    assert_success(&kcat(&args, None), "kcat produce a 1 MB file");
    let produced = python_json(
        "kafka-python and confluent-kafka produce 1 MB records",
        r#"
from confluent_kafka import Producer
from kafka import KafkaProducer
from kafka.errors import MessageSizeTooLargeError
out = {}
p = KafkaProducer(bootstrap_servers=B, acks='all', max_request_size=3000000)
m = p.send(ARG['topic'], key=b'kafka-python', value=open(ARG['files'][1], 'rb').read()).get(timeout=30)
out['kafka-python'] = [m.partition, m.offset]
try:
    p.send(ARG['topic'], key=b'too big', value=open(ARG['too_big'], 'rb').read()).get(timeout=30)
    out['kafka-python too big'] = 'accepted'
except MessageSizeTooLargeError as e:
    out['kafka-python too big'] = 'MessageSizeTooLargeError'
p.close()
reports = []
c = Producer({'bootstrap.servers': B, 'message.max.bytes': 3000000})
report = lambda err, m: reports.append(err.name() if err else [m.partition(), m.offset()])
c.produce(ARG['topic'], key=b'confluent-kafka', value=open(ARG['files'][2], 'rb').read(), on_delivery=report)
c.flush(30)
c.produce(ARG['topic'], key=b'too big', value=open(ARG['too_big'], 'rb').read(), on_delivery=report)
c.flush(30)
out['confluent-kafka'], out['confluent-kafka too big'] = reports
print(json.dumps(out))
"#,
        &b,
        &json!({"topic": topic, "files": files, "too_big": too_big.display().to_string()}),
    );
    assert_eq!(as_pairs(&json!([produced["kafka-python"]])), vec![(0, 1)]);
    assert_eq!(
        as_pairs(&json!([produced["confluent-kafka"]])),
        vec![(0, 2)]
    );
    assert_eq!(produced["kafka-python too big"], "MessageSizeTooLargeError");
    assert_eq!(produced["confluent-kafka too big"], "MSG_SIZE_TOO_LARGE");
    let rd_producer = future_producer_with(&b, &[("message.max.bytes", "2000000")]);
    let record = FutureRecord::to(topic).key("rdkafka").payload(&values[3]);
    let delivery = block_on(rd_producer.send(record, Duration::from_secs(30)));
    let delivery = delivery.unwrap_or_else(|(e, _)| panic!("rdkafka 1 MB record: {e}"));
    assert_eq!((delivery.partition, delivery.offset), (0, 3));

    let want: Vec<Rec> = (0..4)
        .map(|i| Rec {
            partition: 0,
            offset: i as i64,
            key: Some(producers[i].as_bytes().to_vec()),
            value: Some(values[i].clone()),
            headers: vec![],
        })
        .collect();
    let got = rd_consume(&b, topic, 1, Offset::Beginning, &[]);
    assert!(
        got == want,
        "rdkafka read back other records than the 1 MB ones written"
    );
    // Python clients write what they read to files.
    let read = python_json(
        "kafka-python and confluent-kafka read 1 MB records",
        r#"
from confluent_kafka import Consumer, TopicPartition, KafkaError, OFFSET_BEGINNING
from kafka import KafkaConsumer, TopicPartition as KTP
out = {'kafka-python': [], 'confluent-kafka': []}
def keep(client, m_offset, key, value):
    open('%s/%s-%d' % (ARG['dir'], client, m_offset), 'wb').write(value)
    out[client].append([m_offset, s(key)])
k = KafkaConsumer(bootstrap_servers=B, group_id=None, enable_auto_commit=False, auto_offset_reset='earliest')
k.assign([KTP(ARG['topic'], 0)])
k.seek_to_beginning()
while len(out['kafka-python']) < 4:
    in_time('kafka-python reading')
    for msgs in k.poll(timeout_ms=200).values():
        for m in msgs:
            keep('kafka-python', m.offset, m.key, m.value)
c = Consumer({'bootstrap.servers': B, 'group.id': 'g', 'enable.partition.eof': True})
c.assign([TopicPartition(ARG['topic'], 0, OFFSET_BEGINNING)])
while True:
    in_time('confluent-kafka reading')
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            break
        raise SystemExit(str(m.error()))
    keep('confluent-kafka', m.offset(), m.key(), m.value())
print(json.dumps(out))
"#,
        &b,
        &json!({"topic": topic, "dir": dir.path().display().to_string()}),
    );
    for client in ["kafka-python", "confluent-kafka"] {
        let keys: Vec<(i64, String)> = (0..4)
            .map(|i| (i as i64, producers[i].to_owned()))
            .collect();
        let got: Vec<(i64, String)> = read[client]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_i64().unwrap(), r[1].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(got, keys, "{client} read offsets and keys");
        for (i, value) in values.iter().enumerate() {
            let file = dir.path().join(format!("{client}-{i}"));
            assert!(
                std::fs::read(&file).unwrap() == *value,
                "{client}: value at offset {i} differs"
            );
        }
    }
    for (i, value) in values.iter().enumerate() {
        let offset = i.to_string();
        let args = [
            "-b", &b, "-t", topic, "-p", "0", "-C", "-o", &offset, "-c", "1", "-q", "-f", "%s",
        ];
        let out = kcat(&args, None);
        assert_success(&out, "kcat read a 1 MB record");
        assert!(
            out.stdout == *value,
            "kcat: value at offset {i} differs ({} bytes)",
            out.stdout.len()
        );
    }
}

#[test]
fn every_compression_codec_is_stored_as_sent_and_read_by_other_clients() {
    let broker = start_broker("rt-codecs", &[]);
    let b = broker.bootstrap();
    let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    let records = |codec: &str| plain_records(codec, 30);
    let topic = |codec: &str, producer: &str| format!("codec-{codec}-{producer}");

    let mut python_jobs = Vec::new();
    for c in codecs {
        let codec_setting = format!("compression.codec={c}");
        kcat_produce_lines(
            &b,
            &topic(c, "kcat"),
            &records(c),
            &[&codec_setting, "linger.ms=50"],
        );
        let rd = future_producer_with(&b, &[("compression.codec", c), ("linger.ms", "50")]);
        assert_eq!(
            rd_produce(&rd, &topic(c, "rdkafka"), &records(c)),
            offsets_0_to(30)
        );
        python_jobs.push(json!({"codec": c, "records": specs_json(&records(c)),
            "ck": topic(c, "confluent-kafka"), "kp": topic(c, "kafka-python")}));
    }
    let produced = python_json(
        "confluent-kafka and kafka-python produce compressed",
        r#"
out = {}
for job in ARG:
    c = job['codec']
    out[job['ck']] = ck_produce(job['ck'], job['records'], {'compression.type': c, 'linger.ms': 50})
    # kafka-python has no snappy, lz4 or zstd library in the venv.
    if c in ('none', 'gzip'):
        out[job['kp']] = kp_produce(job['kp'], job['records'], linger_ms=50,
                                    compression_type=None if c == 'none' else c)
print(json.dumps(out))
"#,
        &b,
        &json!(python_jobs),
    );
    // confluent-kafka: 5 codecs; kafka-python: none and gzip.
    assert_eq!(produced.as_object().unwrap().len(), 7, "{produced}");
    for (t, offsets) in produced.as_object().unwrap() {
        assert_eq!(
            as_pairs(offsets),
            offsets_0_to(30),
            "delivery reports for {t}"
        );
    }

    let mut raw = Raw::connect(&broker);
    let mut to_read = Vec::new();
    for (id, codec) in codecs.iter().enumerate() {
        let mut producers = vec!["kcat", "rdkafka", "confluent-kafka"];
        if id <= 1 {
            producers.push("kafka-python");
        }
        for producer in producers {
            let t = topic(codec, producer);
            check_codecs(&mut raw, &t, id as i16);
            assert_eq!(
                rd_consume(&b, &t, 1, Offset::Beginning, &[]),
                expected(&records(codec)),
                "rdkafka reading {t}"
            );
            if producer != "kcat" {
                assert_eq!(
                    kcat_consume(&b, &t),
                    expected(&records(codec)),
                    "kcat reading {t}"
                );
            }
            to_read.push(
                json!({"topic": t, "kp": id <= 1 && producer != "kafka-python",
                "ck": producer != "confluent-kafka"}),
            );
        }
    }
    let python = python_json(
        "confluent-kafka and kafka-python read compressed",
        r#"
out = {}
for job in ARG:
    t = job['topic']
    if job['ck']:
        out[t + ' confluent-kafka'] = ck_consume(t)
    if job['kp']:
        out[t + ' kafka-python'] = kp_consume(t)
print(json.dumps(out))
"#,
        &b,
        &json!(to_read),
    );
    let reads = python.as_object().unwrap();
    // confluent-kafka: 2 other producers x 5 codecs + kafka-python's 2;
    // kafka-python: 3 other producers x 2 codecs.
    assert_eq!(reads.len(), 18, "Python reads: {:?}", reads.keys());
    for (what, got) in reads {
        let codec = what.split('-').nth(1).unwrap();
        assert_eq!(recs_from_python(got), expected(&records(codec)), "{what}");
    }
}

#[test]
fn a_hundred_thousand_records_stay_complete_and_in_order_on_one_partition() {
    const COUNT: usize = 100_000;
    let broker = start_broker("rt-many", &[]);
    let b = broker.bootstrap();
    let topic = "many";
    let producer = future_producer_with(
        &b,
        &[
            ("enable.idempotence", "true"),
            ("linger.ms", "20"),
            ("queue.buffering.max.messages", "1000000"),
        ],
    );
    let values: Vec<String> = (0..COUNT).map(|i| format!("{i:06}")).collect();
    let futures: Vec<_> = values
        .iter()
        .map(|v| {
            let record = FutureRecord::<(), str>::to(topic).partition(0).payload(v);
            producer
                .send_result(record)
                .unwrap_or_else(|(e, _)| panic!("send: {e}"))
        })
        .collect();
    let deliveries: Vec<(i32, i64)> = block_on(async {
        let mut out = Vec::with_capacity(COUNT);
        for f in futures {
            let d = f
                .await
                .expect("delivery report")
                .unwrap_or_else(|(e, _)| panic!("{e}"));
            out.push((d.partition, d.offset));
        }
        out
    });
    assert!(
        deliveries == offsets_0_to(COUNT),
        "delivery offsets are not 0..{COUNT} in order"
    );

    let args = [
        "-b",
        &b,
        "-t",
        topic,
        "-p",
        "0",
        "-C",
        "-e",
        "-q",
        "-o",
        "beginning",
        "-f",
        "%o %s\n",
    ];
    let out = kcat(&args, None);
    let text = assert_success(&out, "kcat read 100k records");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), COUNT, "records read back");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("{i} {i:06}"), "record {i}");
    }
}

#[test]
fn acks_zero_one_and_all_each_produce() {
    let broker = start_broker("rt-acks", &[]);
    let b = broker.bootstrap();
    let records = plain_records("acks", 20);
    let acks = ["0", "1", "all"];
    let topic = |client: &str, a: &str| format!("acks-{a}-{client}");

    for a in acks {
        kcat_produce_lines(&b, &topic("kcat", a), &records, &[&format!("acks={a}")]);
    }
    let produced = python_json(
        "confluent-kafka and kafka-python produce with acks 0, 1, all",
        r#"
out = {}
for a in ('0', '1', 'all'):
    out['acks-%s-confluent-kafka' % a] = ck_produce('acks-%s-confluent-kafka' % a, ARG, {'acks': a})
    out['acks-%s-kafka-python' % a] = kp_produce('acks-%s-kafka-python' % a, ARG, acks=a if a == 'all' else int(a))
print(json.dumps(out))
"#,
        &b,
        &specs_json(&records),
    );
    for a in acks {
        for client in ["confluent-kafka", "kafka-python"] {
            let t = topic(client, a);
            let delivered = as_pairs(&produced[&t]);
            assert_eq!(delivered.len(), 20, "{t}: delivery reports");
            // With acks=0 the broker answers nothing, so no offsets are known.
            if a == "0" {
                assert!(delivered.iter().all(|(p, _)| *p == 0), "{t}: {delivered:?}");
            } else {
                assert_eq!(delivered, offsets_0_to(20), "{t}: delivery reports");
            }
        }
    }

    let watcher = base_consumer(&b, "acks-watcher");
    for a in acks {
        for client in ["kcat", "confluent-kafka", "kafka-python"] {
            let t = topic(client, a);
            // acks=0 producers may exit before the broker appended.
            wait_until(
                &format!("{t} to hold 20 records"),
                Duration::from_secs(30),
                || {
                    let (_, high) = watcher
                        .fetch_watermarks(&t, 0, Duration::from_secs(5))
                        .ok()?;
                    (high == 20).then_some(())
                },
            );
            let got = rd_consume(&b, &t, 1, Offset::Beginning, &[]);
            assert_eq!(got, expected(&records), "rdkafka reading {t}");
        }
    }
}

#[test]
fn keyed_records_spread_over_every_partition_and_are_all_consumed() {
    let broker = start_broker("rt-partitions", &[("num.partitions", "4")]);
    let b = broker.bootstrap();
    // Each key several times, so "same key, same partition" can be checked.
    let records = |n: usize| -> Vec<Spec> {
        (0..n)
            .map(|i| {
                spec(
                    Some(&format!("user-{}", i % 50)),
                    Some(&format!("event {i}")),
                    &[],
                )
            })
            .collect()
    };
    let produced = python_json(
        "kafka-python creates topics; kafka-python and confluent-kafka produce keyed records",
        r#"
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
out = {}
p = KafkaProducer(bootstrap_servers=B, acks='all')
futures = [p.send('spread-auto', key=b(r['k']), value=b(r['v'])) for r in ARG['auto']]
out['spread-auto'] = [[m.partition, m.offset] for m in (f.get(timeout=30) for f in futures)]
out['auto partitions'] = sorted(p.partitions_for('spread-auto'))
p.close()
admin = KafkaAdminClient(bootstrap_servers=B)
errors = [e[1] for e in admin.create_topics([NewTopic('spread-admin', 6, 1)]).topic_errors]
if errors != [0]:
    raise SystemExit('create_topics: %s' % errors)
admin.close()
out['spread-admin'] = ck_produce('spread-admin', ARG['admin'])
print(json.dumps(out))
"#,
        &b,
        &json!({"auto": specs_json(&records(200)), "admin": specs_json(&records(300))}),
    );
    assert_eq!(produced["auto partitions"], json!([0, 1, 2, 3]));

    let metadata_client = base_consumer(&b, "partitions-watcher");
    for (topic, partitions, specs) in [
        ("spread-auto", 4, records(200)),
        ("spread-admin", 6, records(300)),
    ] {
        let metadata = metadata_client
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        assert_eq!(
            metadata.topics()[0].partitions().len(),
            partitions,
            "{topic}"
        );
        let delivered = as_pairs(&produced[topic]);
        assert_eq!(delivered.len(), specs.len());
        // What must be in each partition: the records sent to it, in order,
        // at offsets 0.., and every key in one partition only.
        let mut want: BTreeMap<i32, Vec<Rec>> = BTreeMap::new();
        let mut key_partition: BTreeMap<String, i32> = BTreeMap::new();
        for ((p, o), s) in delivered.iter().zip(&specs) {
            let key = s.key.clone().unwrap();
            assert_eq!(
                *key_partition.entry(key.clone()).or_insert(*p),
                *p,
                "{topic}: key {key}"
            );
            let in_partition = want.entry(*p).or_default();
            assert_eq!(
                *o,
                in_partition.len() as i64,
                "{topic}: offsets in partition {p}"
            );
            in_partition.push(Rec {
                partition: *p,
                offset: *o,
                ..expected(std::slice::from_ref(s)).remove(0)
            });
        }
        assert_eq!(
            want.keys().copied().collect::<Vec<_>>(),
            (0..partitions as i32).collect::<Vec<_>>(),
            "{topic}: partitions that got records"
        );
        for (reader, got) in [
            ("kcat", kcat_consume(&b, topic)),
            (
                "rdkafka",
                rd_consume(&b, topic, partitions as i32, Offset::Beginning, &[]),
            ),
        ] {
            assert_eq!(got.len(), specs.len(), "{reader} reading {topic}: records");
            for (p, records) in &want {
                assert_eq!(
                    of_partition(&got, *p),
                    *records,
                    "{reader}: {topic} partition {p}"
                );
            }
        }
    }
}

#[test]
fn idempotent_producers_write_each_record_once_with_their_sequence_numbers() {
    let broker = start_broker("rt-idempotent", &[]);
    let b = broker.bootstrap();
    let records = plain_records("idempotent", 100);
    let produced = python_json(
        "kafka-python and confluent-kafka produce idempotently",
        r#"
from kafka import KafkaProducer
out = {}
p = KafkaProducer(bootstrap_servers=B, enable_idempotence=True, linger_ms=20)
futures = [p.send('idem-kafka-python', key=b(r['k']), value=b(r['v'])) for r in ARG]
out['idem-kafka-python'] = [[m.partition, m.offset] for m in (f.get(timeout=30) for f in futures)]
out['kafka-python producer id'] = p._transaction_manager.producer_id_and_epoch.producer_id
p.close()
out['idem-confluent-kafka'] = ck_produce('idem-confluent-kafka', ARG,
                                         {'enable.idempotence': True, 'linger.ms': 20})
print(json.dumps(out))
"#,
        &b,
        &specs_json(&records),
    );
    let rd = future_producer_with(&b, &[("enable.idempotence", "true"), ("linger.ms", "20")]);
    let rd_offsets = rd_produce(&rd, "idem-rdkafka", &records);
    assert_eq!(rd_offsets, offsets_0_to(100), "rdkafka delivery reports");
    for t in ["idem-kafka-python", "idem-confluent-kafka"] {
        assert_eq!(
            as_pairs(&produced[t]),
            offsets_0_to(100),
            "{t}: delivery reports"
        );
    }

    let mut raw = Raw::connect(&broker);
    let mut producer_ids = BTreeSet::new();
    for t in ["idem-kafka-python", "idem-confluent-kafka", "idem-rdkafka"] {
        let batches = raw.all_batches(t);
        let pid = batches[0].producer_id;
        assert!(pid >= 0, "{t}: batches carry no producer id: {batches:?}");
        producer_ids.insert(pid);
        let mut next = 0;
        for batch in &batches {
            assert_eq!(batch.producer_id, pid, "{t}: one producer id");
            assert!(batch.producer_epoch >= 0, "{t}: {batch:?}");
            // One producer from sequence 0: sequence = offset.
            assert_eq!(batch.base_offset, next, "{t}: {batch:?}");
            assert_eq!(batch.base_sequence as i64, next, "{t}: {batch:?}");
            next += batch.count as i64;
        }
        assert_eq!(next, 100, "{t}: records stored");
        if t == "idem-kafka-python" {
            assert_eq!(produced["kafka-python producer id"], json!(pid));
        }
        assert_eq!(
            rd_consume(&b, t, 1, Offset::Beginning, &[]),
            expected(&records),
            "rdkafka reading {t}"
        );
    }
    assert_eq!(
        producer_ids.len(),
        3,
        "distinct producer ids: {producer_ids:?}"
    );
}

#[test]
fn a_long_poll_fetch_waits_for_data_and_min_bytes_and_a_produce_wakes_it() {
    let broker = start_broker("rt-long-poll", &[]);
    let b = broker.bootstrap();
    let topic = "long-poll";
    let producer = future_producer(&b);
    let produce = |value: &[u8]| -> i64 {
        let record = FutureRecord::<(), [u8]>::to(topic).payload(value);
        let delivery = block_on(producer.send(record, Duration::from_secs(30)));
        delivery
            .unwrap_or_else(|(e, _)| panic!("produce: {e}"))
            .offset
    };
    assert_eq!(produce(b"first"), 0);
    let mut raw = Raw::connect(&broker);

    // Nothing past the end: the broker answers, empty, once max_wait_ms passed.
    let start = Instant::now();
    let data = raw.fetch(topic, 1, 500, 1);
    let waited = start.elapsed();
    assert_eq!((data.error_code, data.high_watermark), (0, 1), "{data:?}");
    assert!(fetched_values(&data).is_empty(), "{data:?}");
    assert!(
        waited >= Duration::from_millis(490),
        "answered after {waited:?}, before max_wait_ms"
    );

    // A fetch waiting up to 20 s gets the next record as soon as it is produced.
    let id = raw.send_fetch(topic, 1, 20_000, 1);
    raw.wait_until_broker_read_request();
    assert!(
        !raw.response_arrived(),
        "the fetch was answered before any produce"
    );
    let produced_at = Instant::now();
    assert_eq!(produce(b"second"), 1);
    let data = raw.receive_fetch(id);
    let woke_after = produced_at.elapsed();
    assert_eq!(
        fetched_values(&data),
        vec![(1, b"second".to_vec())],
        "{data:?}"
    );
    assert!(
        woke_after < Duration::from_secs(10),
        "answered {woke_after:?} after the produce"
    );

    // min_bytes: a small record does not answer a fetch that wants 4 KiB; a
    // record that makes up the 4 KiB does, with both.
    let id = raw.send_fetch(topic, 2, 20_000, 4096);
    raw.wait_until_broker_read_request();
    assert_eq!(produce(b"small"), 2);
    assert!(
        !raw.response_arrived(),
        "answered with fewer than min_bytes"
    );
    let big = vec![b'x'; 5000];
    let produced_at = Instant::now();
    assert_eq!(produce(&big), 3);
    let data = raw.receive_fetch(id);
    let woke_after = produced_at.elapsed();
    assert_eq!(
        fetched_values(&data),
        vec![(2, b"small".to_vec()), (3, big.clone())],
        "a fetch with min_bytes 4096"
    );
    assert!(
        woke_after < Duration::from_secs(10),
        "answered {woke_after:?} after the produce"
    );

    // Fewer than min_bytes available: what there is, after max_wait_ms.
    let start = Instant::now();
    let data = raw.fetch(topic, 0, 1000, 1 << 20);
    let waited = start.elapsed();
    assert_eq!(fetched_values(&data).len(), 4, "{data:?}");
    assert!(
        waited >= Duration::from_millis(990),
        "answered after {waited:?}, before max_wait_ms"
    );
}

#[test]
fn an_out_of_range_fetch_offset_is_reset_by_auto_offset_reset() {
    let broker = start_broker("rt-out-of-range", &[]);
    let b = broker.bootstrap();
    let topic = "out-of-range";
    let records = plain_records("reset", 10);
    assert_eq!(
        rd_produce(&future_producer(&b), topic, &records),
        offsets_0_to(10)
    );

    let mut raw = Raw::connect(&broker);
    let data = raw.fetch(topic, 1000, 0, 1);
    assert_eq!(data.error_code, OFFSET_OUT_OF_RANGE, "{data:?}");
    assert_eq!(data.high_watermark, 10, "{data:?}");

    // earliest: back to offset 0.
    let got = rd_consume(
        &b,
        topic,
        1,
        Offset::Offset(1000),
        &[("auto.offset.reset", "earliest")],
    );
    assert_eq!(
        got,
        expected(&records),
        "rdkafka from offset 1000 with earliest"
    );
    let python = python_json(
        "confluent-kafka and kafka-python read from offset 1000",
        r#"
from confluent_kafka import Consumer, TopicPartition, KafkaError
from kafka import KafkaConsumer, TopicPartition as KTP
from kafka.errors import OffsetOutOfRangeError
out = {}
def ck(reset):
    c = Consumer({'bootstrap.servers': B, 'group.id': 'g', 'enable.auto.commit': False,
                  'auto.offset.reset': reset, 'enable.partition.eof': True})
    c.assign([TopicPartition(ARG, 0, 1000)])
    got = []
    while True:
        in_time('confluent-kafka ' + reset)
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                break
            got.append(m.error().name())
            break
        got.append(rec(m.partition(), m.offset(), m.key(), m.value(), m.headers()))
    c.close()
    return got
out['confluent-kafka earliest'] = ck('earliest')
out['confluent-kafka error'] = ck('error')
def kp(reset):
    c = KafkaConsumer(bootstrap_servers=B, group_id=None, enable_auto_commit=False, auto_offset_reset=reset)
    tp = KTP(ARG, 0)
    c.assign([tp])
    c.seek(tp, 1000)
    got = []
    try:
        while len(got) < 10:
            in_time('kafka-python ' + reset)
            for msgs in c.poll(timeout_ms=200).values():
                got.extend(rec(0, m.offset, m.key, m.value, m.headers) for m in msgs)
    except OffsetOutOfRangeError:
        got.append('OffsetOutOfRangeError')
    c.close()
    return got
out['kafka-python earliest'] = kp('earliest')
out['kafka-python none'] = kp('none')
print(json.dumps(out))
"#,
        &b,
        &json!(topic),
    );
    for client in ["confluent-kafka", "kafka-python"] {
        let got = recs_from_python(&python[&format!("{client} earliest")]);
        assert_eq!(
            got,
            expected(&records),
            "{client} from offset 1000 with earliest"
        );
    }
    assert_eq!(
        python["confluent-kafka error"],
        json!(["_AUTO_OFFSET_RESET"])
    );
    assert_eq!(
        python["kafka-python none"],
        json!(["OffsetOutOfRangeError"])
    );

    // latest: to the end; only records produced afterwards are read.
    let consumer: BaseConsumer = consumer_config(&b, "latest")
        .set("auto.offset.reset", "latest")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(1000))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    assert_eq!(
        rd_read_to_end(&consumer, topic, 1),
        vec![],
        "after a reset to latest"
    );
    let later = plain_records("later", 3);
    let offsets = rd_produce(&future_producer(&b), topic, &later);
    assert_eq!(offsets, vec![(0, 10), (0, 11), (0, 12)]);
    let got = rd_read_to_end(&consumer, topic, 1);
    let want: Vec<Rec> = expected(&later)
        .into_iter()
        .map(|r| Rec {
            offset: r.offset + 10,
            ..r
        })
        .collect();
    assert_eq!(got, want, "read after a reset to latest");
}
