//! `--cluster`: the benchmark on a replicated cluster (started by
//! `scripts/bench.sh` with `BENCH_CLUSTER=1`).
//!
//! 1. Produce and consume, exactly as for one broker (`run_target`), on six
//!    fresh topics: RF=1 and RF=3, each with acks=1, acks=all, and acks=all
//!    from an idempotent producer (enable.idempotence=true, so at most 5
//!    requests in flight per connection); printed as one table with each
//!    row's produce rate relative to RF=1 acks=1 (the machine's drift
//!    cancels in the ratio, as with the mock), and with `--cpu-pids` the
//!    brokers' CPU seconds per GB produced.
//! 2. With `--failover-pids ID=PID,...`: a topic with RF=3 and
//!    min.insync.replicas=2, a steady acks=all stream (one record every 2 ms,
//!    librdkafka retrying), SIGKILL to the partition leader's process, and
//!    the time from the kill to the first acknowledgement of a record sent
//!    after it. ZooKeeper mode detects a dead broker only when its session
//!    expires, so this is zookeeper.session.timeout.ms plus the election
//!    and the clients' metadata refresh.

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::{Args, Diag, Results, TIMEOUT, run_target, wait_for_leaders};

/// How long the stream runs before the kill.
const WARM_UP: Duration = Duration::from_secs(3);
/// The stream's pace.
const STREAM_INTERVAL: Duration = Duration::from_millis(2);
/// How long the stream keeps going after the first post-kill ack.
const COOL_DOWN: Duration = Duration::from_secs(2);
/// Give up if no record sent after the kill is acknowledged by then.
const FAILOVER_LIMIT: Duration = Duration::from_secs(120);

/// "1=123,2=456" -> [(1, 123), (2, 456)].
pub fn parse_pids(value: &str) -> Result<Vec<(i32, u32)>> {
    value
        .split(',')
        .map(|pair| {
            let (id, pid) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--failover-pids: {pair:?} is not ID=PID"))?;
            Ok((
                id.trim().parse().context("--failover-pids: broker id")?,
                pid.trim().parse().context("--failover-pids: pid")?,
            ))
        })
        .collect()
}

pub fn run(args: &Args) -> Result<()> {
    let bootstrap = args
        .bootstrap
        .clone()
        .ok_or_else(|| anyhow!("--cluster needs --bootstrap"))?;
    println!("## Replicated cluster: RF=1 vs RF=3, acks=1 vs acks=all\n");
    println!(
        "- records: {}, record size: {} B, {} partition(s), bootstrap {bootstrap}",
        args.records, args.size, args.partitions
    );
    println!("- producer: ThreadedProducer, linger.ms=5, default batch.size, compression none");
    println!(
        "- RF=3 rows start 1.5 s after the leaders appear (followers fetching); idempotent \
         rows once the producer has its producer id"
    );
    println!("- librdkafka {}\n", rdkafka::util::get_rdkafka_version().1);
    let mut rows: Vec<Row> = Vec::new();
    for rf in [1, 3] {
        for (acks, idempotence) in [("1", false), ("all", false), ("all", true)] {
            let mut run_args = args.clone();
            let idem = if idempotence { "-idempotent" } else { "" };
            run_args.topic = format!("{}-rf{rf}-acks{acks}{idem}", args.topic);
            run_args.acks = acks.to_owned();
            run_args.replication_factor = rf;
            run_args.idempotence = idempotence;
            // A follower whose first fetch reached the leader before the
            // leader's own LeaderAndIsr backs off replica.fetch.backoff.ms
            // (1 s), as in Kafka; the first acks=all produce would wait it out.
            run_args.settle = Duration::from_millis(if rf > 1 { 1500 } else { 0 });
            let results = run_target("sluice", &bootstrap, None, &run_args)
                .with_context(|| format!("RF {rf}, acks={acks}{idem}"))?;
            rows.push((rf, acks, idempotence, results));
        }
    }
    print_matrix(&rows);
    if !args.failover_pids.is_empty() {
        failover(&bootstrap, &format!("{}-failover", args.topic), args)?;
    }
    Ok(())
}

/// RF, acks, enable.idempotence, what was measured.
type Row<'a> = (i32, &'a str, bool, Results);

fn print_matrix(rows: &[Row]) {
    let base = rows[0].3.produce_rate();
    println!(
        "| RF | acks | idempotent | produce records/s | produce MB/s | vs RF=1 acks=1 | latency p50 ms | latency p99 ms | consume records/s | brokers' CPU s per GB in |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (rf, acks, idempotence, r) in rows {
        let idempotence = if *idempotence { "yes" } else { "no" };
        let cpu = r.cpu.map_or("-".to_owned(), |c| {
            format!("{:.1}", c.produce_s / ((r.records * r.size) as f64 / 1e9))
        });
        println!(
            "| {rf} | {acks} | {idempotence} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {cpu} |",
            r.produce_rate(),
            r.produce_rate() * r.size as f64 / 1e6,
            r.produce_rate() / base,
            r.latency_ms(50.0),
            r.latency_ms(99.0),
            r.consume_rate()
        );
    }
    for rf in [1, 3] {
        let rate = |idem: bool| {
            rows.iter()
                .find(|(r, acks, i, _)| *r == rf && *acks == "all" && *i == idem)
                .map(|row| row.3.produce_rate())
        };
        if let (Some(plain), Some(idem)) = (rate(false), rate(true)) {
            println!(
                "\nRF={rf}, acks=all: idempotent / non-idempotent produce rate = {:.2}",
                idem / plain
            );
        }
    }
    println!(
        "\nLatency: from send to the delivery report, per record. Non-idempotent rows use \
         librdkafka's default max.in.flight (1000000 per connection); idempotent ones at most 5. \
         CPU: utime+stime of all three brokers during the produce phase, per GB of payload.\n"
    );
}

/// Every delivery report of the failover stream: (sent, acknowledged or
/// failed) in nanoseconds since the stream's start, and whether it succeeded.
struct FailoverReports {
    base: Instant,
    reports: Mutex<Vec<(u64, u64, bool)>>,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for FailoverReports {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        // The dead leader's refused connections are expected; keep errors only.
        if level as i32 <= RDKafkaLogLevel::Error as i32 {
            eprintln!("[failover] librdkafka {fac}: {msg}");
        }
    }
    fn error(&self, _error: KafkaError, _reason: &str) {}
}

impl ProducerContext for FailoverReports {
    /// When `send` was called, in nanoseconds since `base`.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_ns: usize) {
        let now = self.base.elapsed().as_nanos() as u64;
        if let Err((e, _)) = result {
            self.first_error
                .lock()
                .unwrap()
                .get_or_insert_with(|| e.to_string());
        }
        self.reports
            .lock()
            .unwrap()
            .push((sent_ns as u64, now, result.is_ok()));
    }
}

#[allow(unsafe_code)] // kill(2) of the controller's process (SIGKILL)
fn failover(bootstrap: &str, topic: &str, args: &Args) -> Result<()> {
    eprintln!("[failover] creating {topic} (RF 3, min.insync.replicas=2)");
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap);
    let admin: AdminClient<Diag> = cfg.create_with_context(Diag("failover"))?;
    let opts = AdminOptions::new()
        .request_timeout(Some(TIMEOUT))
        .operation_timeout(Some(TIMEOUT));
    let new_topic =
        NewTopic::new(topic, 1, TopicReplication::Fixed(3)).set("min.insync.replicas", "2");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match rt.block_on(admin.create_topics([&new_topic], &opts))?.pop() {
        Some(Ok(_)) => {}
        Some(Err((_, code))) => bail!("CreateTopics {topic}: {code}"),
        None => bail!("CreateTopics {topic}: no result"),
    }
    let meta: BaseConsumer<Diag> = cfg.create_with_context(Diag("failover"))?;
    wait_for_leaders(meta.client(), topic, 1)?;
    let leader = leader_of(&meta, topic)?;
    let (_, pid) = *args
        .failover_pids
        .iter()
        .find(|(id, _)| *id == leader)
        .ok_or_else(|| anyhow!("no pid given for the leader, broker {leader}"))?;

    let producer: ThreadedProducer<FailoverReports> = cfg
        .clone()
        .set("acks", "all")
        .set("linger.ms", "0")
        .set("message.timeout.ms", FAILOVER_LIMIT.as_millis().to_string())
        .set("retry.backoff.ms", "50")
        .set("retry.backoff.max.ms", "200")
        .create_with_context(FailoverReports {
            base: Instant::now(),
            reports: Mutex::new(Vec::new()),
            first_error: Mutex::new(None),
        })?;
    let ctx = producer.context();
    let payload = vec![0u8; args.size];
    let mut kill_ns = None;
    let mut recovered_at = None;
    loop {
        let now = ctx.base.elapsed();
        if kill_ns.is_none() && now >= WARM_UP {
            eprintln!("[failover] SIGKILL to broker {leader} (pid {pid}), the leader");
            // SAFETY: plain kill(2) of the pid the caller gave us.
            let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            ensure!(rc == 0, "kill {pid}: {}", std::io::Error::last_os_error());
            kill_ns = Some(ctx.base.elapsed().as_nanos() as u64);
        }
        if let Some(kill) = kill_ns {
            if recovered_at.is_none() {
                recovered_at = first_ack_after(ctx, kill).map(|_| Instant::now());
            }
            if recovered_at.is_some_and(|t| t.elapsed() >= COOL_DOWN) {
                break;
            }
            let since_kill = (ctx.base.elapsed().as_nanos() as u64).saturating_sub(kill);
            ensure!(
                Duration::from_nanos(since_kill) < FAILOVER_LIMIT,
                "no record sent after the kill was acknowledged within {FAILOVER_LIMIT:?}"
            );
        }
        let sent_ns = now.as_nanos() as usize;
        let record = BaseRecord::<(), [u8], usize>::with_opaque_to(topic, sent_ns)
            .partition(0)
            .payload(&payload);
        if let Err((e, _)) = producer.send(record) {
            bail!("[failover] send failed: {e}");
        }
        thread::sleep(STREAM_INTERVAL);
    }
    producer.flush(FAILOVER_LIMIT).context("[failover] flush")?;
    let kill = kill_ns.expect("killed");
    let first = first_ack_after(ctx, kill).expect("recovered");
    let reports = ctx.reports.lock().unwrap();
    let failed = reports.iter().filter(|r| !r.2).count();
    let mut acks: Vec<u64> = reports.iter().filter(|r| r.2).map(|r| r.1).collect();
    acks.sort_unstable();
    let longest_gap = acks.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let new_leader = leader_of(&meta, topic).unwrap_or(-1);
    let secs = |ns: u64| ns as f64 / 1e9;
    println!("## Leader failover (RF 3, min.insync.replicas=2, acks=all)\n");
    println!("| measurement | value |");
    println!("|---|---:|");
    println!("| leader killed (SIGKILL) | broker {leader} (pid {pid}) |");
    println!("| new leader | broker {new_leader} |");
    println!(
        "| SIGKILL -> first acknowledged produce sent after it | {:.2} s |",
        secs(first - kill)
    );
    println!(
        "| longest gap between acknowledgements | {:.2} s |",
        secs(longest_gap)
    );
    println!(
        "| records acknowledged / failed | {} / {failed} |",
        acks.len()
    );
    if let Some(e) = ctx.first_error.lock().unwrap().as_ref() {
        println!("| first delivery error | {e} |");
    }
    println!(
        "\nThe dead broker is noticed when its ZooKeeper session expires \
         (zookeeper.session.timeout.ms), so that timeout dominates.\n"
    );
    Ok(())
}

/// When the first record sent at or after `kill_ns` was acknowledged.
fn first_ack_after(ctx: &FailoverReports, kill_ns: u64) -> Option<u64> {
    ctx.reports
        .lock()
        .unwrap()
        .iter()
        .filter(|(sent, _, ok)| *ok && *sent >= kill_ns)
        .map(|(_, acked, _)| *acked)
        .min()
}

fn leader_of(client: &BaseConsumer<Diag>, topic: &str) -> Result<i32> {
    let md = client
        .fetch_metadata(Some(topic), TIMEOUT)
        .context("Metadata")?;
    md.topics()
        .iter()
        .find(|t| t.name() == topic)
        .and_then(|t| t.partitions().first())
        .map(|p| p.leader())
        .ok_or_else(|| anyhow!("{topic} missing from Metadata"))
}
