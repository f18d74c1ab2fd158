//! `--latency RATE,...`: produce latency at fixed offered rates, on a topic
//! with 3 partitions and replication factor 3 (`scripts/bench.sh` runs it on
//! its three-broker cluster), acks=all, linger.ms=1, 100-byte records.
//!
//! The producer sends on a schedule: record `i` is due at `start + i/rate`;
//! the loop sends every record that is due, then sleeps until the next one
//! is, so a stalled send or a full queue shows as latency instead of a
//! slower schedule (no coordinated omission). Records go round-robin over
//! the partitions. Each record's latency runs from its scheduled send time
//! to its delivery report (librdkafka's callback); the send-call latency
//! (from the moment `send` was actually called) is shown next to it. The
//! achieved rate is the records acknowledged over the time from the first
//! scheduled send to the last delivery report.
//!
//! The same schedule runs against librdkafka's in-process mock cluster
//! (3 brokers, RF 3: the mock acknowledges acks=all at once, so this is the
//! client's own floor) before Sluice, in the same minute.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::{Args, Diag, create_topic, fill_payload, wait_for_leaders};

const PARTITIONS: i32 = 3;
const REPLICATION_FACTOR: i32 = 3;
const RECORD_BYTES: usize = 100;
/// Followers start fetching only after the leaders appear; the clock starts
/// this much later (as for the RF=3 rows of `--cluster`).
const SETTLE: Duration = Duration::from_millis(1500);

/// "10000,100000" -> [10000, 100000].
pub fn parse_rates(value: &str) -> Result<Vec<u64>> {
    value
        .split(',')
        .map(|r| {
            r.trim()
                .parse::<u64>()
                .ok()
                .filter(|r| *r > 0)
                .ok_or_else(|| anyhow!("--latency: {r:?} is not a positive rate"))
        })
        .collect()
}

/// Delivery reports of the scheduled stream.
struct Reports {
    diag: Diag,
    base: Instant,
    /// When record 0 is due, in ns since `base` (the warm-up runs before).
    start_ns: AtomicU64,
    /// Nanoseconds between scheduled records.
    interval_ns: f64,
    /// When `send` was called for record `i`, in ns since `start_ns`.
    sent_ns: Vec<AtomicU64>,
    /// (from the schedule, from the send call) in microseconds.
    latencies_us: Mutex<Vec<(u32, u32)>>,
    /// The last delivery report, in ns since `start_ns`.
    last_ack_ns: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Reports {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        self.diag.log(level, fac, msg);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        self.diag.error(error, reason);
    }
}

impl ProducerContext for Reports {
    /// The record's sequence number.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let now = (self.base.elapsed().as_nanos() as u64)
            .saturating_sub(self.start_ns.load(Ordering::Relaxed));
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.first_error
                .lock()
                .unwrap()
                .get_or_insert_with(|| e.to_string());
            return;
        }
        let scheduled = (seq as f64 * self.interval_ns) as u64;
        let sent = self.sent_ns[seq].load(Ordering::Relaxed);
        let us = |from: u64| u32::try_from(now.saturating_sub(from) / 1000).unwrap_or(u32::MAX);
        self.latencies_us
            .lock()
            .unwrap()
            .push((us(scheduled), us(sent)));
        self.last_ack_ns.fetch_max(now, Ordering::Relaxed);
    }
}

/// One measured (target, rate).
pub struct Row {
    target: &'static str,
    offered: u64,
    achieved: f64,
    /// Sorted, from the schedule.
    scheduled_us: Vec<u32>,
    /// Sorted, from the send call.
    sent_us: Vec<u32>,
}

/// The p-th percentile in ms (nearest rank) of sorted microseconds.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    let n = sorted_us.len();
    let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n);
    f64::from(sorted_us[rank - 1]) / 1000.0
}

pub fn run(args: &Args, rates: &[u64]) -> Result<()> {
    let bootstrap = args
        .bootstrap
        .clone()
        .ok_or_else(|| anyhow!("--latency needs --bootstrap (a cluster of 3 brokers)"))?;
    let secs = args.latency_secs;
    println!("## Produce latency at fixed offered rates\n");
    println!(
        "- topic: {PARTITIONS} partitions, RF {REPLICATION_FACTOR}; records of {RECORD_BYTES} B \
         sent round-robin on a fixed schedule for {secs} s per rate"
    );
    println!(
        "- producer: ThreadedProducer, acks=all, linger.ms=1, default batch.size, compression none"
    );
    println!("- Sluice: {bootstrap}; mock: librdkafka's in-process mock cluster (3 brokers)");
    println!("- librdkafka {}\n", rdkafka::util::get_rdkafka_version().1);
    let mut rows = Vec::new();
    for &rate in rates {
        let mock = MockCluster::new(3).context("starting the librdkafka mock cluster")?;
        let topic = format!("{}-latency-{rate}-mock", args.topic);
        mock.create_topic(&topic, PARTITIONS, REPLICATION_FACTOR)
            .context("mock create_topic")?;
        rows.push(measure(
            "mock",
            &mock.bootstrap_servers(),
            &topic,
            rate,
            secs,
        )?);
        drop(mock);
        let topic = format!("{}-latency-{rate}", args.topic);
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &bootstrap);
        create_topic(&cfg, &topic, PARTITIONS, REPLICATION_FACTOR)?;
        rows.push(measure("sluice", &bootstrap, &topic, rate, secs)?);
    }
    print_rows(&rows);
    Ok(())
}

fn measure(
    target: &'static str,
    bootstrap: &str,
    topic: &str,
    rate: u64,
    secs: u64,
) -> Result<Row> {
    let records = usize::try_from(rate * secs)?;
    let interval_ns = 1e9 / rate as f64;
    let producer: ThreadedProducer<Reports> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("compression.type", "none")
        .set("allow.auto.create.topics", "false")
        .set(
            "queue.buffering.max.messages",
            records.clamp(100_000, i32::MAX as usize).to_string(),
        )
        .create_with_context(Reports {
            diag: Diag(target),
            base: Instant::now(),
            start_ns: AtomicU64::new(0),
            interval_ns,
            sent_ns: (0..records).map(|_| AtomicU64::new(0)).collect(),
            latencies_us: Mutex::new(Vec::with_capacity(records)),
            last_ack_ns: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
        })
        .context("creating the producer")?;
    wait_for_leaders(producer.client(), topic, PARTITIONS)?;
    thread::sleep(SETTLE);
    // Warm the connections to every leader: the first record to each pays for
    // connecting and a Metadata round trip, which is not the steady state.
    let warm = Reports::warm_up(&producer, topic)?;
    eprintln!("[{target}] {rate} records/s for {secs} s (warm-up took {warm:?})");

    let mut payload = vec![0u8; RECORD_BYTES];
    // The schedule starts now: record 0 is due at once.
    let ctx = producer.context();
    let start_ns = ctx.base.elapsed().as_nanos() as u64;
    ctx.start_ns.store(start_ns, Ordering::Relaxed);
    let due_ns = |seq: usize| start_ns + (seq as f64 * interval_ns) as u64;
    let mut seq = 0;
    while seq < records {
        let now = ctx.base.elapsed().as_nanos() as u64;
        while seq < records && due_ns(seq) <= now {
            fill_payload(&mut payload, seq as u64);
            ctx.sent_ns[seq].store(
                ctx.base.elapsed().as_nanos() as u64 - start_ns,
                Ordering::Relaxed,
            );
            let record = BaseRecord::<(), [u8], usize>::with_opaque_to(topic, seq)
                .partition((seq % PARTITIONS as usize) as i32)
                .payload(&payload);
            match producer.send(record) {
                Ok(()) => seq += 1,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    thread::sleep(Duration::from_micros(100));
                }
                Err((e, _)) => bail!("[{target}] send failed: {e}"),
            }
        }
        if seq < records {
            let wait = due_ns(seq).saturating_sub(ctx.base.elapsed().as_nanos() as u64);
            thread::sleep(Duration::from_nanos(wait));
        }
    }
    producer
        .flush(Duration::from_secs(120))
        .with_context(|| format!("[{target}] flush"))?;
    let failed = ctx.failed.load(Ordering::Relaxed);
    ensure!(
        failed == 0,
        "[{target}] {failed} records failed delivery, first: {}",
        ctx.first_error.lock().unwrap().clone().unwrap_or_default()
    );
    let latencies = std::mem::take(&mut *ctx.latencies_us.lock().unwrap());
    ensure!(
        latencies.len() == records,
        "[{target}] {} delivery reports for {records} records",
        latencies.len()
    );
    let elapsed_ns = ctx.last_ack_ns.load(Ordering::Relaxed).max(1);
    let (mut scheduled_us, mut sent_us): (Vec<u32>, Vec<u32>) = latencies.into_iter().unzip();
    scheduled_us.sort_unstable();
    sent_us.sort_unstable();
    Ok(Row {
        target,
        offered: rate,
        achieved: records as f64 / (elapsed_ns as f64 / 1e9),
        scheduled_us,
        sent_us,
    })
}

impl Reports {
    /// Sends one record to each partition and waits for the reports; their
    /// latencies are dropped. Returns how long that took.
    fn warm_up(producer: &ThreadedProducer<Reports>, topic: &str) -> Result<Duration> {
        let start = Instant::now();
        let payload = [0u8; RECORD_BYTES];
        for p in 0..PARTITIONS {
            // Sequence 0: its report is dropped below, and its slot written
            // again when the scheduled record 0 is sent.
            let record = BaseRecord::<(), [u8], usize>::with_opaque_to(topic, 0)
                .partition(p)
                .payload(&payload);
            producer
                .send(record)
                .map_err(|(e, _)| anyhow!("warm-up send: {e}"))?;
        }
        producer
            .flush(Duration::from_secs(30))
            .context("warm-up flush")?;
        let ctx = producer.context();
        ensure!(
            ctx.failed.load(Ordering::Relaxed) == 0,
            "warm-up failed: {}",
            ctx.first_error.lock().unwrap().clone().unwrap_or_default()
        );
        ctx.latencies_us.lock().unwrap().clear();
        Ok(start.elapsed())
    }
}

fn print_rows(rows: &[Row]) {
    println!(
        "| target | offered records/s | achieved records/s | p50 ms | p99 ms | p99.9 ms | max ms | p99 from send call ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let p = |p| percentile_ms(&r.scheduled_us, p);
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            if r.target == "mock" {
                "mock cluster"
            } else {
                "Sluice"
            },
            r.offered,
            r.achieved,
            p(50.0),
            p(99.0),
            p(99.9),
            p(100.0),
            percentile_ms(&r.sent_us, 99.0)
        );
    }
    println!(
        "\nLatency: from each record's scheduled send time to its delivery report \
         (acks=all: every in-sync replica has it). Target: p99 <= 5 ms at 100000 records/s.\n"
    );
}
