//! Produce/consume throughput and latency of Sluice, measured next to
//! librdkafka's in-process mock cluster, plus the memory of an idle broker,
//! the broker's CPU per GB, the spread of consume rates and the produce
//! latency at fixed rates.
//!
//! ```text
//! cargo bench --bench throughput -- [--bootstrap HOST:PORT] [--records N]
//!     [--size BYTES[,BYTES...]] [--topic NAME] [--acks 1|all|0]
//!     [--partitions N] [--cpu-pids PID,...] [--consume-runs N]
//! cargo bench --bench throughput -- --bootstrap HOST:PORT --rss-pid PID
//!     [--idle-partitions N]
//! cargo bench --bench throughput -- --bootstrap HOST:PORT,... --cluster
//!     [--records N] [--size BYTES] [--failover-pids ID=PID,ID=PID,...]
//! cargo bench --bench throughput -- --bootstrap HOST:PORT,... --latency RATE,...
//!     [--latency-secs S]
//! ```
//! `scripts/bench.sh` starts ZooKeeper and brokers and runs them for you
//! (`BENCH_CLUSTER=1` adds a three-broker cluster, `--cluster` and
//! `--latency`).
//!
//! `--cluster` measures a replicated cluster instead (no mock): produce and
//! consume for RF=1 and RF=3, each with acks=1, acks=all, and acks=all from
//! an idempotent producer, as below; then,
//! with `--failover-pids`, how long a leader failover takes (see
//! `throughput/cluster.rs`).
//!
//! `--latency 10000,100000` measures produce latency at those offered rates
//! instead: a producer on a fixed schedule, RF 3, 3 partitions, acks=all,
//! linger.ms=1, next to the mock cluster (see `throughput/latency.rs`).
//!
//! For each target (always the mock cluster, and the Sluice broker at
//! `--bootstrap` when given) it:
//! 1. creates the topic (CreateTopics on Sluice; the mock has no CreateTopics,
//!    so its own API there) and waits until Metadata shows a leader for every
//!    partition;
//! 2. produces `--records` key-less records of `--size` bytes with a
//!    `ThreadedProducer` (linger.ms=5, default batch.size, no compression),
//!    timing each record from `send` to its delivery report (the send time
//!    rides in the delivery opaque), and reports records/s, MB/s (10^6 bytes)
//!    and latency p50/p99/p99.9;
//! 3. asks for the watermarks (ListOffsets), reads everything back from the
//!    log start with a `BaseConsumer` (partitions assigned directly, its group
//!    never joined, no commits, fetch.queue.backoff.ms=1 so a full local
//!    queue does not pause fetching for a second) and reports records/s and
//!    MB/s, timed from the first record received to the last. Every record
//!    carries its sequence number and a payload derived from it, so a lost,
//!    duplicated, corrupted or misnumbered record, or high watermarks that
//!    don't add up to the records produced, make the run fail with a
//!    non-zero exit.
//!
//! librdkafka's mock keeps only the last ~5 MiB of each partition (hard-coded
//! in rdkafka_mock.c), so for the mock the consume phase reads the retained
//! window again, in passes, until it has read as many records as were
//! produced (its consumer gets fetch.wait.max.ms=1 so the fetch that finds the
//! end of a pass isn't held 500 ms). Sluice must hold and return everything
//! in one pass with the default fetch.wait.max.ms.
//!
//! Why the ratio: the machine is shared and has two cores, which the broker,
//! the client and (for Sluice) ZooKeeper all compete for, so absolute figures
//! drift by tens of percent from run to run. The mock cluster runs in the same
//! process, over the same loopback, with the same client settings and in the
//! same minute, so the Sluice/mock ratio cancels most of that drift: steer by
//! the ratio, not by the absolute numbers. (The mock keeps its log in
//! memory and does no validation, so a ratio near 1 is already good.)
//!
//! Each `--size` (a comma-separated list runs one after the other, each on
//! its own topic) prints its table. `--consume-runs N` reads the topic back N
//! times (a new consumer each time) and prints each run's GB/s with
//! min/median/max; `--cpu-pids` reads the utime+stime of those broker
//! processes around Sluice's produce and consume phases and prints broker
//! CPU seconds per GB in and out (see `throughput/cost.rs`).
//!
//! `--rss-pid PID` measures memory only (no throughput run): it reads
//! VmRSS/VmHWM of the broker process from /proc/PID/status, creates a topic
//! with `--idle-partitions` partitions (default 100), waits for all leaders
//! and ~2 s more, and reads them again. Give it a freshly started broker so
//! buffers left over from producing don't count.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, DeliveryResult, Producer, ProducerContext, ThreadedProducer,
};

const USAGE: &str = "usage: cargo bench --bench throughput -- [--bootstrap HOST:PORT] \
[--records N] [--size BYTES[,BYTES...]] [--topic NAME] [--acks 1|all|0] [--partitions N] \
[--cpu-pids PID,...] [--consume-runs N] [--rss-pid PID [--idle-partitions N]] \
[--cluster [--failover-pids ID=PID,...]] [--latency RATE,... [--latency-secs S]]";
const TIMEOUT: Duration = Duration::from_secs(30);

#[path = "throughput/cluster.rs"]
mod cluster;
#[path = "throughput/consume.rs"]
mod consume;
#[path = "throughput/cost.rs"]
mod cost;
#[path = "throughput/latency.rs"]
mod latency;
#[path = "throughput/raw_fetch.rs"]
mod raw_fetch;

use consume::{Consumed, consume_all};

#[derive(Clone)]
struct Args {
    bootstrap: Option<String>,
    records: usize,
    size: usize,
    /// Every `--size` (a run per size); `size` is the one being run.
    sizes: Vec<usize>,
    topic: String,
    acks: String,
    partitions: i32,
    rss_pid: Option<u32>,
    idle_partitions: i32,
    /// Replication factor of the created topic (1 outside `--cluster`).
    replication_factor: i32,
    /// enable.idempotence for the producer (`--cluster` rows only).
    idempotence: bool,
    /// Pause between the leaders appearing and the clock starting.
    settle: Duration,
    cluster: bool,
    /// broker id -> pid, for the failover measurement of `--cluster`.
    failover_pids: Vec<(i32, u32)>,
    /// Broker processes whose CPU time the Sluice runs measure.
    cpu_pids: Vec<u32>,
    /// Times each target's topic is read back.
    consume_runs: usize,
    /// Offered rates of `--latency` (empty: no latency run).
    latency_rates: Vec<u64>,
    /// Seconds each `--latency` rate runs.
    latency_secs: u64,
}

fn parse_args() -> Result<Args> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let mut a = Args {
        bootstrap: None,
        records: 200_000,
        size: 100,
        sizes: vec![100],
        topic: format!("bench-{}-{stamp}", std::process::id()),
        acks: "1".into(),
        partitions: 1,
        rss_pid: None,
        idle_partitions: 100,
        replication_factor: 1,
        idempotence: false,
        settle: Duration::ZERO,
        cluster: false,
        failover_pids: Vec::new(),
        cpu_pids: Vec::new(),
        consume_runs: 1,
        latency_rates: Vec::new(),
        latency_secs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue; // cargo bench passes it to harness = false targets
        }
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--cluster" {
            a.cluster = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"))?;
        let num = |what: &str| -> Result<u64> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| anyhow!("{what}: not a positive number: {value}"))
        };
        match flag.as_str() {
            "--bootstrap" => a.bootstrap = Some(value.clone()),
            "--records" => a.records = num(&flag)? as usize,
            "--size" => {
                a.sizes = value
                    .split(',')
                    .map(|v| v.trim().parse::<usize>().ok().filter(|n| *n > 0))
                    .collect::<Option<_>>()
                    .ok_or_else(|| anyhow!("--size: not positive numbers: {value}"))?;
                a.size = a.sizes[0];
            }
            "--topic" => a.topic = value.clone(),
            "--acks" => {
                ensure!(
                    matches!(value.as_str(), "0" | "1" | "all" | "-1"),
                    "--acks: 0, 1 or all, not {value}"
                );
                a.acks = if value == "-1" {
                    "all".into()
                } else {
                    value.clone()
                };
            }
            "--partitions" => a.partitions = i32::try_from(num(&flag)?)?,
            "--rss-pid" => a.rss_pid = Some(u32::try_from(num(&flag)?)?),
            "--idle-partitions" => a.idle_partitions = i32::try_from(num(&flag)?)?,
            "--failover-pids" => a.failover_pids = cluster::parse_pids(&value)?,
            "--cpu-pids" => {
                a.cpu_pids = value
                    .split(',')
                    .map(|v| v.trim().parse::<u32>().ok())
                    .collect::<Option<_>>()
                    .ok_or_else(|| anyhow!("--cpu-pids: not pids: {value}"))?;
            }
            "--consume-runs" => a.consume_runs = num(&flag)? as usize,
            "--latency" => a.latency_rates = latency::parse_rates(&value)?,
            "--latency-secs" => a.latency_secs = num(&flag)?,
            _ => bail!("unknown argument {flag}\n{USAGE}"),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = parse_args()?;
    if let Some(pid) = args.rss_pid {
        let bootstrap = args
            .bootstrap
            .as_deref()
            .ok_or_else(|| anyhow!("--rss-pid needs --bootstrap"))?;
        return idle_rss(
            bootstrap,
            pid,
            &format!("{}-idle", args.topic),
            args.idle_partitions,
        );
    }
    if !args.latency_rates.is_empty() {
        return latency::run(&args, &args.latency_rates);
    }
    if args.cluster {
        return cluster::run(&args);
    }
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let mut run_args = args.clone();
        run_args.size = size;
        if args.sizes.len() > 1 {
            run_args.topic = format!("{}-{size}b", args.topic);
        }
        rows.push(run_size(&run_args)?);
    }
    cost::print_cost(&rows);
    cost::print_fetch(&rows);
    Ok(())
}

/// One record size: the mock, then Sluice, and their table.
fn run_size(args: &Args) -> Result<(Results, Option<Results>)> {
    println!("## Throughput: mock cluster vs Sluice\n");
    println!(
        "- records: {}, record size: {} B (key-less, incompressible), acks: {}",
        args.records, args.size, args.acks
    );
    println!(
        "- topic: {} ({} partition(s), RF 1)",
        args.topic, args.partitions
    );
    println!("- producer: ThreadedProducer, linger.ms=5, default batch.size, compression none");
    println!(
        "- consumer: BaseConsumer, assign at the log start, no group join or commits, fetch.queue.backoff.ms=1, default fetch.wait.max.ms (mock: 1)"
    );
    println!("- librdkafka {}", rdkafka::util::get_rdkafka_version().1);
    println!(
        "- Sluice: {}\n",
        args.bootstrap
            .as_deref()
            .unwrap_or("not measured (no --bootstrap)")
    );

    let mock = {
        let cluster = MockCluster::new(1).context("starting the librdkafka mock cluster")?;
        let bootstrap = cluster.bootstrap_servers();
        run_target("mock", &bootstrap, Some(&cluster), args)?
        // the mock cluster stops here, before Sluice is measured
    };
    let sluice = match &args.bootstrap {
        Some(b) => Some(run_target("sluice", b, None, args)?),
        None => None,
    };
    print_table(&mock, sluice.as_ref());
    Ok((mock, sluice))
}

/// Prints librdkafka's warnings and errors, which would otherwise go to the
/// `log` crate and be lost.
struct Diag(&'static str);

impl ClientContext for Diag {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        if level as i32 <= RDKafkaLogLevel::Warning as i32 {
            eprintln!("[{}] librdkafka {fac}: {msg}", self.0);
        }
    }
    fn error(&self, error: KafkaError, reason: &str) {
        if let KafkaError::Global(RDKafkaErrorCode::PartitionEOF) = error {
            return; // enable.partition.eof also reports here; expected
        }
        eprintln!("[{}] librdkafka error: {error}: {reason}", self.0);
    }
}
impl ConsumerContext for Diag {}

/// Delivery reports: per-record latency in microseconds, and failures.
struct Deliveries {
    diag: Diag,
    base: Instant,
    latencies_us: Mutex<Vec<u32>>,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// An idempotent producer has its producer id (librdkafka's statistics).
    pid_assigned: AtomicBool,
}

impl ClientContext for Deliveries {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        self.diag.log(level, fac, msg);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        self.diag.error(error, reason);
    }
    fn stats(&self, statistics: rdkafka::Statistics) {
        if statistics.eos.is_some_and(|e| e.idemp_state == "Assigned") {
            self.pid_assigned.store(true, Ordering::Relaxed);
        }
    }
}

impl ProducerContext for Deliveries {
    /// When `send` was called, in nanoseconds since `base`.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_ns: usize) {
        let now_ns = self.base.elapsed().as_nanos() as u64;
        match result {
            Ok(_) => {
                let us = now_ns.saturating_sub(sent_ns as u64) / 1000;
                self.latencies_us
                    .lock()
                    .unwrap()
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first_error
                    .lock()
                    .unwrap()
                    .get_or_insert_with(|| e.to_string());
            }
        }
    }
}

struct Results {
    produce: Duration,
    latencies_us: Vec<u32>, // sorted
    /// The first consume run (the throughput table's).
    consumed: Consumed,
    /// Every consume run, the first included (`--consume-runs`).
    consume_runs: Vec<Consumed>,
    /// As many reads by the raw Fetch loop (`throughput/raw_fetch.rs`).
    raw_runs: Vec<Consumed>,
    /// Broker CPU time of each phase (Sluice with `--cpu-pids`).
    cpu: Option<cost::BrokerCpu>,
    records: usize,
    size: usize,
}

impl Results {
    fn produce_rate(&self) -> f64 {
        self.records as f64 / self.produce.as_secs_f64()
    }
    fn consume_rate(&self) -> f64 {
        self.consumed.records as f64 / self.consumed.elapsed.as_secs_f64()
    }
    /// The p-th percentile latency in milliseconds (nearest rank).
    fn latency_ms(&self, p: f64) -> f64 {
        let n = self.latencies_us.len();
        let rank = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, n);
        f64::from(self.latencies_us[rank - 1]) / 1000.0
    }
}

fn run_target(
    name: &'static str,
    bootstrap: &str,
    mock: Option<&MockCluster<'static, DefaultProducerContext>>,
    args: &Args,
) -> Result<Results> {
    eprintln!(
        "[{name}] bootstrap {bootstrap}: creating topic {}",
        args.topic
    );
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap);
    match mock {
        Some(cluster) => cluster
            .create_topic(&args.topic, args.partitions, 1)
            .context("mock create_topic")?,
        None => create_topic(&cfg, &args.topic, args.partitions, args.replication_factor)?,
    }

    let producer: ThreadedProducer<Deliveries> = cfg
        .clone()
        .set("linger.ms", "5")
        .set("acks", &args.acks)
        .set("enable.idempotence", args.idempotence.to_string())
        .set(
            "statistics.interval.ms",
            if args.idempotence { "20" } else { "0" },
        )
        .set("compression.type", "none")
        .set("allow.auto.create.topics", "false")
        .set(
            "queue.buffering.max.messages",
            args.records.clamp(100_000, i32::MAX as usize).to_string(),
        )
        .create_with_context(Deliveries {
            diag: Diag(name),
            base: Instant::now(),
            latencies_us: Mutex::new(Vec::with_capacity(args.records)),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            pid_assigned: AtomicBool::new(false),
        })
        .context("creating the producer")?;
    wait_for_leaders(producer.client(), &args.topic, args.partitions)?;
    thread::sleep(args.settle);
    // An idempotent producer asks for its producer id once at start, retrying
    // every 500 ms until a broker connection is up: not the broker's
    // throughput, so the clock starts once it has one.
    let deadline = Instant::now() + TIMEOUT;
    while args.idempotence && !producer.context().pid_assigned.load(Ordering::Relaxed) {
        ensure!(
            Instant::now() < deadline,
            "[{name}] no producer id after {TIMEOUT:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }

    eprintln!(
        "[{name}] producing {} records of {} B",
        args.records, args.size
    );
    let mut payload = vec![0u8; args.size];
    let ctx = producer.context();
    let measure_cpu = mock.is_none() && !args.cpu_pids.is_empty();
    let cpu = || -> Result<f64> {
        if measure_cpu {
            cost::cpu_seconds(&args.cpu_pids)
        } else {
            Ok(0.0)
        }
    };
    let cpu_before_produce = cpu()?;
    let start = Instant::now();
    for seq in 0..args.records {
        fill_payload(&mut payload, seq as u64);
        loop {
            let sent_ns = ctx.base.elapsed().as_nanos() as usize;
            let record = BaseRecord::<(), [u8], usize>::with_opaque_to(&args.topic, sent_ns)
                .payload(&payload);
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    thread::sleep(Duration::from_millis(1))
                }
                Err((e, _)) => bail!("[{name}] send failed: {e}"),
            }
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .with_context(|| format!("[{name}] flush"))?;
    let produce = start.elapsed();
    let produce_cpu = cpu()? - cpu_before_produce;
    let failed = ctx.failed.load(Ordering::Relaxed);
    if failed > 0 {
        bail!(
            "[{name}] {failed} records failed delivery, first: {}",
            ctx.first_error.lock().unwrap().clone().unwrap_or_default()
        );
    }
    let mut latencies_us = std::mem::take(&mut *ctx.latencies_us.lock().unwrap());
    ensure!(
        latencies_us.len() == args.records,
        "[{name}] {} delivery reports for {} records",
        latencies_us.len(),
        args.records
    );
    latencies_us.sort_unstable();
    drop(producer);

    eprintln!("[{name}] consuming them back");
    let cpu_before_consume = cpu()?;
    let mut consume_runs = Vec::with_capacity(args.consume_runs);
    for _ in 0..args.consume_runs {
        consume_runs.push(consume_all(name, &cfg, args, mock.is_some())?);
    }
    let consume_cpu = cpu()? - cpu_before_consume;
    // The raw Fetch loop reads every partition from the one broker it
    // connects to: single-broker runs only (the --cluster rows have none).
    let mut raw_runs = Vec::with_capacity(args.consume_runs);
    if !bootstrap.contains(',') {
        for _ in 0..args.consume_runs {
            raw_runs.push(raw_fetch::raw_fetch_all(name, bootstrap, args)?);
        }
    }
    let raw_cpu = cpu()? - cpu_before_consume - consume_cpu;
    Ok(Results {
        produce,
        latencies_us,
        consumed: consume_runs[0].clone(),
        consume_runs,
        raw_runs,
        cpu: measure_cpu.then_some(cost::BrokerCpu {
            produce_s: produce_cpu,
            consume_s: consume_cpu,
            raw_fetch_s: raw_cpu,
        }),
        records: args.records,
        size: args.size,
    })
}

/// CreateTopics with replication factor `rf`, retried for up to 30 s while a
/// just-started broker has not registered itself yet. The topic must not
/// exist before (its old records would spoil the count).
fn create_topic(cfg: &ClientConfig, topic: &str, partitions: i32, rf: i32) -> Result<()> {
    let admin: AdminClient<Diag> = cfg
        .create_with_context(Diag("sluice"))
        .context("creating the admin client")?;
    let opts = AdminOptions::new()
        .request_timeout(Some(TIMEOUT))
        .operation_timeout(Some(TIMEOUT));
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(rf));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + TIMEOUT;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match rt.block_on(admin.create_topics([&new_topic], &opts)) {
            Ok(results) => match results.into_iter().next() {
                Some(Ok(_)) => return Ok(()),
                // after a failed try the topic may be ours from that try
                Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) if attempt > 1 => {
                    return Ok(());
                }
                Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
                    bail!("topic {topic} already exists; pick a new --topic")
                }
                Some(Err((_, code))) => code.to_string(),
                None => "empty CreateTopics response".to_string(),
            },
            Err(e) => e.to_string(),
        };
        ensure!(Instant::now() < deadline, "CreateTopics {topic}: {error}");
        eprintln!("[sluice] CreateTopics {topic}: {error}; retrying");
        thread::sleep(Duration::from_millis(500));
    }
}

/// Polls Metadata until the topic has `partitions` partitions, each with a
/// leader and no error.
fn wait_for_leaders<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partitions: i32,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match client.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            Ok(md) => match md.topics().iter().find(|t| t.name() == topic) {
                None => last = "topic missing from Metadata".into(),
                Some(t) if t.error().is_some() => last = format!("topic error {:?}", t.error()),
                Some(t) => {
                    let ready = t
                        .partitions()
                        .iter()
                        .filter(|p| p.leader() >= 0 && p.error().is_none())
                        .count();
                    if ready == partitions as usize && t.partitions().len() == ready {
                        return Ok(());
                    }
                    last = format!(
                        "{ready} of {partitions} partitions have a leader ({} listed)",
                        t.partitions().len()
                    );
                }
            },
            Err(e) => last = format!("Metadata failed: {e}"),
        }
        thread::sleep(Duration::from_millis(100));
    }
    bail!("topic {topic} not ready after 60 s: {last}")
}

/// Record `seq`: xorshift bytes seeded by it, the first 8 bytes replaced by
/// `seq` itself (little-endian) when the record is big enough.
fn fill_payload(buf: &mut [u8], seq: u64) {
    let mut x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    if buf.len() >= 8 {
        buf[..8].copy_from_slice(&seq.to_le_bytes());
    }
}

fn print_table(mock: &Results, sluice: Option<&Results>) {
    type Metric = fn(&Results) -> f64;
    let rows: [(&str, Metric, bool); 7] = [
        ("produce records/s", |r| r.produce_rate(), true),
        (
            "produce MB/s",
            |r| r.produce_rate() * r.size as f64 / 1e6,
            true,
        ),
        ("produce latency p50 ms", |r| r.latency_ms(50.0), false),
        ("produce latency p99 ms", |r| r.latency_ms(99.0), false),
        ("produce latency p99.9 ms", |r| r.latency_ms(99.9), false),
        ("consume records/s", |r| r.consume_rate(), true),
        (
            "consume MB/s",
            |r| r.consume_rate() * r.size as f64 / 1e6,
            true,
        ),
    ];
    let fmt = |v: f64| {
        if v >= 1000.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    let mut lines = vec![[
        "metric".to_string(),
        "mock cluster".into(),
        "Sluice".into(),
        "Sluice/mock".into(),
    ]];
    for (label, f, higher_better) in rows {
        let m = f(mock);
        let (s, ratio) = match sluice {
            Some(r) => {
                let s = f(r);
                let dir = if higher_better {
                    "higher is better"
                } else {
                    "lower is better"
                };
                (fmt(s), format!("{:.2} ({dir})", s / m))
            }
            None => ("-".into(), "-".into()),
        };
        lines.push([label.into(), fmt(m), s, ratio]);
    }
    let c = &mock.consumed;
    let widths: Vec<usize> = (0..4)
        .map(|c| lines.iter().map(|l| l[c].len()).max().unwrap_or(0))
        .collect();
    println!();
    for (i, l) in lines.iter().enumerate() {
        println!(
            "| {:<w0$} | {:>w1$} | {:>w2$} | {:<w3$} |",
            l[0],
            l[1],
            l[2],
            l[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        if i == 0 {
            println!(
                "|{}|{}:|{}:|{}|",
                "-".repeat(widths[0] + 2),
                "-".repeat(widths[1] + 1),
                "-".repeat(widths[2] + 1),
                "-".repeat(widths[3] + 2)
            );
        }
    }
    println!("\nConsume rates run from the first record received to the last.");
    if c.window < mock.records {
        println!(
            "The mock kept only the last {} of {} records (librdkafka caps a mock partition at ~5 MiB); \
             its consume rates come from reading that window {:.1} times.",
            c.window,
            mock.records,
            c.records as f64 / c.window as f64
        );
    }
    println!();
}

/// VmRSS and VmHWM of `pid`, in MiB.
fn memory_mib(pid: u32) -> Result<(f64, f64)> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |key: &str| -> Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .ok_or_else(|| anyhow!("{key} missing in {path}"))?;
        let kib: f64 = line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn idle_rss(bootstrap: &str, pid: u32, topic: &str, partitions: i32) -> Result<()> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap);
    let client: BaseConsumer<Diag> = cfg.create_with_context(Diag("sluice"))?;
    client
        .fetch_metadata(None, TIMEOUT)
        .context("Metadata from the broker")?;
    let (rss0, hwm0) = memory_mib(pid)?;
    eprintln!("[sluice] creating topic {topic} with {partitions} partitions");
    create_topic(&cfg, topic, partitions, 1)?;
    wait_for_leaders(client.client(), topic, partitions)?;
    drop(client);
    thread::sleep(Duration::from_secs(2));
    let (rss, hwm) = memory_mib(pid)?;
    println!("## Idle broker memory (pid {pid})\n");
    println!("| broker state | VmRSS MiB | VmHWM MiB |");
    println!("|---|---:|---:|");
    println!("| started, before the topic | {rss0:.1} | {hwm0:.1} |");
    println!("| idle, topic with {partitions} partitions | {rss:.1} | {hwm:.1} |");
    println!(
        "\nidle broker with {partitions} partitions: RSS {rss:.1} MiB ({:+.1} MiB for the topic, {:.0} KiB per partition)\n",
        rss - rss0,
        (rss - rss0) * 1024.0 / f64::from(partitions)
    );
    Ok(())
}
