//! The fuzz test against a real `sluice broker` process: mutated and random
//! frames over TCP, through the broker's framing, dispatch and handlers (the
//! part the in-process target cannot reach without a cluster). Each frame is
//! followed on its connection by an ApiVersions marker request; the frame's
//! answer (if any) and the marker's are read, so every frame is known to be
//! answered, to have closed the connection (Kafka's answer to a request it
//! cannot decode), or to have stalled (a long poll or rebalance wait the
//! mutation stretched), and the next frame goes on a fresh connection. Then
//! the broker must still run, have logged no panic, and serve real clients.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreatePartitionsRequest, CreateTopicsRequest,
};
use kafka_protocol::protocol::Decodable;
use sluice::server::dispatch::{RequestHead, read_request_head};

use super::mutate;
use super::rng::Rng;
use super::templates::{self, Template};

/// How long one frame and its marker may take before the connection counts
/// as stalled and is dropped.
const FRAME_TIMEOUT: Duration = Duration::from_secs(3);
/// The marker's correlation id; fuzz frames that reuse it only end the
/// wait early.
const MARKER_ID: i32 = -0x0515_51ce;

/// Most partitions a fuzz frame may ask a broker to create. A mutated count
/// (`1 << 30`) makes any broker build an assignment of that size (Kafka's
/// `assignReplicasToBrokers` too): memory exhaustion on a shared machine,
/// not a wire-protocol answer. Such frames are counted, not sent.
const MAX_PARTITIONS_ASKED: i64 = 1_000;

/// What became of the frames sent.
#[derive(Debug, Default)]
pub struct TcpReport {
    pub frames: u64,
    /// Not sent: they ask for more than [`MAX_PARTITIONS_ASKED`] partitions.
    pub skipped_huge_creations: u64,
    /// Answered (or acks=0) with the connection still serving the marker.
    pub served: u64,
    /// The broker closed the connection (undecodable or refused frame).
    pub closed: u64,
    /// No marker answer within [`FRAME_TIMEOUT`].
    pub stalled: u64,
    pub elapsed: Duration,
}

impl TcpReport {
    pub fn table(&self, title: &str) -> String {
        let secs = self.elapsed.as_secs_f64();
        format!(
            "fuzz (over TCP, {title}): {} frames in {secs:.1} s = {:.0} frames/s: \
             {} served, {} closed the connection, {} stalled, \
             {} not sent (asking for over {MAX_PARTITIONS_ASKED} partitions)\n",
            self.frames,
            self.frames as f64 / secs.max(1e-9),
            self.served,
            self.closed,
            self.stalled,
            self.skipped_huge_creations
        )
    }
}

fn size_prefixed(frame: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(frame.len() + 4);
    out.put_i32(frame.len() as i32);
    out.put_slice(frame);
    out.to_vec()
}

/// The ApiVersions v0 marker request, size prefixed.
fn marker() -> Vec<u8> {
    let frame = templates::frame(
        ApiKey::ApiVersions,
        0,
        MARKER_ID,
        &ApiVersionsRequest::default(),
    )
    .expect("encode ApiVersions v0");
    size_prefixed(&frame)
}

/// Reads response frames until the marker's answer: `Ok(true)` when it
/// came, `Ok(false)` when the broker closed the connection.
fn read_to_marker(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let mut size = [0u8; 4];
        match stream.read_exact(&mut size) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                ) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        let size = i32::from_be_bytes(size);
        assert!(
            size >= 4,
            "the broker sent a response frame of {size} bytes"
        );
        let mut body = vec![0u8; size as usize];
        stream.read_exact(&mut body)?;
        if i32::from_be_bytes([body[0], body[1], body[2], body[3]]) == MARKER_ID {
            return Ok(true);
        }
    }
}

/// Sends `frames` frames made from `seed` (from the templates `keep` lets
/// through) to 127.0.0.1:`port`.
pub fn run(port: u16, seed: u64, frames: u64, keep: impl Fn(&Template) -> bool) -> TcpReport {
    let templates: Vec<Template> = templates::all().into_iter().filter(|t| keep(t)).collect();
    let batches = templates::sample_batches();
    let marker = marker();
    let mut rng = Rng::new(seed);
    let mut report = TcpReport::default();
    let started = Instant::now();
    let mut conn: Option<TcpStream> = None;
    for _ in 0..frames {
        let (_, frame) = mutate::next_frame(&mut rng, &templates, &batches);
        report.frames += 1;
        if partitions_asked(&frame) > MAX_PARTITIONS_ASKED {
            report.skipped_huge_creations += 1;
            continue;
        }
        let stream = match conn.as_mut() {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(("127.0.0.1", port))
                    .unwrap_or_else(|e| panic!("connect to the broker on port {port}: {e}"));
                stream.set_nodelay(true).unwrap();
                conn.insert(stream)
            }
        };
        let mut bytes = size_prefixed(&frame);
        bytes.extend_from_slice(&marker);
        // A write into a connection the broker already closed fails: that
        // is the frame's answer.
        let outcome = stream
            .write_all(&bytes)
            .and_then(|()| read_to_marker(stream, Instant::now() + FRAME_TIMEOUT));
        match outcome {
            Ok(true) => report.served += 1,
            Ok(false) => {
                report.closed += 1;
                conn = None;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                report.stalled += 1;
                conn = None;
            }
            Err(_) => {
                report.closed += 1;
                conn = None;
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// How many partitions a CreateTopics or CreatePartitions frame asks for in
/// all (0 for any other frame, or one that does not decode).
fn partitions_asked(frame: &Bytes) -> i64 {
    let mut rest = frame.clone();
    let Ok(RequestHead::Supported { key, version, .. }) = read_request_head(&mut rest) else {
        return 0;
    };
    match key {
        ApiKey::CreateTopics => CreateTopicsRequest::decode(&mut rest, version)
            .map(|r| r.topics.iter().map(|t| i64::from(t.num_partitions)).sum())
            .unwrap_or(0),
        ApiKey::CreatePartitions => CreatePartitionsRequest::decode(&mut rest, version)
            .map(|r| r.topics.iter().map(|t| i64::from(t.count)).sum())
            .unwrap_or(0),
        _ => 0,
    }
}

/// Frames of the client APIs (the first phase).
pub fn client_apis(template: &Template) -> bool {
    !mutate::is_inter_broker(template.key)
}

/// Frames of the controller-to-broker APIs (the second phase).
pub fn inter_broker_apis(template: &Template) -> bool {
    mutate::is_inter_broker(template.key)
}

/// The frame bytes of `frame`, for a failure message.
pub fn hex(frame: &Bytes) -> String {
    frame.iter().map(|b| format!("{b:02x}")).collect()
}
