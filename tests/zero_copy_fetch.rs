//! Zero-copy Fetch (issue 14), from outside: a real broker serves 1 KiB and
//! small records from many small segments to raw Fetch requests (v4, v11,
//! v12: both length encodings of the records field) and to librdkafka,
//! with byte limits that force partial responses; every record comes back
//! at its offset with its content, and `sluice_fetch_zero_copy_bytes_total`
//! shows the records went out by sendfile(2). Then segments are deleted
//! (DeleteRecords and retention) while consumers fetch: the broker stays up
//! and the consumers keep reading what is left.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use kafka_protocol::messages::{ApiKey, FetchResponse, ListOffsetsResponse};
use kafka_protocol::records::RecordBatchDecoder;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

const NONE: i16 = 0;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
const ZERO_COPY_BYTES: &str = "sluice_fetch_zero_copy_bytes_total";

/// The value at `offset`: every third record small, the others 1 KiB, each
/// naming its offset so a record at the wrong place shows.
fn value(offset: i64) -> Vec<u8> {
    let name = format!("record-{offset:08}");
    if offset % 3 == 0 {
        return name.into_bytes();
    }
    let mut v = name.into_bytes();
    v.extend((0..1024 - v.len()).map(|i| b'a' + ((offset as usize + i) % 26) as u8));
    v
}

/// A broker with a metrics endpoint; (broker, metrics port).
fn start_broker(name: &str, extra: &[(&str, &str)]) -> (Broker, u16) {
    let port = free_port();
    let mut spec = BrokerSpec::new(1, zk_connect(&unique_chroot(name)))
        .set("auto.create.topics.enable", false)
        .set(
            "metrics.listener",
            format!("http://127.0.0.1:{port}/metrics"),
        );
    for (k, v) in extra {
        spec = spec.set(k, v);
    }
    (Broker::start(spec), port)
}

/// The zero-copy byte counter, scraped.
fn zero_copy_bytes(metrics_port: u16) -> u64 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
    stream.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(ZERO_COPY_BYTES)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {ZERO_COPY_BYTES} in:\n{text}"))
}

/// Produces `batches` batches of 1 to 4 records (acks=1) to `topic`-0,
/// starting at offset `first`; returns the next offset.
fn produce(broker: &Broker, topic: &str, first: i64, batches: usize) -> i64 {
    let mut next = first;
    for i in 0..batches {
        let count = (i % 4 + 1) as i64;
        let values: Vec<Vec<u8>> = (next..next + count).map(value).collect();
        let request = produce_request(topic, plain_batch(&values, now_ms())).with_acks(1);
        let response = send_request(broker, 7, &request);
        let p = &response.responses[0].partition_responses[0];
        assert_eq!(
            (p.error_code, p.base_offset),
            (NONE, next),
            "produce batch {i}"
        );
        next += count;
    }
    next
}

/// A Fetch answer: (error, record bytes, every record's (offset, value)).
type Fetched = (i16, usize, Vec<(i64, Vec<u8>)>);

/// One raw Fetch of `topic`-0 from `offset`: (error, record bytes, every
/// record's (offset, value)). An i/o error (the broker closed the
/// connection) is an `Err`.
fn fetch(
    conn: &mut RawConn,
    version: i16,
    topic: &str,
    offset: i64,
    max_bytes: i32,
) -> Result<Fetched, String> {
    let request = fetch_request(topic, 0, offset, -1, max_bytes);
    let response: FetchResponse = conn.send(ApiKey::Fetch, version, &request)?;
    let p = &response.responses[0].partitions[0];
    let mut bytes = p.records.clone().unwrap_or_default();
    let len = bytes.len();
    let records = RecordBatchDecoder::decode_all(&mut bytes)
        .map_err(|e| format!("decode: {e}"))?
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| (r.offset, r.value.map(|v| v.to_vec()).unwrap_or_default()))
        .collect();
    Ok((p.error_code, len, records))
}

/// Reads `topic`-0 from `from` to `end` by raw Fetch v`version` of at most
/// `max_bytes`, checking every record's offset and value; the record bytes
/// read.
fn read_all(port: u16, version: i16, topic: &str, from: i64, end: i64, max_bytes: i32) -> u64 {
    let mut conn = RawConn::open(port, STEP_TIMEOUT).expect("connect");
    let (mut offset, mut bytes, mut responses) = (from, 0u64, 0);
    while offset < end {
        let (error, len, records) = fetch(&mut conn, version, topic, offset, max_bytes)
            .unwrap_or_else(|e| panic!("v{version} fetch at {offset}: {e}"));
        assert_eq!(error, NONE, "v{version} fetch at {offset}");
        assert!(!records.is_empty(), "v{version}: records at {offset}");
        for (got, v) in records {
            if got < offset {
                continue; // the batch holding `offset` starts before it
            }
            assert_eq!(got, offset, "v{version}: offsets contiguous");
            assert!(v == value(offset), "v{version}: the value at {offset}");
            offset += 1;
        }
        bytes += len as u64;
        responses += 1;
    }
    assert_eq!(offset, end);
    assert!(
        responses > 10,
        "v{version}: partial responses ({responses})"
    );
    bytes
}

/// How many segment files `topic`-0 has on `broker`.
fn log_segments(broker: &Broker, topic: &str) -> usize {
    std::fs::read_dir(broker.log_dir().join(format!("{topic}-0")))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count()
}

/// Creates `topic` (one partition, `segment.bytes` as given) and waits until
/// it takes a produce (whose one record is offset 0).
fn create_topic_taking_produce(broker: &Broker, topic: &str, segment_bytes: &str) {
    assert_eq!(
        create_topic_with_configs(broker, topic, 1, 1, &[("segment.bytes", segment_bytes)]),
        NONE
    );
    wait_until("the topic to take produce", STEP_TIMEOUT, || {
        let request = produce_request(topic, plain_batch(&[value(0)], now_ms())).with_acks(1);
        let response = send_request(broker, 7, &request);
        (response.responses[0].partition_responses[0].error_code == NONE).then_some(())
    });
}

#[test]
fn every_record_comes_back_by_zero_copy_across_segments_and_partial_fetches() {
    let (broker, metrics_port) = start_broker("zero-copy", &[]);
    let topic = "zc";
    create_topic_taking_produce(&broker, topic, "16384");
    let end = produce(&broker, topic, 1, 300);
    assert!(
        broker.log_dir().read_dir().unwrap().count() > 0,
        "the broker has a log dir"
    );
    let segments = log_segments(&broker, topic);
    assert!(segments > 10, "many segments ({segments})");

    let before = zero_copy_bytes(metrics_port);
    let mut fetched = 0;
    for version in [4, 11, 12] {
        // 3000 bytes: one or two batches a response, a 4 KiB batch whole (KIP-74).
        fetched += read_all(broker.port(), version, topic, 0, end, 3000);
    }
    let after = zero_copy_bytes(metrics_port);
    assert!(
        after - before >= fetched,
        "{fetched} record bytes fetched, {} sent by sendfile",
        after - before
    );

    // librdkafka with small fetch limits reads every record in order.
    let consumer = consumer_config(&broker.bootstrap(), "zc-group")
        .set("fetch.max.bytes", "10000")
        .set("max.partition.fetch.bytes", "6000")
        .set("message.max.bytes", "10000")
        .create::<rdkafka::consumer::BaseConsumer>()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut next = 0;
    wait_until("librdkafka to read every record", STEP_TIMEOUT, || {
        while let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.expect("consume");
            assert_eq!(message.offset(), next, "librdkafka: offsets in order");
            assert!(
                message.payload() == Some(&value(next)[..]),
                "librdkafka: the value at {next}"
            );
            next += 1;
        }
        (next == end).then_some(())
    });
    assert!(
        zero_copy_bytes(metrics_port) > after,
        "librdkafka's fetches too"
    );
}

#[test]
fn deleting_segments_under_fetching_consumers_keeps_them_reading() {
    let (mut broker, metrics_port) = start_broker(
        "zero-copy-delete",
        &[("log.retention.check.interval.ms", "200")],
    );
    let topic = "churn";
    create_topic_taking_produce(&broker, topic, "8192");
    let end = produce(&broker, topic, 1, 200);

    // Consumers read the partition over and over, from its log start, on
    // one connection each (a new one if the broker closes it).
    let stop = Arc::new(AtomicBool::new(false));
    let passes = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (stop, passes, port) = (stop.clone(), passes.clone(), broker.port());
            std::thread::spawn(move || {
                let mut reconnects = 0;
                let mut conn = RawConn::open(port, STEP_TIMEOUT).expect("connect");
                let mut offset = 0;
                while !stop.load(Ordering::Relaxed) {
                    match fetch(&mut conn, 11, topic, offset, 2000 + r * 3000) {
                        Ok((NONE, _, records)) => {
                            let from = offset;
                            for (got, v) in records.into_iter().filter(|(o, _)| *o >= from) {
                                assert_eq!(got, offset, "reader {r}: offsets contiguous");
                                assert!(v == value(got), "reader {r}: the value at {got}");
                                offset += 1;
                            }
                            if offset >= end {
                                passes.fetch_add(1, Ordering::Relaxed);
                                offset = 0;
                            }
                        }
                        // Deleted under us: go on from the new log start.
                        Ok((OFFSET_OUT_OF_RANGE, _, _)) => {
                            let request = list_offsets_request(topic, -2);
                            let answer: ListOffsetsResponse =
                                conn.send(ApiKey::ListOffsets, 1, &request).expect("list");
                            offset = list_offsets_answer(&answer).1;
                        }
                        Ok((error, _, _)) => panic!("reader {r}: fetch error {error}"),
                        Err(e) => {
                            reconnects += 1;
                            assert!(reconnects < 20, "reader {r}: {e}");
                            conn = RawConn::open(port, STEP_TIMEOUT).expect("reconnect");
                        }
                    }
                }
                reconnects
            })
        })
        .collect();

    let initial_segments = log_segments(&broker, topic);
    for cut in (40..end - 20).step_by(60) {
        let seen = passes.load(Ordering::Relaxed);
        let (error, low_watermark) = delete_records(&broker, topic, cut);
        assert_eq!((error, low_watermark), (NONE, cut));
        wait_until("the readers to finish a pass", STEP_TIMEOUT, || {
            (passes.load(Ordering::Relaxed) >= seen + 2).then_some(())
        });
        assert!(
            broker.is_running(),
            "the broker is up after deleting to {cut}"
        );
    }
    wait_until("retention to delete segments", STEP_TIMEOUT, || {
        (log_segments(&broker, topic) < initial_segments).then_some(())
    });
    let seen = passes.load(Ordering::Relaxed);
    wait_until(
        "the readers to finish passes after the deletions",
        STEP_TIMEOUT,
        || (passes.load(Ordering::Relaxed) >= seen + 2).then_some(()),
    );
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let reconnects = reader.join().expect("reader");
        eprintln!("reader reconnected {reconnects} times");
    }
    assert!(broker.is_running(), "no crash");
    assert!(zero_copy_bytes(metrics_port) > 0, "served by zero copy");
    // What is left reads whole and right.
    let (_, start) =
        list_offsets_answer(&send_request(&broker, 1, &list_offsets_request(topic, -2)));
    assert!(start > 40, "the log start moved ({start})");
    read_all(broker.port(), 12, topic, start, end, 2500);
}
