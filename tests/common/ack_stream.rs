//! Producing with librdkafka and checking what was acknowledged: a steady
//! acks=all stream in the background ([`AckStream`]) that records the offset
//! of every acknowledged sequence number and every delivery error; one-shot
//! produces; reading a whole partition back; and the check that every
//! acknowledged message sits at the offset it was acknowledged at.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, FutureRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{Broker, consumer_config, producer_config, wait_until_ok};

/// How long a one-shot produce, a flush or a full read may take.
pub const CLIENT_WAIT: Duration = Duration::from_secs(60);
/// Messages the stream may have unacknowledged at once.
const STREAM_WINDOW: u64 = 16;
/// The stream's pace: one message per this interval while under the window
/// (a steady load, gentle on a 2-core machine running three brokers).
const STREAM_PACE: Duration = Duration::from_millis(4);

/// The value of stream message `seq` with `tag`.
pub fn stream_value(tag: &str, seq: u64) -> String {
    format!("{tag}-{seq:08}")
}

#[derive(Default)]
struct Tracker {
    state: Mutex<TrackerState>,
    changed: Condvar,
}

#[derive(Default)]
struct TrackerState {
    /// seq -> (partition, offset)
    acked: BTreeMap<u64, (i32, i64)>,
    /// (seq, error)
    errors: Vec<(u64, String)>,
    settled: u64,
    sent: u64,
}

struct StreamContext(Arc<Tracker>);

impl ClientContext for StreamContext {}

impl ProducerContext for StreamContext {
    type DeliveryOpaque = Box<u64>;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: Box<u64>) {
        let mut state = self.0.state.lock().unwrap();
        match result {
            Ok(m) => {
                state.acked.insert(*seq, (m.partition(), m.offset()));
            }
            Err((e, _)) => state.errors.push((*seq, e.to_string())),
        }
        state.settled += 1;
        self.0.changed.notify_all();
    }
}

/// What a finished stream reports.
#[derive(Debug)]
pub struct StreamOutcome {
    pub tag: String,
    pub sent: u64,
    /// seq -> (partition, offset)
    pub acked: BTreeMap<u64, (i32, i64)>,
    pub errors: Vec<(u64, String)>,
}

/// A background librdkafka producer sending `<tag>-<seq>` to partition
/// `seq % partitions` of a topic, acks=all, retrying (librdkafka's default
/// retries, 60 s delivery timeout, 10 s request timeout).
pub struct AckStream {
    tag: String,
    tracker: Arc<Tracker>,
    stop: Option<mpsc::Sender<()>>,
    sender: Option<thread::JoinHandle<()>>,
    producer: Arc<ThreadedProducer<StreamContext>>,
    send_failed: Arc<AtomicBool>,
}

impl AckStream {
    pub fn start(
        bootstrap: &str,
        topic: &str,
        partitions: i32,
        tag: &str,
        extra: &[(&str, &str)],
    ) -> AckStream {
        let tracker = Arc::new(Tracker::default());
        let mut config = producer_config(bootstrap);
        config
            .set("message.timeout.ms", "60000")
            .set("request.timeout.ms", "10000")
            .set("retry.backoff.ms", "100")
            .set("linger.ms", "2")
            .set("topic.metadata.refresh.interval.ms", "2000");
        for (k, v) in extra {
            config.set(*k, *v);
        }
        let producer: ThreadedProducer<StreamContext> = config
            .create_with_context(StreamContext(tracker.clone()))
            .unwrap_or_else(|e| panic!("create the stream producer: {e}"));
        let producer = Arc::new(producer);
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let send_failed = Arc::new(AtomicBool::new(false));
        let sender = {
            let (tracker, producer, topic, tag, send_failed) = (
                tracker.clone(),
                producer.clone(),
                topic.to_owned(),
                tag.to_owned(),
                send_failed.clone(),
            );
            thread::Builder::new()
                .name(format!("stream-{tag}"))
                .spawn(move || {
                    let mut seq = 0u64;
                    loop {
                        // Pace, and stop promptly when told.
                        match stop_rx.recv_timeout(STREAM_PACE) {
                            Err(mpsc::RecvTimeoutError::Timeout) => {}
                            _ => return,
                        }
                        {
                            let state = tracker.state.lock().unwrap();
                            if state.sent - state.settled >= STREAM_WINDOW {
                                let _ = tracker
                                    .changed
                                    .wait_timeout(state, Duration::from_millis(100))
                                    .unwrap();
                                continue;
                            }
                        }
                        let value = stream_value(&tag, seq);
                        let record = BaseRecord::<(), String, Box<u64>>::with_opaque_to(
                            &topic,
                            Box::new(seq),
                        )
                        .partition((seq % partitions as u64) as i32)
                        .payload(&value);
                        match producer.send(record) {
                            Ok(()) => {
                                tracker.state.lock().unwrap().sent += 1;
                                seq += 1;
                            }
                            Err((e, _)) => {
                                eprintln!("stream {tag}: cannot queue seq {seq}: {e}");
                                send_failed.store(true, Ordering::SeqCst);
                            }
                        }
                    }
                })
                .expect("start the stream thread")
        };
        AckStream {
            tag: tag.to_owned(),
            tracker,
            stop: Some(stop_tx),
            sender: Some(sender),
            producer,
            send_failed,
        }
    }

    pub fn acked_count(&self) -> usize {
        self.tracker.state.lock().unwrap().acked.len()
    }

    /// Waits until `more` messages beyond those acknowledged now are
    /// acknowledged: the stream makes progress. Panics with the delivery
    /// errors so far after `timeout`.
    pub fn wait_for_progress(&self, more: usize, timeout: Duration, step: &str) {
        let target = self.acked_count() + more;
        wait_until_ok(
            &format!("the {} stream to get {more} more acks {step}", self.tag),
            timeout,
            || {
                let state = self.tracker.state.lock().unwrap();
                if state.acked.len() >= target {
                    Ok(())
                } else {
                    Err(format!(
                        "{} acked of {target} wanted, {} sent, {} delivery errors (last: {:?})",
                        state.acked.len(),
                        state.sent,
                        state.errors.len(),
                        state.errors.last()
                    ))
                }
            },
        );
    }

    /// Stops sending, waits until every sent message is acknowledged or has
    /// failed, and returns the record.
    pub fn finish(mut self) -> StreamOutcome {
        drop(self.stop.take());
        if let Some(sender) = self.sender.take() {
            sender.join().expect("stream thread panicked");
        }
        let _ = self.producer.flush(CLIENT_WAIT);
        let state = self.tracker.state.lock().unwrap();
        assert_eq!(
            state.settled,
            state.sent,
            "stream {}: {} messages neither acknowledged nor failed {CLIENT_WAIT:?} after the last send",
            self.tag,
            state.sent - state.settled
        );
        assert!(
            !self.send_failed.load(Ordering::SeqCst),
            "stream {}: librdkafka refused to queue a message (see stderr)",
            self.tag
        );
        StreamOutcome {
            tag: self.tag.clone(),
            sent: state.sent,
            acked: state.acked.clone(),
            errors: state.errors.clone(),
        }
    }
}

/// Produces `values` to `topic`-`partition` (acks=all), all queued at once;
/// returns each one's result: its offset or the delivery error.
pub fn produce_settled(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    values: &[String],
    extra: &[(&str, &str)],
) -> Vec<Result<i64, String>> {
    let mut config = producer_config(bootstrap);
    config.set("message.timeout.ms", "30000");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let producer: rdkafka::producer::FutureProducer = config
        .create()
        .unwrap_or_else(|e| panic!("create producer for {bootstrap}: {e}"));
    let futures: Vec<_> = values
        .iter()
        .map(|v| {
            producer
                .send_result(
                    FutureRecord::<(), _>::to(topic)
                        .partition(partition)
                        .payload(v.as_str()),
                )
                .unwrap_or_else(|(e, _)| panic!("queue a message for {topic}-{partition}: {e}"))
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let mut results = Vec::with_capacity(futures.len());
        for f in futures {
            results.push(match f.await {
                Ok(Ok(delivery)) => Ok(delivery.offset),
                Ok(Err((e, _))) => Err(e.to_string()),
                Err(_) => Err("delivery future cancelled".to_owned()),
            });
        }
        results
    })
}

/// Like [`produce_settled`], but every message must be acknowledged;
/// returns value -> offset.
pub fn produce_acked(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    values: &[String],
) -> BTreeMap<String, i64> {
    let results = produce_settled(bootstrap, topic, partition, values, &[]);
    values
        .iter()
        .zip(results)
        .map(|(v, r)| match r {
            Ok(offset) => (v.clone(), offset),
            Err(e) => panic!("produce {v:?} to {topic}-{partition} (acks=all): {e}"),
        })
        .collect()
}

/// `<prefix>-0 .. <prefix>-<n-1>`.
pub fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:05}")).collect()
}

/// Every message of `topic`-`partition` from its log start to its high
/// watermark, as (offset, value), read by librdkafka through `bootstrap`.
pub fn read_partition(bootstrap: &str, topic: &str, partition: i32) -> Vec<(i64, String)> {
    let consumer: BaseConsumer = consumer_config(bootstrap, "cluster-failover-reader")
        .set("fetch.wait.max.ms", "100")
        .create()
        .unwrap_or_else(|e| panic!("create consumer for {bootstrap}: {e}"));
    let (low, high) = wait_until_ok(
        &format!("the watermarks of {topic}-{partition}"),
        CLIENT_WAIT,
        || consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)),
    );
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)
        .expect("partition list");
    consumer.assign(&tpl).expect("assign");
    let mut messages = Vec::new();
    let mut errors = Vec::new();
    let deadline = Instant::now() + CLIENT_WAIT;
    while messages.last().is_none_or(|(o, _)| *o < high - 1) && high > low {
        if Instant::now() > deadline {
            panic!(
                "reading {topic}-{partition} [{low}, {high}) through {bootstrap}: only up to {:?} \
                 after {CLIENT_WAIT:?}; errors: {errors:?}",
                messages.last()
            );
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let value = m
                    .payload()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_default();
                messages.push((m.offset(), value));
            }
            Some(Err(e)) => errors.push(e.to_string()),
            None => {}
        }
    }
    messages
}

/// Checks a partition's log against what producers were told: offsets
/// strictly increase (no offset holds two messages), every acknowledged value
/// is at the offset it was acknowledged at, and (when `unique`) no value is
/// stored twice. `acked`: value -> offset. Panics naming each problem.
pub fn assert_acknowledged_present(
    what: &str,
    log: &[(i64, String)],
    acked: &BTreeMap<String, i64>,
    unique: bool,
) {
    let problems = acknowledged_problems(log, acked, unique);
    assert!(
        problems.is_empty(),
        "{what}: {} problems in a log of {} messages with {} acknowledged:\n  - {}",
        problems.len(),
        log.len(),
        acked.len(),
        problems.join("\n  - ")
    );
}

/// The problems [`assert_acknowledged_present`] reports, one line each.
pub fn acknowledged_problems(
    log: &[(i64, String)],
    acked: &BTreeMap<String, i64>,
    unique: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    for pair in log.windows(2) {
        if pair[1].0 <= pair[0].0 {
            problems.push(format!(
                "offset {} read after offset {} (offsets must increase)",
                pair[1].0, pair[0].0
            ));
        }
    }
    let by_offset: BTreeMap<i64, &str> = log.iter().map(|(o, v)| (*o, v.as_str())).collect();
    let mut missing = Vec::new();
    for (value, offset) in acked {
        match by_offset.get(offset) {
            Some(stored) if stored == value => {}
            Some(stored) => problems.push(format!(
                "offset {offset} holds {stored:?}, but {value:?} was acknowledged at that offset"
            )),
            None => missing.push(format!("{value:?}@{offset}")),
        }
    }
    if !missing.is_empty() {
        problems.push(format!(
            "{} acknowledged messages are gone, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        ));
    }
    if unique {
        let mut seen = BTreeSet::new();
        for (offset, value) in log {
            if !seen.insert(value) {
                problems.push(format!(
                    "{value:?} stored twice (again at {offset}) although the producer is idempotent"
                ));
            }
        }
    }
    problems
}

impl StreamOutcome {
    /// value -> offset of the acknowledged messages sent to `partition`.
    pub fn acked_in(&self, partition: i32) -> BTreeMap<String, i64> {
        self.acked
            .iter()
            .filter(|(_, (p, _))| *p == partition)
            .map(|(seq, (_, offset))| (stream_value(&self.tag, *seq), *offset))
            .collect()
    }
}

/// The bytes of every segment of `topic`-`partition` in `broker`'s log dir,
/// concatenated in offset order (what a replica stores).
pub fn replica_log_bytes(broker: &Broker, topic: &str, partition: i32) -> Vec<u8> {
    let dir = broker.log_dir().join(format!("{topic}-{partition}"));
    segment_bytes(&dir)
}

fn segment_bytes(dir: &Path) -> Vec<u8> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut logs: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    logs.iter()
        .flat_map(|p| fs::read(p).unwrap_or_default())
        .collect()
}
