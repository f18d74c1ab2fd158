//! The CPU cost and the extra memory of encoding a Fetch response, in
//! process (no broker, no network), so the figures are steady where the
//! end-to-end throughput bench drifts: the old way (`encode_response`, the
//! whole response copied into one buffer of its full size) next to the
//! broker's way since the safety work (`encode_frame`: chunks that reference
//! the records read from the log). Responses of 1 partition x 1 MiB,
//! 10 partitions x 1 MiB and 1 partition x 50 MiB (a catching-up consumer
//! at the default `fetch.max.bytes`).
//!
//! ```text
//! cargo bench --bench fetch_encode
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice::server::dispatch::{encode_frame, encode_response};
use sluice::server::request_context::ResponseExtras;

/// How long each case is timed.
const RUN_FOR: Duration = Duration::from_millis(1500);
/// Fetch v11 (what librdkafka 2.x sends).
const VERSION: i16 = 11;

fn response(partitions: usize, bytes_each: usize) -> (FetchResponse, Vec<Bytes>) {
    let payloads: Vec<Bytes> = (0..partitions)
        .map(|p| Bytes::from(vec![p as u8; bytes_each]))
        .collect();
    let data = payloads
        .iter()
        .enumerate()
        .map(|(i, records)| {
            PartitionData::default()
                .with_partition_index(i as i32)
                .with_high_watermark(1_000_000)
                .with_last_stable_offset(1_000_000)
                .with_records(Some(records.clone()))
        })
        .collect();
    let response = FetchResponse::default().with_responses(vec![
        FetchableTopicResponse::default()
            .with_topic(TopicName(StrBytes::from_static_str("bench")))
            .with_partitions(data),
    ]);
    (response, payloads)
}

/// Mean time of one call of `f`, run repeatedly for [`RUN_FOR`].
fn time_per_call(mut f: impl FnMut()) -> Duration {
    for _ in 0..3 {
        f();
    }
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < RUN_FOR {
        f();
        calls += 1;
    }
    started.elapsed() / calls
}

fn main() {
    println!("## Fetch response encoding (in process, v{VERSION})\n");
    println!(
        "| response | copy into one buffer us | chunks referencing the records us | speed-up | heap bytes allocated by encoding: copy / chunks |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (partitions, bytes_each, name) in [
        (1, 1 << 20, "1 x 1 MiB"),
        (10, 1 << 20, "10 x 1 MiB"),
        (1, 50 << 20, "1 x 50 MiB"),
    ] {
        let (body, payloads) = response(partitions, bytes_each);
        let copied = encode_response(ApiKey::Fetch, VERSION, 7, &body).unwrap();
        let framed = encode_frame(
            ApiKey::Fetch,
            VERSION,
            7,
            &body,
            ResponseExtras {
                payloads: payloads.clone(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(framed.to_vec(), copied.to_vec(), "same bytes on the wire");
        let copied_heap = copied.capacity();
        let framed_heap: usize = framed
            .chunks()
            .iter()
            .filter(|c| !payloads.iter().any(|p| p.as_ptr() == c.as_ptr()))
            .map(sluice::server::response_frame::Chunk::len)
            .sum();
        let copy = time_per_call(|| {
            black_box(encode_response(ApiKey::Fetch, VERSION, 7, black_box(&body)).unwrap());
        });
        let chunks = time_per_call(|| {
            let extras = ResponseExtras {
                payloads: payloads.clone(),
                ..Default::default()
            };
            black_box(encode_frame(ApiKey::Fetch, VERSION, 7, black_box(&body), extras).unwrap());
        });
        println!(
            "| {name} | {:.1} | {:.1} | {:.0}x | {copied_heap} / {framed_heap} |",
            copy.as_secs_f64() * 1e6,
            chunks.as_secs_f64() * 1e6,
            copy.as_secs_f64() / chunks.as_secs_f64(),
        );
    }
    println!();
}
