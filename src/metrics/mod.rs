//! Metrics: every metric name, the process-wide counters, and the Prometheus
//! text endpoint (`metrics.listener`).
//!
//! - `registry.rs`: the counters bumped on the hot path (atomics), reached
//!   through [`global`]; uses nothing internal, so any room may record.
//! - `state.rs`: the gauges computed at scrape time, through a
//!   [`StateSource`] (a broker's reads its replica manager, metadata cache,
//!   controller handle and ZooKeeper: `broker/metrics_state.rs`).
//! - `exposition.rs`: the text format. `http.rs`: the tiny HTTP server.
//!
//! Only `broker.rs` starts the endpoint. Definitions worth knowing (also in
//! each HELP line): a request error is a request refused as a whole (the
//! connection is closed, as Kafka does); partition errors count Produce and
//! Fetch partitions answered with a non-zero error code; messages and bytes
//! in count leader appends; messages and bytes out count consumer fetches,
//! and follower fetches count only as replication bytes out.

use std::sync::LazyLock;

pub mod exposition;
pub mod http;
pub mod registry;
pub mod state;

pub use http::{HttpApp, HttpFuture, HttpRequest, HttpResponse, run_metrics_server};
pub use registry::{Registry, count_records};
pub use state::{GaugeFuture, StateGauges, StateSource};

use exposition::{Exposition, Kind};

static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::default);

/// The process's counters.
pub fn global() -> &'static Registry {
    &GLOBAL
}

pub const MESSAGES_IN: &str = "sluice_messages_in_total";
pub const BYTES_IN: &str = "sluice_bytes_in_total";
pub const MESSAGES_OUT: &str = "sluice_messages_out_total";
pub const BYTES_OUT: &str = "sluice_bytes_out_total";
pub const REPLICATION_BYTES_OUT: &str = "sluice_replication_bytes_out_total";
pub const REQUESTS: &str = "sluice_requests_total";
pub const REQUEST_ERRORS: &str = "sluice_request_errors_total";
pub const PARTITION_ERRORS: &str = "sluice_partition_errors_total";
pub const REQUEST_DURATION: &str = "sluice_request_duration_seconds";
pub const ISR_SHRINKS: &str = "sluice_isr_shrinks_total";
pub const ISR_EXPANDS: &str = "sluice_isr_expands_total";
pub const ACTIVE_CONTROLLER: &str = "sluice_active_controller";
pub const OFFLINE_PARTITIONS: &str = "sluice_offline_partitions";
pub const UNDER_REPLICATED: &str = "sluice_under_replicated_partitions";
pub const LEADER_PARTITIONS: &str = "sluice_leader_partitions";
pub const PARTITIONS: &str = "sluice_partitions";
pub const LOG_SIZE: &str = "sluice_log_size_bytes";
pub const GROUP_LAG: &str = "sluice_consumer_group_lag";
pub const FETCH_SESSIONS: &str = "sluice_incremental_fetch_sessions";
pub const FETCH_SESSION_PARTITIONS: &str = "sluice_incremental_fetch_partitions_cached";
pub const FETCH_SESSION_EVICTIONS: &str = "sluice_incremental_fetch_session_evictions_total";
pub const FETCH_ZERO_COPY_BYTES: &str = "sluice_fetch_zero_copy_bytes_total";

/// Reads one counter of a topic's totals.
type TopicField = fn(&registry::TopicTotals) -> u64;

/// One scrape: every family, counters first, then the state gauges.
pub async fn render(source: &dyn StateSource) -> String {
    let state = source.collect().await;
    let registry = global();
    let hosted = state.log_sizes.iter().map(|(tp, _)| tp.topic.as_str());
    registry.retain_topics(&hosted.collect());
    let mut e = Exposition::default();

    let topics = registry.topic_totals();
    let per_topic: [(&str, &str, TopicField); 5] = [
        (
            MESSAGES_IN,
            "Records appended to partitions this broker leads, from Produce requests.",
            |t| t.messages_in,
        ),
        (
            BYTES_IN,
            "Record batch bytes appended to partitions this broker leads, from Produce requests.",
            |t| t.bytes_in,
        ),
        (
            MESSAGES_OUT,
            "Records returned to consumers by Fetch (whole batches, as sent; follower fetches excluded).",
            |t| t.messages_out,
        ),
        (
            BYTES_OUT,
            "Record batch bytes returned to consumers by Fetch (follower fetches excluded).",
            |t| t.bytes_out,
        ),
        (
            REPLICATION_BYTES_OUT,
            "Record batch bytes returned to follower replicas by Fetch.",
            |t| t.replication_bytes_out,
        ),
    ];
    for (name, help, value) in per_topic {
        e.family(name, Kind::Counter, help);
        for (topic, totals) in &topics {
            e.sample(name, &[("topic", topic)], value(totals));
        }
    }

    let apis: Vec<_> = registry
        .apis()
        .map(|(key, stats)| (format!("{key:?}"), stats))
        .collect();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    e.family(REQUESTS, Kind::Counter, "Requests received, by API.");
    for (api, stats) in &apis {
        e.sample(REQUESTS, &[("api", api)], load(&stats.requests));
    }
    e.family(
        REQUEST_ERRORS,
        Kind::Counter,
        "Requests refused as a whole (an API or version this broker does not serve, an undecodable body or an unencodable response; the connection is closed), by API.",
    );
    for (api, stats) in &apis {
        e.sample(REQUEST_ERRORS, &[("api", api)], load(&stats.request_errors));
    }
    e.family(
        PARTITION_ERRORS,
        Kind::Counter,
        "Partitions of Produce and Fetch responses answered with a non-zero error code, by API.",
    );
    for (api, stats) in &apis {
        e.sample(
            PARTITION_ERRORS,
            &[("api", api)],
            load(&stats.partition_errors),
        );
    }
    e.family(
        REQUEST_DURATION,
        Kind::Histogram,
        "Time from a request's header being read to its response being ready (long-poll waits included), by API.",
    );
    for (api, stats) in &apis {
        e.histogram(REQUEST_DURATION, &[("api", api)], &stats.latency.snapshot());
    }

    e.family(
        ISR_SHRINKS,
        Kind::Counter,
        "ISR shrinks written by this broker as leader.",
    );
    e.sample(ISR_SHRINKS, &[], load(&registry.isr_shrinks));
    e.family(
        ISR_EXPANDS,
        Kind::Counter,
        "ISR expansions written by this broker as leader.",
    );
    e.sample(ISR_EXPANDS, &[], load(&registry.isr_expands));
    e.family(
        FETCH_SESSION_EVICTIONS,
        Kind::Counter,
        "Incremental fetch sessions (KIP-227) evicted to make room for another (Kafka's IncrementalFetchSessionEvictionsPerSec).",
    );
    e.sample(
        FETCH_SESSION_EVICTIONS,
        &[],
        load(&registry.fetch_session_evictions),
    );
    e.family(
        FETCH_ZERO_COPY_BYTES,
        Kind::Counter,
        "Record bytes of Fetch responses sent from the segment files by sendfile(2), without a copy through the broker.",
    );
    e.sample(
        FETCH_ZERO_COPY_BYTES,
        &[],
        load(&registry.fetch_zero_copy_bytes),
    );

    render_state(&mut e, &state);
    e.finish()
}

fn render_state(e: &mut Exposition, state: &state::StateGauges) {
    e.family(
        ACTIVE_CONTROLLER,
        Kind::Gauge,
        "1 if this broker is the active controller, else 0.",
    );
    e.sample(ACTIVE_CONTROLLER, &[], u8::from(state.active_controller));
    e.family(
        OFFLINE_PARTITIONS,
        Kind::Gauge,
        "Partitions without a live leader, as the active controller sees them (0 on other brokers).",
    );
    e.sample(
        OFFLINE_PARTITIONS,
        &[],
        state.offline_partitions.unwrap_or(0),
    );
    e.family(
        UNDER_REPLICATED,
        Kind::Gauge,
        "Partitions this broker leads whose ISR is smaller than their replica set.",
    );
    e.sample(UNDER_REPLICATED, &[], state.under_replicated_partitions);
    e.family(
        LEADER_PARTITIONS,
        Kind::Gauge,
        "Partitions this broker leads.",
    );
    e.sample(LEADER_PARTITIONS, &[], state.leader_partitions);
    e.family(
        PARTITIONS,
        Kind::Gauge,
        "Partitions this broker hosts (led or followed).",
    );
    e.sample(PARTITIONS, &[], state.partitions);
    e.family(
        FETCH_SESSIONS,
        Kind::Gauge,
        "Incremental fetch sessions (KIP-227) this broker holds for followers and consumers (Kafka's NumIncrementalFetchSessions).",
    );
    e.sample(FETCH_SESSIONS, &[], state.fetch_sessions);
    e.family(
        FETCH_SESSION_PARTITIONS,
        Kind::Gauge,
        "Partitions held by those sessions (Kafka's NumIncrementalFetchPartitionsCached).",
    );
    e.sample(
        FETCH_SESSION_PARTITIONS,
        &[],
        state.fetch_session_partitions,
    );
    e.family(
        LOG_SIZE,
        Kind::Gauge,
        "Bytes of every segment of a partition's local log.",
    );
    for (tp, size) in &state.log_sizes {
        let partition = tp.partition.to_string();
        e.sample(
            LOG_SIZE,
            &[("topic", &tp.topic), ("partition", &partition)],
            size,
        );
    }
    e.family(
        GROUP_LAG,
        Kind::Gauge,
        "High watermark minus the group's committed offset, for partitions this broker leads (committed offsets read from ZooKeeper).",
    );
    for (group, tp, lag) in state.group_lag.iter().flatten() {
        let partition = tp.partition.to_string();
        e.sample(
            GROUP_LAG,
            &[
                ("group", group),
                ("topic", &tp.topic),
                ("partition", &partition),
            ],
            lag,
        );
    }
}
