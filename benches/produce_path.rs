//! The CPU cost of checking a produced batch, in process (no broker, no
//! network, no disk), so the figures are steady where the end-to-end
//! throughput bench drifts: Kafka's batch check (`validate_batches`: header
//! and CRC-32C over every byte) next to the record check the safety work
//! added (`validate_records`: every record's varints walked, compressed
//! batches decompressed first), for batches shaped like a producer's with
//! default settings (16 KiB, 100 B and 1 KiB records), per codec.
//!
//! ```text
//! cargo bench --bench produce_path
//! ```
//!
//! Prints one Markdown table: microseconds per batch for each check, and the
//! record check as a share of the batch check.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use sluice::log::{validate_batches, validate_records};
use sluice::model::TopicPartition;

/// How long each case is timed.
const RUN_FOR: Duration = Duration::from_millis(700);

/// One producer batch of `count` records of `size` bytes (text-like
/// values, so the codecs have something to compress), encoded by `codec`.
fn batch(count: usize, size: usize, codec: Compression) -> Vec<u8> {
    let records: Vec<Record> = (0..count)
        .map(|i| {
            let text = format!("record {i:08} of the produce path bench; ");
            let value: Vec<u8> = text.bytes().cycle().take(size).collect();
            Record {
                transactional: false,
                control: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // offset - sequence constant: the encoder keeps one batch.
                sequence: i as i32,
                timestamp: 1_700_000_000_000 + i as i64,
                key: None,
                value: Some(Bytes::from(value)),
                headers: Default::default(),
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: codec,
        },
    )
    .expect("encode a batch");
    buf.to_vec()
}

/// Mean time of one call of `f`, run repeatedly for [`RUN_FOR`].
fn time_per_call(mut f: impl FnMut()) -> Duration {
    for _ in 0..10 {
        f();
    }
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < RUN_FOR {
        for _ in 0..20 {
            f();
        }
        calls += 20;
    }
    started.elapsed() / calls
}

fn main() {
    let tp = TopicPartition::new("bench", 0);
    println!("## Produce path: checking one batch (in process, no I/O)\n");
    println!(
        "| records x size | codec | batch bytes | batch check (CRC) us | record check us | record/batch check |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    let codecs = [
        ("none", Compression::None),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
        ("snappy", Compression::Snappy),
        ("gzip", Compression::Gzip),
    ];
    for (count, size) in [(160, 100), (16, 1024)] {
        for (name, codec) in codecs {
            let bytes = batch(count, size, codec);
            let infos = validate_batches(&bytes, usize::MAX).expect("a valid batch");
            assert_eq!(infos.len(), 1, "one batch");
            let info = infos[0];
            validate_records(&bytes, &info, false, &tp).expect("valid records");
            let crc = time_per_call(|| {
                black_box(validate_batches(black_box(&bytes), usize::MAX).unwrap());
            });
            let records = time_per_call(|| {
                validate_records(black_box(&bytes), &info, false, &tp).unwrap();
            });
            println!(
                "| {count} x {size} B | {name} | {} | {:.2} | {:.2} | {:.2} |",
                bytes.len(),
                crc.as_secs_f64() * 1e6,
                records.as_secs_f64() * 1e6,
                records.as_secs_f64() / crc.as_secs_f64(),
            );
        }
    }
    println!();
}
