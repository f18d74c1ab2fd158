//! The in-process fuzz target: what the broker does with a request frame
//! before a handler needs the cluster. The request header checked against
//! the handler table and decoded (`dispatch::read_request_head`), the body
//! decoded as dispatch decodes it (`dispatch::decode_request_body`), and for
//! Produce every partition's records through the validation an append runs
//! before writing: Kafka's one-batch shape check
//! (`log::produce_records::check_produce_records`), the producer-state header
//! walk (`log::whole_batch_headers`), the batch and CRC checks
//! (`log::validate_batches`, `log::check_client_batch`) and the record walk
//! after decompression (`log::validate_records`). A panic anywhere is a bug;
//! errors are the expected answer to bad input.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ProduceRequest};
use kafka_protocol::protocol::Decodable;
use sluice::log::produce_records::check_produce_records;
use sluice::log::{check_client_batch, validate_batches, validate_records, whole_batch_headers};
use sluice::model::TopicPartition;
use sluice::server::dispatch::{RequestHead, decode_request_body, read_request_head};

use super::mutate::{self, Mutation};
use super::rng::Rng;
use super::templates;

/// message.max.bytes' default: the batch size limit the log checks.
const MAX_BATCH_BYTES: usize = 1_048_588;

/// What became of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused at the header: too short, unknown key, unsupported version,
    /// malformed header.
    HeadRefused,
    /// ApiVersions newer than ours: answered in v0.
    ApiVersionsTooNew,
    /// The header is fine, the body does not decode.
    BodyRefused(ApiKey),
    /// Decoded: a handler would run.
    Decoded(ApiKey),
}

/// What the Produce records of one partition came to.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchCounts {
    pub partitions: u64,
    pub refused_shape: u64,
    pub refused_batch: u64,
    pub refused_records: u64,
    pub accepted: u64,
}

/// Runs one frame through the target; `batches` counts the Produce records.
pub fn run_frame(frame: &Bytes, batches: &mut BatchCounts) -> Outcome {
    let mut rest = frame.clone();
    let (key, version) = match read_request_head(&mut rest) {
        Err(_) => return Outcome::HeadRefused,
        Ok(RequestHead::ApiVersionsTooNew { .. }) => return Outcome::ApiVersionsTooNew,
        Ok(RequestHead::Supported { key, version, .. }) => (key, version),
    };
    let body = rest.clone();
    if decode_request_body(key, version, &mut rest).is_err() {
        return Outcome::BodyRefused(key);
    }
    if key == ApiKey::Produce {
        let request = ProduceRequest::decode(&mut body.clone(), version)
            .expect("dispatch decoded this Produce body a moment ago");
        for topic in &request.topic_data {
            for data in &topic.partition_data {
                let tp = TopicPartition::new(topic.name.0.to_string(), data.index);
                let records = data.records.as_deref().unwrap_or_default();
                validate_partition(records, version, &tp, data.index % 2 == 0, batches);
            }
        }
    }
    Outcome::Decoded(key)
}

/// The checks an append makes on one partition's records, in order;
/// `compacted` asks for a key on every record.
fn validate_partition(
    records: &[u8],
    version: i16,
    tp: &TopicPartition,
    compacted: bool,
    counts: &mut BatchCounts,
) {
    counts.partitions += 1;
    if check_produce_records(records, version).is_err() {
        counts.refused_shape += 1;
        return;
    }
    let _ = whole_batch_headers(records);
    let infos = match validate_batches(records, MAX_BATCH_BYTES) {
        Ok(infos) => infos,
        Err(_) => {
            counts.refused_batch += 1;
            return;
        }
    };
    for info in &infos {
        if check_client_batch(info).is_err() {
            counts.refused_batch += 1;
            return;
        }
        if validate_records(records, info, compacted, tp).is_err() {
            counts.refused_records += 1;
            return;
        }
    }
    counts.accepted += 1;
}

/// Frames of one API key: refused at the body, decoded.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyCounts {
    pub body_refused: u64,
    pub decoded: u64,
}

/// A panic: the frame that caused it, how it was made, and the message.
pub struct Panic {
    pub mutation: Mutation,
    pub frame: Bytes,
    pub message: String,
}

/// What a run did.
#[derive(Default)]
pub struct Report {
    pub seed: u64,
    pub frames: u64,
    pub elapsed: Duration,
    pub per_mutation: BTreeMap<Mutation, u64>,
    pub head_refused: u64,
    pub api_versions_too_new: u64,
    pub per_key: BTreeMap<String, KeyCounts>,
    pub batches: BatchCounts,
    pub panics: Vec<Panic>,
}

impl Report {
    pub fn body_refused(&self) -> u64 {
        self.per_key.values().map(|k| k.body_refused).sum()
    }

    pub fn decoded(&self) -> u64 {
        self.per_key.values().map(|k| k.decoded).sum()
    }

    /// The table the test and `scripts/fuzz.sh` print.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let secs = self.elapsed.as_secs_f64();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "fuzz (in process): seed {}, {} frames in {secs:.1} s = {:.0} frames/s, {} panics",
            self.seed,
            self.frames,
            self.frames as f64 / secs.max(1e-9),
            self.panics.len()
        );
        let _ = writeln!(out, "\n{:<24} {:>12}", "frames made by", "frames");
        for (mutation, n) in &self.per_mutation {
            let _ = writeln!(out, "{:<24} {n:>12}", format!("{mutation:?}"));
        }
        let _ = writeln!(
            out,
            "\n{:<24} {:>12} {:>12} {:>12}",
            "target", "in", "refused", "accepted"
        );
        let decodable = self.frames - self.head_refused - self.api_versions_too_new;
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>12}",
            "request header",
            self.frames,
            self.head_refused,
            decodable + self.api_versions_too_new
        );
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>12}",
            "request body",
            decodable,
            self.body_refused(),
            self.decoded()
        );
        let b = &self.batches;
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>12}",
            "produce records shape",
            b.partitions,
            b.refused_shape,
            b.partitions - b.refused_shape
        );
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>12}",
            "batch header and CRC",
            b.partitions - b.refused_shape,
            b.refused_batch,
            b.partitions - b.refused_shape - b.refused_batch
        );
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>12}",
            "records in the batch",
            b.partitions - b.refused_shape - b.refused_batch,
            b.refused_records,
            b.accepted
        );
        let _ = writeln!(
            out,
            "\n{:<28} {:>12} {:>12}",
            "api key (header accepted)", "body refused", "decoded"
        );
        for (key, counts) in &self.per_key {
            let _ = writeln!(
                out,
                "{key:<28} {:>12} {:>12}",
                counts.body_refused, counts.decoded
            );
        }
        out
    }
}

/// Makes `frames` frames from `seed` and runs each through the target,
/// catching panics (at most `max_panics` kept, then the run stops).
pub fn run(seed: u64, frames: u64, max_panics: usize) -> Report {
    run_with(seed, frames, max_panics, run_frame)
}

/// [`run`] with another target (the harness's own test gives it one that
/// panics).
pub fn run_with(
    seed: u64,
    frames: u64,
    max_panics: usize,
    target: impl Fn(&Bytes, &mut BatchCounts) -> Outcome,
) -> Report {
    let templates = templates::all();
    let batches = templates::sample_batches();
    let mut rng = Rng::new(seed);
    let mut report = Report {
        seed,
        ..Report::default()
    };
    let started = Instant::now();
    for _ in 0..frames {
        let (mutation, frame) = mutate::next_frame(&mut rng, &templates, &batches);
        *report.per_mutation.entry(mutation).or_default() += 1;
        report.frames += 1;
        let mut counts = report.batches;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(&frame, &mut counts)));
        report.batches = counts;
        match outcome {
            Ok(Outcome::HeadRefused) => report.head_refused += 1,
            Ok(Outcome::ApiVersionsTooNew) => report.api_versions_too_new += 1,
            Ok(Outcome::BodyRefused(key)) => {
                report
                    .per_key
                    .entry(format!("{key:?}"))
                    .or_default()
                    .body_refused += 1
            }
            Ok(Outcome::Decoded(key)) => {
                report
                    .per_key
                    .entry(format!("{key:?}"))
                    .or_default()
                    .decoded += 1
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                report.panics.push(Panic {
                    mutation,
                    frame,
                    message,
                });
                if report.panics.len() >= max_panics {
                    break;
                }
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}
