//! The broker's memory under large fetches (finding 11 of the safety
//! review), measured from outside: the peak resident set (VmHWM in
//! /proc/<pid>/status, reset through /proc/<pid>/clear_refs) of a real
//! broker while four raw Fetch v11 requests with max_bytes = i32::MAX read a
//! partition holding 64 MiB. Without `fetch.max.bytes`, the Fetch memory
//! budget and the copy-free encoding, each fetch held the whole partition
//! twice (the read and the encoded response): over 256 MiB at once. The
//! bound asserted is memory, not time.

mod common;

use std::time::Duration;

use common::*;
use kafka_protocol::messages::{ApiKey, FetchResponse};

const NONE: i16 = 0;
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Record data in the partition: 64 batches of one 1 MiB-ish record.
const BATCHES: usize = 64;
const VALUE_BYTES: usize = 1_000_000;
/// The broker settings under test: a response holds at most 8 MiB of
/// records, all responses together at most 16 MiB.
const FETCH_MAX_BYTES: usize = 8 << 20;
const INFLIGHT_MAX_BYTES: usize = 16 << 20;
/// Allowed growth of the peak resident set during the fetches: the budget,
/// one first batch per concurrent fetch, and allocator slack. The old code
/// needs 4 x 2 x 64 MiB.
const PEAK_GROWTH_LIMIT_KIB: u64 = 64 * 1024;

/// A /proc/<pid>/status field in kB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Resets VmHWM to the current resident set (Linux: `echo 5 > clear_refs`).
fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset VmHWM");
}

fn produce_one(broker: &Broker, topic: &str, value: &[u8]) -> i16 {
    let request = produce_request(topic, plain_batch(&[value], now_ms())).with_acks(1);
    let response = send_request(broker, 7, &request);
    response.responses[0].partition_responses[0].error_code
}

/// One consumer Fetch v11 from offset 0 with every limit at i32::MAX:
/// (error, record bytes returned).
fn huge_fetch(port: u16, topic: &str) -> (i16, usize) {
    let request = common::raw::fetch_request(topic, 0, 0, -1, i32::MAX);
    let mut conn = RawConn::open(port, Duration::from_secs(120)).expect("connect");
    let response: FetchResponse = conn.send(ApiKey::Fetch, 11, &request).expect("fetch");
    let p = &response.responses[0].partitions[0];
    (p.error_code, p.records.as_ref().map_or(0, |r| r.len()))
}

/// A broker with `settings` whose topic "big" holds [`BATCHES`] batches.
fn broker_with_data(name: &str, settings: &[(&str, usize)]) -> Broker {
    let mut spec = BrokerSpec::new(1, zk_connect(&unique_chroot(name)))
        .set("auto.create.topics.enable", false);
    for (k, v) in settings {
        spec = spec.set(k, v);
    }
    let broker = Broker::start(spec);
    assert_eq!(
        create_topic_with_configs(&broker, "big", 1, 1, &[("max.message.bytes", "2000000")]),
        NONE
    );
    let value = vec![b'v'; VALUE_BYTES];
    wait_until("the topic to take produce", WAIT_TIMEOUT, || {
        (produce_one(&broker, "big", &value) == NONE).then_some(())
    });
    for _ in 1..BATCHES {
        assert_eq!(produce_one(&broker, "big", &value), NONE);
    }
    broker
}

/// Runs `fetches` concurrent [`huge_fetch`]es; their answers and the growth
/// of the broker's peak resident set meanwhile, in KiB.
fn peak_growth_of_fetches(broker: &Broker, fetches: usize) -> (Vec<(i16, usize)>, u64) {
    let pid = broker.pid();
    reset_peak(pid);
    let before = status_kib(pid, "VmHWM:");
    let threads: Vec<_> = (0..fetches)
        .map(|_| {
            let port = broker.port();
            std::thread::spawn(move || huge_fetch(port, "big"))
        })
        .collect();
    let results = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let peak = status_kib(pid, "VmHWM:");
    eprintln!("VmHWM before the fetches {before} kB, after {peak} kB");
    (results, peak.saturating_sub(before))
}

#[test]
fn four_huge_fetches_stay_within_the_memory_bound() {
    let broker = broker_with_data(
        "fetch-memory",
        &[
            ("fetch.max.bytes", FETCH_MAX_BYTES),
            ("fetch.inflight.max.bytes", INFLIGHT_MAX_BYTES),
        ],
    );
    let (results, growth) = peak_growth_of_fetches(&broker, 4);
    assert!(
        growth <= PEAK_GROWTH_LIMIT_KIB,
        "four max_bytes=i32::MAX fetches grew the broker's peak memory by {growth} kB \
         (limit {PEAK_GROWTH_LIMIT_KIB} kB)"
    );
    for (error, bytes) in results {
        assert_eq!(error, NONE);
        assert!(
            bytes >= VALUE_BYTES,
            "each fetch returned records ({bytes} bytes)"
        );
        assert!(
            bytes <= FETCH_MAX_BYTES + 2 * VALUE_BYTES,
            "fetch.max.bytes caps a response ({bytes} bytes)"
        );
    }
}

/// With limits high enough for the whole partition, one fetch holds its
/// records once: the read buffer goes to the socket as it is, instead of
/// being copied into a second buffer of the full size for encoding.
#[test]
fn a_fetch_holds_its_records_once() {
    let broker = broker_with_data("fetch-once", &[("fetch.max.bytes", 256 << 20)]);
    let (results, growth) = peak_growth_of_fetches(&broker, 1);
    let (error, bytes) = results[0];
    assert_eq!(error, NONE);
    assert_eq!(
        bytes,
        BATCHES * plain_batch(&[vec![b'v'; VALUE_BYTES]], 0).len(),
        "all of it"
    );
    let once_kib = (bytes / 1024) as u64;
    assert!(
        growth <= once_kib + once_kib / 3,
        "a {once_kib} KiB fetch grew the peak memory by {growth} kB: the records were held twice"
    );
}
