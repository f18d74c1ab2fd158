//! From raw properties to a validated `BrokerConfig`: one typed read per key
//! with Kafka's default and range, Kafka's unit precedence (`.ms` over
//! `.minutes` over `.hours`), the checks that involve two keys, and the
//! sorting of the leftover keys into ignored and unknown.
//!
//! Every key is read unconditionally, even when a higher-precedence key wins,
//! so each is type-checked (as Kafka does) and none is mistaken for unknown.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::enums::{CleanupPolicy, CompressionType, TimestampType};
use super::error::{ConfigError, invalid};
use super::known_keys;
use super::listener;
use super::metrics_listener;
use super::reader::{Reader, check_kind};
use super::sasl;
use super::{BrokerConfig, RawProperties};

const MS_PER_MINUTE: i64 = 60 * 1000;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;

pub(super) fn build(props: &BTreeMap<String, String>) -> Result<BrokerConfig, ConfigError> {
    build_with_catalogue(props).map(|(config, _)| config)
}

/// Every key `build` reads, with the type and default of its read.
pub(super) type Catalogue = BTreeMap<&'static str, (super::reader::ConfigType, Option<String>)>;

/// `build`, also returning the catalogue of the keys it read.
pub(super) fn build_with_catalogue(
    props: &BTreeMap<String, String>,
) -> Result<(BrokerConfig, Catalogue), ConfigError> {
    let mut r = Reader::new(props);

    // Server basics
    let broker_id_generation_enable = r.bool("broker.id.generation.enable", true)?;
    let reserved_broker_max_id = r.int("reserved.broker.max.id", 1000, 0)?;
    let broker_id = r.int("broker.id", -1, -1)?;
    check_broker_id(
        broker_id,
        broker_id_generation_enable,
        reserved_broker_max_id,
    )?;
    let broker_rack = r.opt_string("broker.rack");

    // Network
    let net = listener::read(&mut r)?;
    let listener_protocols: Vec<(String, String)> = net
        .listeners
        .iter()
        .map(|l| (l.name.clone(), net.security_protocol_map[&l.name].clone()))
        .collect();
    let sasl = sasl::read(props, &listener_protocols)?;
    let socket_request_max_bytes = r.int("socket.request.max.bytes", 104_857_600, 1)?;
    let connections_max_idle_ms = r.long("connections.max.idle.ms", 600_000, i64::MIN)?;
    let max_connections = r.int("max.connections", i32::MAX, 0)?;
    let max_connections_per_ip = r.int("max.connections.per.ip", i32::MAX, 0)?;
    let queued_max_requests = r.int("queued.max.requests", 500, 1)?;
    let request_timeout_ms = r.int("request.timeout.ms", 30_000, 0)?;
    let fetch_max_bytes = r.int("fetch.max.bytes", 57_671_680, 1024)?;
    let fetch_inflight_max_bytes = r.long("fetch.inflight.max.bytes", 268_435_456, 1)?;
    let metrics_listener = r
        .opt_string(metrics_listener::KEY)
        .map(|v| metrics_listener::parse(&v))
        .transpose()?;

    // ZooKeeper
    let zookeeper_connect = read_zookeeper_connect(&mut r)?;
    let zookeeper_session_timeout_ms = r.int("zookeeper.session.timeout.ms", 18_000, i32::MIN)?;
    let zookeeper_connection_timeout_ms = r
        .opt_int("zookeeper.connection.timeout.ms", i32::MIN)?
        .unwrap_or(zookeeper_session_timeout_ms);
    let zookeeper_max_in_flight_requests = r.int("zookeeper.max.in.flight.requests", 10, 1)?;

    // Log directories: log.dirs wins over log.dir.
    let log_dir = r.opt_list("log.dir");
    let log_dirs = r.opt_list("log.dirs");
    let (dirs_key, dirs) = match (log_dirs, log_dir) {
        (Some(dirs), _) => ("log.dirs", dirs),
        (None, Some(dir)) => ("log.dir", dir),
        (None, None) => ("log.dir", vec!["/tmp/kafka-logs".to_string()]),
    };
    if dirs.is_empty() {
        let value = props.get(dirs_key).map_or("", String::as_str);
        return Err(invalid(
            dirs_key,
            value,
            "at least one log directory is required",
        ));
    }
    let log_dirs: Vec<PathBuf> = dirs.into_iter().map(PathBuf::from).collect();

    // Time settings with unit precedence.
    let roll_ms = r.opt_long("log.roll.ms", 1)?;
    let roll_hours = r.int("log.roll.hours", 168, 1)?;
    let log_roll_ms = roll_ms.unwrap_or(i64::from(roll_hours) * MS_PER_HOUR);
    let jitter_ms = r.opt_long("log.roll.jitter.ms", 0)?;
    let jitter_hours = r.int("log.roll.jitter.hours", 0, 0)?;
    let log_roll_jitter_ms = jitter_ms.unwrap_or(i64::from(jitter_hours) * MS_PER_HOUR);
    let retention_ms = r.opt_long("log.retention.ms", i64::MIN)?;
    let retention_minutes = r.opt_int("log.retention.minutes", i32::MIN)?;
    let retention_hours = r.int("log.retention.hours", 168, i32::MIN)?;
    let retention = retention_ms
        .or(retention_minutes.map(|m| i64::from(m) * MS_PER_MINUTE))
        .unwrap_or(i64::from(retention_hours) * MS_PER_HOUR);
    let log_retention_ms = if retention < 0 { -1 } else { retention };
    let flush_ms = r.opt_long("log.flush.interval.ms", i64::MIN)?;
    let log_flush_scheduler_interval_ms =
        r.long("log.flush.scheduler.interval.ms", i64::MAX, i64::MIN)?;

    // Replica fetch timing must fit inside the socket timeout and the lag time.
    let replica_lag_time_max_ms = r.long("replica.lag.time.max.ms", 30_000, i64::MIN)?;
    let replica_fetch_wait_max_ms = r.int("replica.fetch.wait.max.ms", 500, i32::MIN)?;
    let replica_socket_timeout_ms = r.int("replica.socket.timeout.ms", 30_000, i32::MIN)?;
    if replica_socket_timeout_ms < replica_fetch_wait_max_ms {
        return Err(invalid(
            "replica.socket.timeout.ms",
            &replica_socket_timeout_ms.to_string(),
            format!("must be at least replica.fetch.wait.max.ms ({replica_fetch_wait_max_ms})"),
        ));
    }
    if i64::from(replica_fetch_wait_max_ms) > replica_lag_time_max_ms {
        return Err(invalid(
            "replica.fetch.wait.max.ms",
            &replica_fetch_wait_max_ms.to_string(),
            format!("must be at most replica.lag.time.max.ms ({replica_lag_time_max_ms})"),
        ));
    }

    let mut config = BrokerConfig {
        broker_id,
        broker_id_generation_enable,
        reserved_broker_max_id,
        broker_rack,
        listeners: net.listeners,
        advertised_listeners: net.advertised_listeners,
        listener_security_protocol_map: net.security_protocol_map,
        sasl_listeners: sasl.listeners,
        inter_broker_listener_name: net.inter_broker_listener_name,
        socket_request_max_bytes,
        connections_max_idle_ms,
        max_connections,
        max_connections_per_ip,
        queued_max_requests,
        request_timeout_ms,
        fetch_max_bytes,
        fetch_inflight_max_bytes,
        max_incremental_fetch_session_cache_slots: r.int(
            "max.incremental.fetch.session.cache.slots",
            1000,
            0,
        )?,
        metrics_listener,
        console_enable: r.bool("console.enable", true)?,
        console_writes_enable: r.bool("console.writes.enable", false)?,
        zookeeper_connect,
        zookeeper_session_timeout_ms,
        zookeeper_connection_timeout_ms,
        zookeeper_max_in_flight_requests,
        num_partitions: r.int("num.partitions", 1, 1)?,
        default_replication_factor: r.int("default.replication.factor", 1, 1)?,
        auto_create_topics_enable: r.bool("auto.create.topics.enable", true)?,
        delete_topic_enable: r.bool("delete.topic.enable", true)?,
        message_max_bytes: r.int("message.max.bytes", 1_048_588, 0)?,
        min_insync_replicas: r.int("min.insync.replicas", 1, 1)?,
        unclean_leader_election_enable: r.bool("unclean.leader.election.enable", false)?,
        compression_type: r.choice("compression.type", CompressionType::Producer)?,
        log_dirs,
        log_segment_bytes: r.int("log.segment.bytes", 1_073_741_824, 14)?,
        log_roll_ms,
        log_roll_jitter_ms,
        log_index_interval_bytes: r.int("log.index.interval.bytes", 4096, 0)?,
        log_index_size_max_bytes: r.int("log.index.size.max.bytes", 10_485_760, 4)?,
        log_preallocate: r.bool("log.preallocate", false)?,
        log_segment_delete_delay_ms: r.long("log.segment.delete.delay.ms", 60_000, 0)?,
        log_message_timestamp_type: r
            .choice("log.message.timestamp.type", TimestampType::CreateTime)?,
        log_message_timestamp_difference_max_ms: r.long(
            "log.message.timestamp.difference.max.ms",
            i64::MAX,
            0,
        )?,
        log_message_downconversion_enable: r.bool("log.message.downconversion.enable", true)?,
        log_flush_interval_messages: r.long("log.flush.interval.messages", i64::MAX, 1)?,
        log_flush_interval_ms: flush_ms.unwrap_or(log_flush_scheduler_interval_ms),
        log_flush_scheduler_interval_ms,
        log_flush_offset_checkpoint_interval_ms: r.int(
            "log.flush.offset.checkpoint.interval.ms",
            60_000,
            0,
        )?,
        log_flush_start_offset_checkpoint_interval_ms: r.int(
            "log.flush.start.offset.checkpoint.interval.ms",
            60_000,
            0,
        )?,
        log_retention_ms,
        log_retention_bytes: r.long("log.retention.bytes", -1, i64::MIN)?,
        log_retention_check_interval_ms: r.long("log.retention.check.interval.ms", 300_000, 1)?,
        log_cleanup_policy: r.choices("log.cleanup.policy", &[CleanupPolicy::Delete])?,
        log_cleaner_delete_retention_ms: r.long(
            "log.cleaner.delete.retention.ms",
            86_400_000,
            0,
        )?,
        log_cleaner_min_compaction_lag_ms: r.long("log.cleaner.min.compaction.lag.ms", 0, 0)?,
        log_cleaner_max_compaction_lag_ms: r.long(
            "log.cleaner.max.compaction.lag.ms",
            i64::MAX,
            1,
        )?,
        log_cleaner_min_cleanable_ratio: r.double_between(
            "log.cleaner.min.cleanable.ratio",
            0.5,
            0.0,
            1.0,
        )?,
        num_recovery_threads_per_data_dir: r.int("num.recovery.threads.per.data.dir", 1, 1)?,
        log_cleaner_enable: r.bool("log.cleaner.enable", true)?,
        log_cleaner_threads: r.int("log.cleaner.threads", 1, 0)?,
        log_cleaner_backoff_ms: r.long("log.cleaner.backoff.ms", 15_000, 0)?,
        log_cleaner_dedupe_buffer_size: r.long(
            "log.cleaner.dedupe.buffer.size",
            128 * 1024 * 1024,
            i64::MIN,
        )?,
        replica_lag_time_max_ms,
        num_replica_fetchers: r.int("num.replica.fetchers", 1, i32::MIN)?,
        replica_fetch_max_bytes: r.int("replica.fetch.max.bytes", 1_048_576, 0)?,
        replica_fetch_wait_max_ms,
        replica_fetch_min_bytes: r.int("replica.fetch.min.bytes", 1, i32::MIN)?,
        replica_fetch_response_max_bytes: r.int(
            "replica.fetch.response.max.bytes",
            10_485_760,
            0,
        )?,
        replica_fetch_backoff_ms: r.int("replica.fetch.backoff.ms", 1000, 0)?,
        replica_socket_timeout_ms,
        replica_high_watermark_checkpoint_interval_ms: r.long(
            "replica.high.watermark.checkpoint.interval.ms",
            5000,
            i64::MIN,
        )?,
        controller_socket_timeout_ms: r.int("controller.socket.timeout.ms", 30_000, i32::MIN)?,
        controlled_shutdown_enable: r.bool("controlled.shutdown.enable", true)?,
        controlled_shutdown_max_retries: r.int("controlled.shutdown.max.retries", 3, i32::MIN)?,
        controlled_shutdown_retry_backoff_ms: r.long(
            "controlled.shutdown.retry.backoff.ms",
            5000,
            i64::MIN,
        )?,
        auto_leader_rebalance_enable: r.bool("auto.leader.rebalance.enable", true)?,
        leader_imbalance_per_broker_percentage: r.int(
            "leader.imbalance.per.broker.percentage",
            10,
            i32::MIN,
        )?,
        leader_imbalance_check_interval_seconds: r.long(
            "leader.imbalance.check.interval.seconds",
            300,
            1,
        )?,
        group_min_session_timeout_ms: r.int("group.min.session.timeout.ms", 6000, i32::MIN)?,
        group_max_session_timeout_ms: r.int("group.max.session.timeout.ms", 1_800_000, i32::MIN)?,
        group_initial_rebalance_delay_ms: r.int(
            "group.initial.rebalance.delay.ms",
            3000,
            i32::MIN,
        )?,
        group_max_size: r.int("group.max.size", i32::MAX, 1)?,
        offsets_retention_minutes: r.int("offsets.retention.minutes", 10_080, 1)?,
        offsets_retention_check_interval_ms: r.long(
            "offsets.retention.check.interval.ms",
            600_000,
            1,
        )?,
        producer_id_expiration_ms: r.int("producer.id.expiration.ms", 86_400_000, 1)?,
        producer_id_expiration_check_interval_ms: r.int(
            "producer.id.expiration.check.interval.ms",
            600_000,
            1,
        )?,
        unknown_keys: Vec::new(),
        ignored_keys: Vec::new(),
        properties: RawProperties::new(props.clone()),
    };

    for (key, value) in props {
        if r.was_read(key) || sasl.consumed.contains(key) {
            continue;
        }
        match known_keys::ignored_kind(key) {
            Some(kind) => {
                check_kind(key, value, kind)?;
                config.ignored_keys.push(key.clone());
            }
            None => config.unknown_keys.push(key.clone()),
        }
    }
    Ok((config, r.into_catalogue()))
}

/// Kafka's rule: with generation on, a configured id may not reach into the
/// generated range above `reserved.broker.max.id`; with it off, an id is required.
fn check_broker_id(id: i32, generation: bool, reserved_max: i32) -> Result<(), ConfigError> {
    let value = id.to_string();
    if generation && id > reserved_max {
        return Err(invalid(
            "broker.id",
            &value,
            format!(
                "must not be greater than reserved.broker.max.id ({reserved_max}) while \
                 broker.id.generation.enable is true; ids above it are generated"
            ),
        ));
    }
    if !generation && id < 0 {
        return Err(invalid(
            "broker.id",
            &value,
            "must be set (at least 0) when broker.id.generation.enable is false",
        ));
    }
    Ok(())
}

/// `host:port[,host:port...][/chroot]`; the chroot, if any, must be a plain
/// absolute ZooKeeper path.
fn read_zookeeper_connect(r: &mut Reader<'_>) -> Result<String, ConfigError> {
    const KEY: &str = "zookeeper.connect";
    let Some(value) = r.raw(KEY) else {
        return Err(ConfigError::Missing {
            key: KEY.to_string(),
        });
    };
    let (hosts, chroot) = match value.find('/') {
        Some(at) => (&value[..at], Some(&value[at..])),
        None => (value, None),
    };
    if hosts.split(',').all(|h| h.trim().is_empty()) {
        return Err(invalid(
            KEY,
            value,
            "expected host:port[,host:port...][/chroot]",
        ));
    }
    if let Some(chroot) = chroot
        && chroot != "/"
        && (chroot.ends_with('/')
            || chroot
                .split('/')
                .skip(1)
                .any(|p| p.is_empty() || p == "." || p == ".."))
    {
        return Err(invalid(
            KEY,
            value,
            format!("chroot {chroot:?} is not a valid ZooKeeper path"),
        ));
    }
    Ok(value.to_string())
}
