//! The consume phase of a throughput run: read a topic back from its log
//! start with a `BaseConsumer` and check every record (see `run_target` in
//! `throughput.rs`).

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::{Args, Diag, TIMEOUT, fill_payload};

/// What the consume phase measured.
#[derive(Clone)]
pub struct Consumed {
    /// From the first record received to the last one.
    pub elapsed: Duration,
    /// Records read (more than produced when the mock's window was re-read).
    pub records: usize,
    /// Records the target still held (the mock keeps only ~5 MiB).
    pub window: usize,
}

/// Reads every partition from its log start to its end and checks each
/// record: size, sequence number seen once per pass, payload bytes,
/// contiguous offsets within the ListOffsets watermarks, which must cover
/// every produced record. Sluice must still hold all of them (log start 0).
/// librdkafka's mock keeps only the last ~5 MiB of each partition, so there
/// the retained window is read again, in passes, until at least as many
/// records as were produced have been read.
pub fn consume_all(
    name: &'static str,
    cfg: &ClientConfig,
    args: &Args,
    mock: bool,
) -> Result<Consumed> {
    let mut cfg = cfg.clone();
    // librdkafka refuses assign() without a group.id; the group is never
    // joined and nothing is committed.
    cfg.set("group.id", format!("{}-reader", args.topic))
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // When the broker outruns this loop, librdkafka's local queue fills
        // (queued.min.messages) and by default it pauses fetching for a whole
        // second, which would measure the client's back-off, not the broker.
        // The mock's small window never fills it; a broker holding every
        // record does.
        .set("fetch.queue.backoff.ms", "1");
    if mock {
        // Only matters for a fetch that finds no data, i.e. at the end of
        // each pass; the mock would hold it 500 ms by default.
        cfg.set("fetch.wait.max.ms", "1");
    }
    let consumer: BaseConsumer<Diag> = cfg
        .create_with_context(Diag(name))
        .context("creating the consumer")?;
    let parts = args.partitions as usize;
    let mut marks = Vec::with_capacity(parts);
    // With acks=1 on a replicated topic the high watermark (what consumers
    // may read) follows the followers, a moment after the last ack.
    let watermarks_deadline = Instant::now() + TIMEOUT;
    loop {
        marks.clear();
        for p in 0..args.partitions {
            let (low, high) = consumer
                .fetch_watermarks(&args.topic, p, TIMEOUT)
                .context("ListOffsets")?;
            ensure!(
                mock || low == 0,
                "[{name}] partition {p}: log starts at {low}, not 0"
            );
            marks.push((low, high));
        }
        let high_sum: i64 = marks.iter().map(|m| m.1).sum();
        if high_sum >= args.records as i64 || Instant::now() > watermarks_deadline {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let high_sum: i64 = marks.iter().map(|m| m.1).sum();
    ensure!(
        high_sum == args.records as i64,
        "[{name}] high watermarks add up to {high_sum}, not {}",
        args.records
    );
    let window = marks.iter().map(|(l, h)| (h - l) as usize).sum::<usize>();
    ensure!(window > 0, "[{name}] the topic holds no records");
    let mut tpl = TopicPartitionList::new();
    for (p, (low, _)) in marks.iter().enumerate() {
        tpl.add_partition_offset(&args.topic, p as i32, Offset::Offset(*low))?;
    }

    let mut seen_in_pass = vec![0u32; args.records];
    let mut expected = vec![0u8; args.size];
    let mut total = 0usize;
    let (mut first, mut last) = (None, Instant::now());
    for pass in 1u32.. {
        let mut next_offset: Vec<i64> = marks.iter().map(|m| m.0).collect();
        let mut at_eof = vec![false; parts];
        let mut count = 0usize;
        let mut last_progress = Instant::now();
        consumer.assign(&tpl)?;
        while count < window || !at_eof.iter().all(|e| *e) {
            ensure!(
                last_progress.elapsed() < Duration::from_secs(20),
                "[{name}] pass {pass}: read {count} of {window} records, nothing new for 20 s"
            );
            let m = match consumer.poll(Duration::from_millis(100)) {
                None => continue,
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    at_eof[p as usize] = true;
                    continue;
                }
                Some(Err(e)) => bail!("[{name}] consume error: {e}"),
                Some(Ok(m)) => m,
            };
            let now = Instant::now();
            first.get_or_insert(now);
            (last, last_progress) = (now, now);
            let (p, off) = (m.partition() as usize, m.offset());
            at_eof[p] = false;
            ensure!(
                off == next_offset[p],
                "[{name}] partition {p}: offset {off} where {} was expected",
                next_offset[p]
            );
            ensure!(
                off < marks[p].1,
                "[{name}] partition {p}: offset {off} beyond the high watermark {}",
                marks[p].1
            );
            next_offset[p] += 1;
            let body = m.payload().unwrap_or_default();
            ensure!(
                body.len() == args.size,
                "[{name}] record {p}/{off} has {} bytes, not {}",
                body.len(),
                args.size
            );
            if args.size >= 8 {
                let seq = u64::from_le_bytes(body[..8].try_into()?) as usize;
                ensure!(
                    seq < args.records && seen_in_pass[seq] < pass,
                    "[{name}] record {p}/{off}: sequence {seq} unknown or repeated"
                );
                seen_in_pass[seq] = pass;
                fill_payload(&mut expected, seq as u64);
                ensure!(
                    body == expected.as_slice(),
                    "[{name}] record {seq} at {p}/{off}: payload corrupted"
                );
            }
            count += 1;
        }
        total += count;
        if total >= args.records {
            break;
        }
    }
    eprintln!(
        "[{name}] read {total} records ({window} held of {} produced), payloads and offsets verified",
        args.records
    );
    Ok(Consumed {
        elapsed: last - first.expect("records were read"),
        records: total,
        window,
    })
}
