//! The suite's workload, real librdkafka clients: an idempotent acks=all
//! producer writing unique values that carry a per-partition sequence
//! ([`value_of`]), recording the offset of every acknowledged one; and a
//! consumer group whose members consume the topic and commit synchronously
//! every [`COMMIT_INTERVAL`], recording what they read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, Producer as _, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::types::RDKafkaErrorCode;

use crate::common::{consumer_config, producer_config};

/// Messages the producer may have unacknowledged at once per partition (a
/// partition that stops taking writes does not hold up the others).
const PARTITION_WINDOW: u64 = 16;
/// One message per this interval while under the window (about 250/s: a
/// steady load that leaves the 2-core machine room for three brokers).
const PACE: Duration = Duration::from_millis(4);
/// How often the producer looks for a fatal (idempotence) error.
const FATAL_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long `finish` waits for the last deliveries (what is still
/// outstanding then counts as unsettled, and is purged).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How often each group member commits what it consumed.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(500);
/// At most this many error lines are kept per kind (the counts are exact).
const KEPT_ERRORS: usize = 20;

/// The value of sequence number `seq` of partition `partition`.
pub fn value_of(partition: i32, seq: u64) -> String {
    format!("p{partition:03}-{seq:010}")
}

/// (partition, seq) of a [`value_of`] value.
pub fn parse_value(value: &str) -> Option<(i32, u64)> {
    let (p, seq) = value.strip_prefix('p')?.split_once('-')?;
    Some((p.parse().ok()?, seq.parse().ok()?))
}

#[derive(Default)]
struct Tracker {
    state: Mutex<ProducerState>,
    changed: Condvar,
}

#[derive(Default)]
struct ProducerState {
    /// partition -> seq -> acknowledged offset
    acked: BTreeMap<i32, BTreeMap<u64, i64>>,
    /// partition -> when its last acknowledgement came
    last_ack: BTreeMap<i32, Instant>,
    error_count: u64,
    errors: Vec<String>,
    fatal: Vec<String>,
    sent: u64,
    settled: u64,
    /// partition -> sent and not settled yet
    outstanding: BTreeMap<i32, u64>,
    /// Sent but not settled when the final flush gave up.
    unsettled_at_end: u64,
}

struct Ctx(Arc<Tracker>);

impl ClientContext for Ctx {}

impl ProducerContext for Ctx {
    type DeliveryOpaque = Box<(i32, u64)>;

    fn delivery(&self, result: &DeliveryResult<'_>, id: Box<(i32, u64)>) {
        let (partition, seq) = *id;
        let mut state = self.0.state.lock().unwrap();
        match result {
            Ok(m) => {
                state
                    .acked
                    .entry(partition)
                    .or_default()
                    .insert(seq, m.offset());
                state.last_ack.insert(partition, Instant::now());
            }
            Err((e, _)) => {
                state.error_count += 1;
                if state.errors.len() < KEPT_ERRORS {
                    state
                        .errors
                        .push(format!("{}: {e}", value_of(partition, seq)));
                }
            }
        }
        state.settled += 1;
        if let Some(n) = state.outstanding.get_mut(&partition) {
            *n = n.saturating_sub(1);
        }
        self.0.changed.notify_all();
    }
}

/// What the producer did.
#[derive(Debug, Default)]
pub struct ProducerOutcome {
    pub sent: u64,
    /// partition -> seq -> acknowledged offset
    pub acked: BTreeMap<i32, BTreeMap<u64, i64>>,
    pub error_count: u64,
    /// The first delivery errors.
    pub errors: Vec<String>,
    /// Fatal errors (each ended a producer instance; a new one took over).
    pub fatal: Vec<String>,
    /// Sent but neither acknowledged nor failed when the run ended.
    pub unsettled: u64,
}

impl ProducerOutcome {
    pub fn acked_count(&self) -> usize {
        self.acked.values().map(BTreeMap::len).sum()
    }
}

/// The background producer.
pub struct Producer {
    tracker: Arc<Tracker>,
    stop: Arc<AtomicBool>,
    sender: Option<thread::JoinHandle<()>>,
}

fn new_producer(bootstrap: &str, tracker: &Arc<Tracker>) -> ThreadedProducer<Ctx> {
    producer_config(bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "120000")
        .set("request.timeout.ms", "10000")
        .set("retry.backoff.ms", "100")
        .set("linger.ms", "5")
        .set("topic.metadata.refresh.interval.ms", "2000")
        .create_with_context(Ctx(tracker.clone()))
        .unwrap_or_else(|e| panic!("create the idempotent producer: {e}"))
}

impl Producer {
    /// Starts producing to every partition of `topic` in turn.
    pub fn start(bootstrap: &str, topic: &str, partitions: i32) -> Producer {
        let tracker = Arc::new(Tracker::default());
        let stop = Arc::new(AtomicBool::new(false));
        let sender = {
            let (tracker, stop) = (tracker.clone(), stop.clone());
            let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
            thread::Builder::new()
                .name("faults-producer".into())
                .spawn(move || send_loop(&bootstrap, &topic, partitions, &tracker, &stop))
                .expect("start the producer thread")
        };
        Producer {
            tracker,
            stop,
            sender: Some(sender),
        }
    }

    /// Acknowledgements so far.
    pub fn acked_count(&self) -> usize {
        let state = self.tracker.state.lock().unwrap();
        state.acked.values().map(BTreeMap::len).sum()
    }

    /// The partitions without an acknowledgement after `since`.
    pub fn partitions_not_acked_since(&self, since: Instant, partitions: i32) -> Vec<i32> {
        let state = self.tracker.state.lock().unwrap();
        (0..partitions)
            .filter(|p| state.last_ack.get(p).is_none_or(|t| *t <= since))
            .collect()
    }

    /// (sent, settled, delivery errors, last error) for progress messages.
    pub fn progress(&self) -> (u64, u64, u64, Option<String>) {
        let s = self.tracker.state.lock().unwrap();
        (s.sent, s.settled, s.error_count, s.errors.last().cloned())
    }

    /// Stops sending, waits for the outstanding deliveries, returns the record.
    pub fn finish(mut self) -> ProducerOutcome {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(sender) = self.sender.take() {
            sender.join().expect("the producer thread panicked");
        }
        let state = std::mem::take(&mut *self.tracker.state.lock().unwrap());
        ProducerOutcome {
            sent: state.sent,
            unsettled: state.unsettled_at_end,
            acked: state.acked,
            error_count: state.error_count,
            errors: state.errors,
            fatal: state.fatal,
        }
    }
}

fn send_loop(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    tracker: &Arc<Tracker>,
    stop: &AtomicBool,
) {
    let mut producer = new_producer(bootstrap, tracker);
    let mut next_seq = vec![0u64; partitions as usize];
    let mut partition = 0i32;
    let mut last_fatal_check = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        thread::sleep(PACE);
        if last_fatal_check.elapsed() >= FATAL_CHECK_INTERVAL {
            last_fatal_check = Instant::now();
            if let Some((code, reason)) = producer.client().fatal_error() {
                // An idempotent producer that hit a fatal error sends nothing
                // more: note it, and go on with a fresh one (a new producer
                // id; the values' sequences go on).
                tracker
                    .state
                    .lock()
                    .unwrap()
                    .fatal
                    .push(format!("{code:?}: {reason}"));
                producer.purge(PurgeConfig::default().queue().inflight());
                let _ = producer.flush(Duration::from_secs(10));
                producer = new_producer(bootstrap, tracker);
            }
        }
        {
            // The next partition (round robin) with room in its window.
            let state = tracker.state.lock().unwrap();
            let open = (0..partitions)
                .map(|i| (partition + i) % partitions)
                .find(|p| state.outstanding.get(p).copied().unwrap_or(0) < PARTITION_WINDOW);
            match open {
                Some(p) => partition = p,
                None => {
                    let _ = tracker
                        .changed
                        .wait_timeout(state, Duration::from_millis(100))
                        .unwrap();
                    continue;
                }
            }
        }
        let seq = next_seq[partition as usize];
        let value = value_of(partition, seq);
        let record = BaseRecord::<(), String, Box<(i32, u64)>>::with_opaque_to(
            topic,
            Box::new((partition, seq)),
        )
        .partition(partition)
        .payload(&value);
        // Counted before the send: the delivery report may come first.
        {
            let mut state = tracker.state.lock().unwrap();
            state.sent += 1;
            *state.outstanding.entry(partition).or_default() += 1;
        }
        let result = producer.send(record);
        if result.is_err() {
            let mut state = tracker.state.lock().unwrap();
            state.sent -= 1;
            *state.outstanding.entry(partition).or_default() -= 1;
        }
        match result {
            Ok(()) => {
                next_seq[partition as usize] += 1;
                partition = (partition + 1) % partitions;
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {}
            Err((e, _)) => {
                let mut state = tracker.state.lock().unwrap();
                state.error_count += 1;
                if state.errors.len() < KEPT_ERRORS {
                    state.errors.push(format!("cannot queue {value}: {e}"));
                }
            }
        }
    }
    let _ = producer.flush(FLUSH_TIMEOUT);
    {
        let mut state = tracker.state.lock().unwrap();
        state.unsettled_at_end = state.sent - state.settled;
    }
    producer.purge(PurgeConfig::default().queue().inflight());
    let _ = producer.flush(Duration::from_secs(5));
}

/// What one group member did.
#[derive(Debug, Default)]
pub struct MemberOutcome {
    /// (partition, offset, value) of every record it consumed, in order.
    pub consumed: Vec<(i32, i64, String)>,
    pub commits_ok: u64,
    pub commits_failed: u64,
    /// The first commit and consume errors.
    pub errors: Vec<String>,
}

/// The consumer group's members, each polling on a thread of its own.
pub struct ConsumerGroup {
    stop: Arc<AtomicBool>,
    members: Vec<thread::JoinHandle<MemberOutcome>>,
}

impl ConsumerGroup {
    /// Starts `members` consumers of `topic` in `group`.
    pub fn start(bootstrap: &str, group: &str, topic: &str, members: usize) -> ConsumerGroup {
        let stop = Arc::new(AtomicBool::new(false));
        let members = (0..members)
            .map(|i| {
                let consumer: BaseConsumer = consumer_config(bootstrap, group)
                    .set("client.id", format!("faults-member-{i}"))
                    .set("session.timeout.ms", "10000")
                    .set("heartbeat.interval.ms", "1000")
                    .set("fetch.wait.max.ms", "200")
                    .set("topic.metadata.refresh.interval.ms", "2000")
                    .create()
                    .unwrap_or_else(|e| panic!("create group member {i}: {e}"));
                consumer
                    .subscribe(&[topic])
                    .unwrap_or_else(|e| panic!("subscribe member {i}: {e}"));
                let stop = stop.clone();
                thread::Builder::new()
                    .name(format!("faults-member-{i}"))
                    .spawn(move || member_loop(&consumer, &stop))
                    .expect("start a group member")
            })
            .collect();
        ConsumerGroup { stop, members }
    }

    /// Stops every member (a last commit each) and returns what they did.
    pub fn finish(self) -> Vec<MemberOutcome> {
        self.stop.store(true, Ordering::SeqCst);
        self.members
            .into_iter()
            .map(|m| m.join().expect("a group member panicked"))
            .collect()
    }
}

fn member_loop(consumer: &BaseConsumer, stop: &AtomicBool) -> MemberOutcome {
    let mut outcome = MemberOutcome::default();
    let mut last_commit = Instant::now();
    let mut consumed_since_commit = false;
    let note = |outcome: &mut MemberOutcome, line: String| {
        if outcome.errors.len() < KEPT_ERRORS {
            outcome.errors.push(line);
        }
    };
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if (stopping || last_commit.elapsed() >= COMMIT_INTERVAL) && consumed_since_commit {
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => outcome.commits_ok += 1,
                Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(e) => {
                    outcome.commits_failed += 1;
                    note(&mut outcome, format!("commit: {e}"));
                }
            }
            last_commit = Instant::now();
            consumed_since_commit = false;
        }
        if stopping {
            return outcome;
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let value = m
                    .payload()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_default();
                outcome.consumed.push((m.partition(), m.offset(), value));
                consumed_since_commit = true;
            }
            Some(Err(e)) => note(&mut outcome, format!("poll: {e}")),
            None => {}
        }
    }
}
