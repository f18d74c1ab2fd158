//! What a throughput run costs the broker, and how steady its fetches are:
//! the broker processes' CPU time (`--cpu-pids`, utime+stime from
//! /proc/PID/stat, summed over the pids) around the produce and the consume
//! phase, per GB of record payload in and out; and the consume rate of each
//! of `--consume-runs` reads of the same topic with min/median/max. Printed
//! as two tables over every `--size`, with the mock cluster's rates (same
//! client, same minute) as the client's own limit.

use anyhow::{Context as _, Result, anyhow};

use super::Results;
use super::consume::Consumed;

/// CPU seconds (user + system) used so far by all of `pids`.
#[allow(unsafe_code)] // sysconf(_SC_CLK_TCK): the unit of /proc/PID/stat's times
pub fn cpu_seconds(pids: &[u32]) -> Result<f64> {
    // SAFETY: sysconf has no preconditions.
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks_per_s = if ticks_per_s > 0 {
        ticks_per_s as f64
    } else {
        100.0
    };
    let mut ticks = 0u64;
    for pid in pids {
        let path = format!("/proc/{pid}/stat");
        let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        // The command name (field 2) may hold spaces: count from the ')'.
        let after = stat
            .rsplit_once(')')
            .ok_or_else(|| anyhow!("{path}: no ')'"))?
            .1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 here
        // (counted from field 3, the state).
        for i in [11, 12] {
            ticks += fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .ok_or_else(|| anyhow!("{path}: field {} unreadable", i + 3))?;
        }
    }
    Ok(ticks as f64 / ticks_per_s)
}

/// Broker CPU seconds spent in one run's phases.
#[derive(Debug, Clone, Copy)]
pub struct BrokerCpu {
    pub produce_s: f64,
    /// The librdkafka consume runs.
    pub consume_s: f64,
    /// The raw Fetch runs (`raw_fetch.rs`).
    pub raw_fetch_s: f64,
}

/// Cost table: per record size, broker CPU s per GB in and out next to the
/// rates of Sluice and of the mock.
pub fn print_cost(rows: &[(Results, Option<Results>)]) {
    let rows: Vec<(&Results, &Results, BrokerCpu)> = rows
        .iter()
        .filter_map(|(m, s)| s.as_ref().and_then(|s| s.cpu.map(|c| (m, s, c))))
        .collect();
    if rows.is_empty() {
        return;
    }
    println!("## Broker CPU per GB (utime+stime of the broker process)\n");
    println!(
        "| record size | produce MB/s Sluice / mock | broker CPU s per GB in | consume MB/s Sluice / mock | broker CPU s per GB out |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for (mock, sluice, cpu) in rows {
        let mb = |r: &Results, rate: f64| rate * r.size as f64 / 1e6;
        let gb_in = (sluice.records * sluice.size) as f64 / 1e9;
        let consumed: usize = sluice.consume_runs.iter().map(|c| c.records).sum();
        let gb_out = (consumed * sluice.size) as f64 / 1e9;
        println!(
            "| {} B | {:.0} / {:.0} | {:.2} | {:.0} / {:.0} | {:.2} |",
            sluice.size,
            mb(sluice, sluice.produce_rate()),
            mb(mock, mock.produce_rate()),
            cpu.produce_s / gb_in,
            mb(sluice, sluice.consume_rate()),
            mb(mock, mock.consume_rate()),
            cpu.consume_s / gb_out,
        );
    }
    println!(
        "\nGB: record payload bytes (10^9), produced once and consumed over every consume run. \
         CPU from /proc/PID/stat in clock ticks (10 ms), read before and after each phase. \
         The mock runs inside the bench process with the same client, so its rates are the \
         client's own limit.\n"
    );
}

/// Fetch table: each consume run's GB/s with min/median/max, per size and
/// consumer (librdkafka, the raw Fetch loop), with the broker's CPU per GB
/// out of those runs.
pub fn print_fetch(rows: &[(Results, Option<Results>)]) {
    let runs = rows.first().map_or(0, |(m, _)| m.consume_runs.len());
    if runs < 2 {
        return;
    }
    println!("## Fetch: consume GB/s, {runs} runs over the same records\n");
    let runs_header: String = (1..=runs).map(|i| format!(" run {i} |")).collect();
    println!(
        "| record size | target | consumer |{runs_header} min | median | max | broker CPU s per GB out |"
    );
    println!("|---:|---|---|{}---:|---:|---:|---:|", "---:|".repeat(runs));
    for (mock, sluice) in rows {
        for (name, r) in [("mock cluster", Some(mock)), ("Sluice", sluice.as_ref())] {
            let Some(r) = r else { continue };
            for (consumer, consumed) in
                [("librdkafka", &r.consume_runs), ("raw Fetch", &r.raw_runs)]
            {
                if consumed.is_empty() {
                    continue;
                }
                let cpu = r.cpu.map(|c| match consumer {
                    "librdkafka" => c.consume_s,
                    _ => c.raw_fetch_s,
                });
                fetch_row(r.size, name, consumer, consumed, cpu);
            }
        }
    }
    println!(
        "\nEach run: a new consumer reads the topic from its log start (Sluice: all of it in one \
         pass; the mock: its ~5 MiB window, in passes), timed from the first record to the last \
         (raw Fetch: whole passes for at least 1 s, from the first request to the last answer; \
         batch headers checked, offsets contiguous, no CRC). GB: record payload bytes. Target: Sluice >= 1.5 GB/s at 1 KiB, \
         steadily.\n"
    );
}

fn fetch_row(size: usize, target: &str, consumer: &str, runs: &[Consumed], cpu_s: Option<f64>) {
    let mut gbs: Vec<f64> = runs
        .iter()
        .map(|c| c.records as f64 * size as f64 / c.elapsed.as_secs_f64() / 1e9)
        .collect();
    let cells: String = gbs.iter().map(|g| format!(" {g:.2} |")).collect();
    gbs.sort_by(f64::total_cmp);
    let gb_out = runs.iter().map(|c| c.records).sum::<usize>() as f64 * size as f64 / 1e9;
    let cpu = cpu_s.map_or("-".to_string(), |s| format!("{:.2}", s / gb_out));
    println!(
        "| {size} B | {target} | {consumer} |{cells} {:.2} | {:.2} | {:.2} | {cpu} |",
        gbs[0],
        gbs[gbs.len() / 2],
        gbs[gbs.len() - 1]
    );
}
