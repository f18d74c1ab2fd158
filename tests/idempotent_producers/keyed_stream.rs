//! A librdkafka idempotent producer (enable.idempotence=true, so acks=all,
//! max.in.flight 5) sending a numbered stream of keyed messages from one
//! thread, with a bounded number awaiting their delivery reports; and the
//! check that a topic stores each message exactly once, in the order sent
//! within each partition, at the offset its delivery report gave.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::common::ack_stream::read_partition;
use crate::common::{producer_config, wait_until_ok};

/// Messages sent but not yet reported on, at most.
pub const WINDOW: usize = 5_000;
/// Distinct keys (spread over the partitions by librdkafka's partitioner).
const KEYS: u64 = 64;
/// How long one message may take to be delivered (a failover included).
const MESSAGE_TIMEOUT_MS: &str = "120000";

/// What librdkafka told the application while the stream ran.
#[derive(Default)]
struct Shared {
    acked: AtomicUsize,
    /// librdkafka's "REQTMOUT" warnings (timed-out requests), with the broker.
    request_timeouts: Mutex<Vec<String>>,
    /// Client-level errors (error callback), e.g. a fatal idempotence error.
    errors: Mutex<Vec<String>>,
}

struct StreamContext(Arc<Shared>);

impl ClientContext for StreamContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        if fac == "REQTMOUT" {
            self.0.request_timeouts.lock().unwrap().push(msg.to_owned());
        }
        if level as i32 <= RDKafkaLogLevel::Warning as i32 {
            eprintln!("[keyed stream] librdkafka {fac}: {msg}");
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("[keyed stream] librdkafka error {error}: {reason}");
        self.0
            .errors
            .lock()
            .unwrap()
            .push(format!("{error}: {reason}"));
    }
}

/// The value of message `seq`: its number, zero-padded.
fn value_of(seq: u64) -> String {
    format!("{seq:08}")
}

pub struct KeyedStream {
    topic: String,
    shared: Arc<Shared>,
    total: u64,
    producer: JoinHandle<Vec<Result<(i32, i64), String>>>,
}

impl KeyedStream {
    /// Starts sending messages 0..`total` to `topic`; `extra` producer
    /// settings come last.
    pub fn start(bootstrap: &str, topic: &str, total: u64, extra: &[(&str, &str)]) -> KeyedStream {
        let shared = Arc::new(Shared::default());
        let mut config = producer_config(bootstrap);
        config
            .set("enable.idempotence", "true")
            .set("max.in.flight.requests.per.connection", "5")
            .set("linger.ms", "5")
            .set("message.timeout.ms", MESSAGE_TIMEOUT_MS)
            .set("retry.backoff.ms", "100")
            .set("queue.buffering.max.messages", (WINDOW * 2).to_string())
            .set_log_level(RDKafkaLogLevel::Warning);
        for (k, v) in extra {
            config.set(*k, *v);
        }
        let producer: FutureProducer<StreamContext> = config
            .create_with_context(StreamContext(shared.clone()))
            .unwrap_or_else(|e| panic!("idempotent producer for {bootstrap}: {e}"));
        let name = topic.to_owned();
        let topic = topic.to_owned();
        let acked = shared.clone();
        let producer = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut pending = std::collections::VecDeque::new();
            let mut reports = Vec::with_capacity(total as usize);
            let mut settle = |future: rdkafka::producer::DeliveryFuture| {
                let report = match rt.block_on(future) {
                    Ok(Ok(d)) => {
                        acked.acked.fetch_add(1, Ordering::Relaxed);
                        Ok((d.partition, d.offset))
                    }
                    Ok(Err((e, _))) => Err(e.to_string()),
                    Err(_) => Err("delivery future canceled".to_owned()),
                };
                reports.push(report);
            };
            for seq in 0..total {
                if pending.len() >= WINDOW {
                    settle(pending.pop_front().unwrap());
                }
                let key = format!("key-{}", seq % KEYS);
                let value = value_of(seq);
                let record = FutureRecord::to(&topic).key(&key).payload(&value);
                match producer.send_result(record) {
                    Ok(future) => pending.push_back(future),
                    Err((e, _)) => panic!("enqueue message {seq}: {e}"),
                }
            }
            while let Some(future) = pending.pop_front() {
                settle(future);
            }
            reports
        });
        KeyedStream {
            topic: name,
            shared,
            total,
            producer,
        }
    }

    /// Messages acknowledged so far.
    pub fn acked(&self) -> usize {
        self.shared.acked.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` messages are acknowledged.
    pub fn wait_acked(&self, n: usize, timeout: Duration) {
        wait_until_ok(&format!("{n} acknowledged messages"), timeout, || {
            let acked = self.acked();
            if acked >= n { Ok(()) } else { Err(acked) }
        });
    }

    /// How many requests librdkafka reported timed out at the broker
    /// listening on `port`.
    pub fn request_timeouts(&self, port: u16) -> usize {
        let needle = format!(":{port}/");
        self.shared
            .request_timeouts
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains(&needle))
            .count()
    }

    /// Waits for every delivery report (each message's is final within
    /// message.timeout.ms).
    pub fn finish(self) -> StreamOutcome {
        let reports = self.producer.join().expect("producer thread");
        assert_eq!(reports.len() as u64, self.total);
        StreamOutcome {
            topic: self.topic,
            reports,
            errors: self.shared.errors.lock().unwrap().clone(),
        }
    }
}

pub struct StreamOutcome {
    topic: String,
    /// Per message: (partition, offset) or the delivery error.
    reports: Vec<Result<(i32, i64), String>>,
    errors: Vec<String>,
}

impl StreamOutcome {
    /// Every message was acknowledged and librdkafka raised no fatal error.
    pub fn assert_all_delivered(&self) {
        let failed: Vec<(usize, &String)> = self
            .reports
            .iter()
            .enumerate()
            .filter_map(|(seq, r)| r.as_ref().err().map(|e| (seq, e)))
            .collect();
        assert!(
            failed.is_empty(),
            "{} of {} messages failed, first: {:?}; client errors: {:?}",
            failed.len(),
            self.reports.len(),
            &failed[..failed.len().min(5)],
            self.errors
        );
        let fatal: Vec<&String> = self
            .errors
            .iter()
            .filter(|e| e.to_lowercase().contains("fatal"))
            .collect();
        assert!(fatal.is_empty(), "librdkafka fatal errors: {fatal:?}");
    }

    /// Reads every partition through `bootstrap` and checks it.
    pub fn assert_stored_exactly_once_in_order(&self, bootstrap: &str, partitions: i32) {
        let logs: BTreeMap<i32, Vec<(i64, String)>> = (0..partitions)
            .map(|p| (p, read_partition(bootstrap, &self.topic, p)))
            .collect();
        let problems = stream_problems(&logs, &self.reports);
        let stored: usize = logs.values().map(Vec::len).sum();
        assert!(
            problems.is_empty(),
            "{} messages sent, {stored} stored; {} problem(s), first ones:\n{}",
            self.reports.len(),
            problems.len(),
            problems[..problems.len().min(20)].join("\n")
        );
    }
}

/// What is wrong with `logs` (partition -> (offset, value) from the log
/// start) given the delivery `reports` of messages 0..n: a message stored
/// twice or never, messages of one partition out of sending order, a
/// message not at the offset (or partition) its report gave.
pub fn stream_problems(
    logs: &BTreeMap<i32, Vec<(i64, String)>>,
    reports: &[Result<(i32, i64), String>],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stored_at: Vec<Vec<(i32, i64)>> = vec![Vec::new(); reports.len()];
    for (&partition, log) in logs {
        let mut previous: Option<(i64, u64)> = None;
        for (offset, value) in log {
            let Some(seq) = value
                .parse::<u64>()
                .ok()
                .filter(|s| *s < reports.len() as u64)
            else {
                problems.push(format!("{partition}@{offset}: unexpected value {value:?}"));
                continue;
            };
            if let Some((prev_offset, prev_seq)) = previous
                && seq <= prev_seq
            {
                problems.push(format!(
                    "partition {partition}: message {seq} at offset {offset} after message \
                     {prev_seq} at offset {prev_offset} (duplicate or reordered)"
                ));
            }
            previous = Some((*offset, seq));
            stored_at[seq as usize].push((partition, *offset));
        }
    }
    for (seq, (places, report)) in stored_at.iter().zip(reports).enumerate() {
        match (places.as_slice(), report) {
            ([], _) => problems.push(format!("message {seq} is missing (report {report:?})")),
            ([place], Ok(acked)) if place == acked => {}
            ([place], Ok(acked)) => problems.push(format!(
                "message {seq} stored at {}@{} but acknowledged at {}@{}",
                place.0, place.1, acked.0, acked.1
            )),
            ([_], Err(_)) => {}
            (many, _) => problems.push(format!(
                "message {seq} stored {} times: {many:?}",
                many.len()
            )),
        }
    }
    problems
}
