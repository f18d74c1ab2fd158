//! The stable-Rust fuzz test (nightly cargo-fuzz is not available): seeded
//! random and mutated request frames, built from valid frames of every API
//! key and version the broker advertises (`fuzz/templates.rs`, mutated by
//! `fuzz/mutate.rs`), with 0 panics allowed.
//!
//! - In process (`fuzz/in_process.rs`): request header, body decoding as
//!   dispatch does it, and the Produce records' validation, with each frame
//!   under `catch_unwind`; a panic fails the test with the frame in hex.
//! - Over TCP (`fuzz/over_tcp.rs`): the same kind of frames into a real
//!   `sluice broker` (dispatch and handlers), client APIs first, then the
//!   controller-to-broker APIs; after each phase the broker must run, have
//!   logged no panic and serve a real client (kcat round trip, ApiVersions).
//!
//! CI runs a short seeded run (this file's defaults). `scripts/fuzz.sh
//! [--frames N] [--seed S]` runs a long one in a release build; it sets
//! SLUICE_FUZZ_FRAMES, SLUICE_FUZZ_BROKER_FRAMES and SLUICE_FUZZ_SEED.

mod common;
#[path = "fuzz/in_process.rs"]
mod in_process;
#[path = "fuzz/mutate.rs"]
mod mutate;
#[path = "fuzz/over_tcp.rs"]
mod over_tcp;
#[path = "fuzz/rng.rs"]
mod rng;
#[path = "fuzz/templates.rs"]
mod templates;

use common::*;
use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};

/// The broker's allocator, so a decoder's `Vec::with_capacity(i32::MAX)`
/// fails here as it does in the broker instead of aborting the test.
#[global_allocator]
static ALLOCATOR: sluice::huge_alloc::HugeAllocGuard = sluice::huge_alloc::HugeAllocGuard;

/// The CI run's seed and sizes (a few seconds in a debug build).
const DEFAULT_SEED: u64 = 14;
const DEFAULT_FRAMES: u64 = 200_000;
const DEFAULT_BROKER_FRAMES: u64 = 1_500;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|e| panic!("{name}={text:?} is not a number: {e}")),
        Err(_) => default,
    }
}

fn seed() -> u64 {
    env_u64("SLUICE_FUZZ_SEED", DEFAULT_SEED)
}

#[test]
fn mutated_frames_decode_and_validate_without_panics() {
    let frames = env_u64("SLUICE_FUZZ_FRAMES", DEFAULT_FRAMES);
    let report = in_process::run(seed(), frames, 20);
    println!("{}", report.table());
    let panics: Vec<String> = report
        .panics
        .iter()
        .map(|p| {
            format!(
                "{:?} frame {} panicked: {}",
                p.mutation,
                over_tcp::hex(&p.frame),
                p.message
            )
        })
        .collect();
    assert!(
        panics.is_empty(),
        "{} frames panicked (seed {}):\n{}",
        panics.len(),
        report.seed,
        panics.join("\n")
    );
    assert_eq!(report.frames, frames, "every frame ran");
    // The mutators reach every stage: some frames are refused at each one,
    // and some get through all of them.
    let b = &report.batches;
    assert!(report.head_refused > 0 && report.body_refused() > 0 && report.decoded() > 0);
    assert!(b.refused_shape > 0 && b.refused_batch > 0 && b.refused_records > 0);
    assert!(b.accepted > 0, "no produced batch passed validation");
}

#[test]
fn the_harness_reports_a_panicking_target_with_its_frame() {
    // A target that panics on every decodable Produce frame: the run keeps
    // the frames (up to the limit) and stops there.
    let report = in_process::run_with(seed(), 100_000, 3, |frame, counts| {
        let outcome = in_process::run_frame(frame, counts);
        if outcome == in_process::Outcome::Decoded(kafka_protocol::messages::ApiKey::Produce) {
            panic!("planted panic");
        }
        outcome
    });
    assert_eq!(report.panics.len(), 3, "the run stops at the panic limit");
    assert!(report.frames < 100_000);
    for panic in &report.panics {
        assert_eq!(panic.message, "planted panic");
        assert_eq!(&panic.frame[..2], &0i16.to_be_bytes(), "a Produce frame");
    }
}

/// The broker runs, logged no panic, and answers ApiVersions and Metadata.
fn assert_broker_alive(broker: &mut Broker, after: &str) {
    assert!(broker.is_running(), "the broker exited after {after}");
    let log = broker.log_text();
    let panics: Vec<&str> = log.lines().filter(|l| l.contains("panicked")).collect();
    assert!(
        panics.is_empty(),
        "the broker logged panics after {after}:\n{}",
        panics.join("\n")
    );
    let versions = send_request(broker, 3, &ApiVersionsRequest::default());
    assert_eq!(versions.error_code, 0, "ApiVersions after {after}");
    let metadata = send_request(broker, 9, &MetadataRequest::default().with_topics(None));
    assert_eq!(
        metadata.brokers.len(),
        1,
        "Metadata names the broker after {after}"
    );
}

/// kcat produces two messages to a new `topic` and consumes them back.
fn assert_kcat_round_trip(broker: &Broker, topic: &str) {
    let bootstrap = broker.bootstrap();
    let out = kcat(
        &["-b", &bootstrap, "-t", topic, "-P"],
        Some(b"still\nserving\n"),
    );
    assert_success(&out, "kcat produce");
    let out = kcat(
        &["-b", &bootstrap, "-t", topic, "-C", "-o", "beginning", "-e"],
        None,
    );
    let text = assert_success(&out, "kcat consume");
    assert_eq!(text.lines().collect::<Vec<_>>(), ["still", "serving"]);
}

#[test]
fn a_broker_survives_mutated_frames_and_still_serves_clients() {
    let chroot = unique_chroot("fuzz");
    let mut broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("group.initial.rebalance.delay.ms", 0),
    );
    let frames = env_u64("SLUICE_FUZZ_BROKER_FRAMES", DEFAULT_BROKER_FRAMES);

    let clients = over_tcp::run(broker.port(), seed(), frames, over_tcp::client_apis);
    println!("{}", clients.table("client APIs"));
    assert!(clients.served > 0 && clients.closed > 0, "{clients:?}");
    assert_broker_alive(&mut broker, "the client API frames");
    assert_kcat_round_trip(&broker, "after-fuzz");

    // Controller-to-broker requests from a stranger may legitimately change
    // what the broker serves (Kafka guards them only by authorization), so
    // after them the broker need only be alive and answer.
    let inter_broker = over_tcp::run(
        broker.port(),
        seed() ^ 1,
        (frames / 5).max(1),
        over_tcp::inter_broker_apis,
    );
    println!("{}", inter_broker.table("controller-to-broker APIs"));
    assert_broker_alive(&mut broker, "the controller-to-broker frames");
}
