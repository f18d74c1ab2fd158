//! Tests of the whole room: defaults, unit precedence, overrides, every error
//! naming its key, unknown and ignored keys, topic defaults, and the shipped
//! files under `config/`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::known_keys;
use super::reader::Kind;
use super::*;

const ZK: (&str, &str) = ("zookeeper.connect", "localhost:2181");

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Builds from `pairs` plus a zookeeper.connect.
fn config(pairs: &[(&str, &str)]) -> Result<BrokerConfig, ConfigError> {
    let mut map = props(&[ZK]);
    map.extend(props(pairs));
    BrokerConfig::from_properties(&map)
}

/// Asserts the pairs fail with `Invalid` naming `key`; returns the message.
fn invalid_key(pairs: &[(&str, &str)], key: &str) -> String {
    let err = config(pairs).expect_err("should be invalid");
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
    assert_eq!(err.key(), Some(key), "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("\"{key}\"")), "{text}");
    text
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

#[test]
fn defaults_are_kafkas() {
    let c = config(&[]).unwrap();
    assert_eq!(c.broker_id, -1);
    assert!(c.broker_id_generation_enable);
    assert_eq!(c.reserved_broker_max_id, 1000);
    assert_eq!(
        c.listeners,
        vec![Listener {
            name: "PLAINTEXT".into(),
            host: String::new(),
            port: 9092
        }]
    );
    assert_eq!(c.advertised_listeners, c.listeners);
    assert_eq!(c.inter_broker_listener_name, "PLAINTEXT");
    assert_eq!(c.inter_broker_listener().port, 9092);
    assert_eq!(c.listener_security_protocol_map.len(), 4);
    assert_eq!(c.log_dirs, vec![PathBuf::from("/tmp/kafka-logs")]);
    assert_eq!(c.zookeeper_connect, "localhost:2181");
    assert_eq!(c.zookeeper_session_timeout_ms, 18_000);
    assert_eq!(c.zookeeper_connection_timeout_ms, 18_000);
    assert_eq!((c.num_partitions, c.default_replication_factor), (1, 1));
    assert!(c.auto_create_topics_enable && c.delete_topic_enable);
    assert_eq!(c.message_max_bytes, 1_048_588);
    assert_eq!(c.socket_request_max_bytes, 104_857_600);
    assert_eq!(c.log_segment_bytes, 1 << 30);
    assert_eq!(c.log_roll_ms, 168 * 3_600_000);
    assert_eq!(c.log_retention_ms, 168 * 3_600_000);
    assert_eq!(c.log_retention_bytes, -1);
    assert_eq!(c.log_retention_check_interval_ms, 300_000);
    assert_eq!(
        (c.log_index_interval_bytes, c.log_index_size_max_bytes),
        (4096, 10_485_760)
    );
    assert_eq!(c.log_flush_interval_messages, i64::MAX);
    assert_eq!(c.log_flush_interval_ms, i64::MAX);
    assert_eq!(c.log_flush_offset_checkpoint_interval_ms, 60_000);
    assert_eq!(c.broker_rack, None);
    assert!(c.controlled_shutdown_enable);
    assert_eq!(
        (
            c.controlled_shutdown_max_retries,
            c.controlled_shutdown_retry_backoff_ms
        ),
        (3, 5000)
    );
    assert!(!c.unclean_leader_election_enable);
    assert_eq!(c.min_insync_replicas, 1);
    assert_eq!(c.replica_lag_time_max_ms, 30_000);
    assert_eq!(c.num_replica_fetchers, 1);
    assert_eq!(
        (c.replica_fetch_max_bytes, c.replica_fetch_wait_max_ms),
        (1_048_576, 500)
    );
    assert_eq!(
        (
            c.replica_fetch_min_bytes,
            c.replica_fetch_response_max_bytes
        ),
        (1, 10_485_760)
    );
    assert_eq!(c.replica_socket_timeout_ms, 30_000);
    assert_eq!(c.replica_high_watermark_checkpoint_interval_ms, 5000);
    assert!(c.auto_leader_rebalance_enable);
    assert_eq!(c.leader_imbalance_per_broker_percentage, 10);
    assert_eq!(c.leader_imbalance_check_interval_seconds, 300);
    assert_eq!(c.controller_socket_timeout_ms, 30_000);
    assert_eq!(
        (
            c.group_min_session_timeout_ms,
            c.group_max_session_timeout_ms
        ),
        (6000, 1_800_000)
    );
    assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
    assert_eq!(c.offsets_retention_minutes, 10_080);
    assert_eq!(c.connections_max_idle_ms, 600_000);
    assert_eq!((c.max_connections, c.queued_max_requests), (i32::MAX, 500));
    assert_eq!(c.log_cleanup_policy, vec![CleanupPolicy::Delete]);
    assert_eq!(c.log_message_timestamp_type, TimestampType::CreateTime);
    assert_eq!(c.compression_type, CompressionType::Producer);
    assert_eq!(c.metrics_listener, None);
    assert_eq!(c.fetch_max_bytes, 57_671_680, "KIP-541's default");
    assert_eq!(c.fetch_inflight_max_bytes, 268_435_456);
    assert_eq!(c.max_incremental_fetch_session_cache_slots, 1000);
    assert!(c.unknown_keys.is_empty() && c.ignored_keys.is_empty());
}

#[test]
fn fetch_session_cache_slots_at_least_zero() {
    let c = config(&[("max.incremental.fetch.session.cache.slots", "0")]).unwrap();
    assert_eq!(c.max_incremental_fetch_session_cache_slots, 0);
    assert!(config(&[("max.incremental.fetch.session.cache.slots", "-1")]).is_err());
    assert!(config(&[("max.incremental.fetch.session.cache.slots", "x")]).is_err());
}

#[test]
fn retention_unit_precedence_ms_over_minutes_over_hours() {
    let c = config(&[("log.retention.hours", "1")]).unwrap();
    assert_eq!(c.log_retention_ms, 3_600_000);
    let c = config(&[("log.retention.hours", "1"), ("log.retention.minutes", "2")]).unwrap();
    assert_eq!(c.log_retention_ms, 120_000);
    let c = config(&[
        ("log.retention.hours", "1"),
        ("log.retention.minutes", "2"),
        ("log.retention.ms", "3"),
    ])
    .unwrap();
    assert_eq!(c.log_retention_ms, 3);
    let c = config(&[("log.retention.ms", "-5")]).unwrap();
    assert_eq!(c.log_retention_ms, -1, "any negative means unlimited");
    let c = config(&[
        ("log.retention.minutes", "-1"),
        ("log.retention.hours", "1"),
    ])
    .unwrap();
    assert_eq!(c.log_retention_ms, -1);
    // A losing key is still type-checked, as in Kafka.
    invalid_key(
        &[("log.retention.ms", "5"), ("log.retention.hours", "x")],
        "log.retention.hours",
    );
}

#[test]
fn roll_and_flush_precedence() {
    let c = config(&[("log.roll.hours", "2")]).unwrap();
    assert_eq!(c.log_roll_ms, 7_200_000);
    let c = config(&[("log.roll.hours", "2"), ("log.roll.ms", "1000")]).unwrap();
    assert_eq!(c.log_roll_ms, 1000);
    let c = config(&[("log.roll.jitter.hours", "1")]).unwrap();
    assert_eq!(c.log_roll_jitter_ms, 3_600_000);
    let c = config(&[("log.flush.scheduler.interval.ms", "2000")]).unwrap();
    assert_eq!(
        (c.log_flush_interval_ms, c.log_flush_scheduler_interval_ms),
        (2000, 2000)
    );
    let c = config(&[
        ("log.flush.scheduler.interval.ms", "2000"),
        ("log.flush.interval.ms", "500"),
    ])
    .unwrap();
    assert_eq!(c.log_flush_interval_ms, 500);
    invalid_key(&[("log.roll.hours", "0")], "log.roll.hours");
}

#[test]
fn log_dirs_wins_over_log_dir() {
    let c = config(&[("log.dir", "/a")]).unwrap();
    assert_eq!(c.log_dirs, vec![PathBuf::from("/a")]);
    let c = config(&[("log.dir", "/a"), ("log.dirs", "/b, /c ,")]).unwrap();
    assert_eq!(c.log_dirs, vec![PathBuf::from("/b"), PathBuf::from("/c")]);
    assert!(c.unknown_keys.is_empty());
    invalid_key(&[("log.dirs", " ")], "log.dirs");
}

#[test]
fn zookeeper_settings() {
    let err = BrokerConfig::from_properties(&props(&[("broker.id", "1")])).unwrap_err();
    assert!(matches!(&err, ConfigError::Missing { key } if key == "zookeeper.connect"));
    assert_eq!(
        err.to_string(),
        "missing required configuration key \"zookeeper.connect\""
    );
    invalid_key(&[("zookeeper.connect", "  ")], "zookeeper.connect");
    invalid_key(
        &[("zookeeper.connect", "zk:2181/a//b")],
        "zookeeper.connect",
    );
    invalid_key(&[("zookeeper.connect", "zk:2181/a/")], "zookeeper.connect");
    let c = config(&[("zookeeper.connect", "zk1:2181,zk2:2181/sluice/test")]).unwrap();
    assert_eq!(c.zookeeper_connect, "zk1:2181,zk2:2181/sluice/test");
    let c = config(&[("zookeeper.session.timeout.ms", "6000")]).unwrap();
    assert_eq!(c.zookeeper_connection_timeout_ms, 6000);
    let c = config(&[
        ("zookeeper.session.timeout.ms", "6000"),
        ("zookeeper.connection.timeout.ms", "100"),
    ])
    .unwrap();
    assert_eq!(c.zookeeper_connection_timeout_ms, 100);
}

#[test]
fn bad_values_name_their_key() {
    let text = invalid_key(&[("log.segment.bytes", "abc")], "log.segment.bytes");
    assert_eq!(
        text,
        "invalid value \"abc\" for configuration key \"log.segment.bytes\": not a number"
    );
    invalid_key(&[("log.segment.bytes", "13")], "log.segment.bytes");
    invalid_key(&[("log.segment.bytes", "4294967296")], "log.segment.bytes");
    invalid_key(&[("num.partitions", "0")], "num.partitions");
    invalid_key(
        &[("default.replication.factor", "0")],
        "default.replication.factor",
    );
    invalid_key(&[("min.insync.replicas", "0")], "min.insync.replicas");
    invalid_key(&[("message.max.bytes", "-1")], "message.max.bytes");
    invalid_key(
        &[("log.index.size.max.bytes", "3")],
        "log.index.size.max.bytes",
    );
    invalid_key(
        &[("log.flush.interval.messages", "0")],
        "log.flush.interval.messages",
    );
    invalid_key(
        &[("log.retention.check.interval.ms", "0")],
        "log.retention.check.interval.ms",
    );
    invalid_key(
        &[("log.cleaner.min.cleanable.ratio", "1.5")],
        "log.cleaner.min.cleanable.ratio",
    );
    invalid_key(&[("compression.type", "brotli")], "compression.type");
    invalid_key(
        &[("log.message.timestamp.type", "createtime")],
        "log.message.timestamp.type",
    );
    invalid_key(
        &[("log.cleanup.policy", "compact,forever")],
        "log.cleanup.policy",
    );
    // A known-but-ignored key is type-checked too.
    invalid_key(&[("num.io.threads", "many")], "num.io.threads");
    invalid_key(
        &[("offsets.topic.replication.factor", "70000")],
        "offsets.topic.replication.factor",
    );
}

#[test]
fn booleans_accept_only_true_and_false() {
    let text = invalid_key(
        &[("auto.create.topics.enable", "yes")],
        "auto.create.topics.enable",
    );
    assert!(text.contains("not a boolean"), "{text}");
    invalid_key(&[("log.cleaner.enable", "1")], "log.cleaner.enable");
    let c = config(&[
        ("auto.create.topics.enable", "FALSE"),
        ("delete.topic.enable", " False "),
    ])
    .unwrap();
    assert!(!c.auto_create_topics_enable && !c.delete_topic_enable);
}

#[test]
fn enumerations_and_lists() {
    let c = config(&[
        ("compression.type", "zstd"),
        ("log.message.timestamp.type", "LogAppendTime"),
        ("log.cleanup.policy", "compact,delete"),
    ])
    .unwrap();
    assert_eq!(c.compression_type, CompressionType::Zstd);
    assert_eq!(c.log_message_timestamp_type, TimestampType::LogAppendTime);
    assert_eq!(
        c.log_cleanup_policy,
        vec![CleanupPolicy::Compact, CleanupPolicy::Delete]
    );
}

#[test]
fn broker_id_and_reserved_range() {
    let text = invalid_key(&[("broker.id", "1001")], "broker.id");
    assert!(text.contains("reserved.broker.max.id"), "{text}");
    assert_eq!(config(&[("broker.id", "1000")]).unwrap().broker_id, 1000);
    let c = config(&[("broker.id", "1001"), ("reserved.broker.max.id", "2000")]).unwrap();
    assert_eq!(c.broker_id, 1001);
    let c = config(&[
        ("broker.id", "5000"),
        ("broker.id.generation.enable", "false"),
    ])
    .unwrap();
    assert_eq!(
        c.broker_id, 5000,
        "without generation there is no reserved range (Kafka's rule)"
    );
    invalid_key(&[("broker.id.generation.enable", "false")], "broker.id");
    invalid_key(&[("broker.id", "-2")], "broker.id");
    invalid_key(&[("broker.id", "one")], "broker.id");
}

#[test]
fn listeners_and_advertised_listeners() {
    let c = config(&[("listeners", "plaintext://0.0.0.0:9093")]).unwrap();
    assert_eq!(c.listeners[0].host, "0.0.0.0");
    assert_eq!(
        c.advertised_listeners[0].host, "",
        "wildcard becomes the machine's hostname"
    );
    assert_eq!(c.advertised_listeners[0].advertised_host_or("box"), "box");
    let c = config(&[
        ("listeners", "PLAINTEXT://:9092"),
        ("advertised.listeners", "PLAINTEXT://broker1:19092"),
    ])
    .unwrap();
    assert_eq!(
        c.advertised_listeners[0].to_string(),
        "PLAINTEXT://broker1:19092"
    );
    let c = config(&[
        ("listeners", "INTERNAL://:9092,EXTERNAL://:9093"),
        (
            "listener.security.protocol.map",
            "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
        ),
        ("inter.broker.listener.name", "internal"),
    ])
    .unwrap();
    assert_eq!(c.inter_broker_listener_name, "INTERNAL");
    assert_eq!(c.inter_broker_listener().port, 9092);

    invalid_key(&[("listeners", "localhost:9092")], "listeners");
    invalid_key(&[("listeners", "PLAINTEXT://localhost:99999")], "listeners");
    let text = invalid_key(
        &[("listeners", "PLAINTEXT://:9092,SSL://:9093")],
        "listeners",
    );
    assert!(text.contains("only PLAINTEXT"), "{text}");
    invalid_key(
        &[("listeners", "PLAINTEXT://:9092,PLAINTEXT://:9093")],
        "listeners",
    );
    let text = invalid_key(
        &[
            ("listeners", "A://a:9092,B://b:9092"),
            ("listener.security.protocol.map", "A:PLAINTEXT,B:PLAINTEXT"),
        ],
        "listeners",
    );
    assert!(
        text.contains("port 9092 is used by two listeners"),
        "{text}"
    );
    invalid_key(&[("listeners", "OTHER://:9092")], "listeners");
    invalid_key(
        &[("advertised.listeners", "PLAINTEXT://0.0.0.0:9092")],
        "advertised.listeners",
    );
    invalid_key(
        &[("advertised.listeners", "OTHER://host:9092")],
        "advertised.listeners",
    );
    invalid_key(
        &[("listener.security.protocol.map", "PLAINTEXT")],
        "listener.security.protocol.map",
    );
    invalid_key(
        &[
            ("listeners", "INTERNAL://:9092"),
            ("listener.security.protocol.map", "INTERNAL:PLAINTEXT"),
        ],
        "security.inter.broker.protocol",
    );
    invalid_key(
        &[("security.inter.broker.protocol", "SSL")],
        "security.inter.broker.protocol",
    );
    invalid_key(
        &[
            ("inter.broker.listener.name", "PLAINTEXT"),
            ("security.inter.broker.protocol", "PLAINTEXT"),
        ],
        "inter.broker.listener.name",
    );
}

#[test]
fn kafka_2_8_legacy_port_keys() {
    let c = config(&[
        ("port", "9999"),
        ("host.name", "h"),
        ("advertised.host.name", "adv"),
    ])
    .unwrap();
    assert_eq!(c.listeners[0].to_string(), "PLAINTEXT://h:9999");
    assert_eq!(
        c.advertised_listeners[0].to_string(),
        "PLAINTEXT://adv:9999"
    );
    let c = config(&[("port", "9999"), ("listeners", "PLAINTEXT://:9092")]).unwrap();
    assert_eq!(c.listeners[0].port, 9092, "listeners wins");
}

#[test]
fn replica_timing_cross_checks() {
    invalid_key(
        &[("replica.socket.timeout.ms", "100")],
        "replica.socket.timeout.ms",
    );
    invalid_key(
        &[("replica.lag.time.max.ms", "100")],
        "replica.fetch.wait.max.ms",
    );
    config(&[
        ("replica.fetch.wait.max.ms", "100"),
        ("replica.lag.time.max.ms", "100"),
    ])
    .unwrap();
}

#[test]
fn unknown_and_ignored_keys_are_sorted_apart() {
    let c = config(&[
        ("log.segement.bytes", "1"),
        ("foo.bar", "x"),
        ("num.network.threads", "3"),
        ("listener.name.plaintext.ssl.keystore.location", "/k"),
        ("metrics.listener", "127.0.0.1:9404"),
    ])
    .unwrap();
    assert_eq!(c.unknown_keys, vec!["foo.bar", "log.segement.bytes"]);
    assert_eq!(
        c.ignored_keys,
        vec![
            "listener.name.plaintext.ssl.keystore.location",
            "num.network.threads"
        ]
    );
    assert_eq!(c.metrics_listener.as_deref(), Some("127.0.0.1:9404"));
}

#[test]
fn every_key_in_kafkas_shipped_server_properties_is_known() {
    let kafka_file = [
        ("broker.id", "0"),
        ("listeners", "PLAINTEXT://:9092"),
        ("advertised.listeners", "PLAINTEXT://your.host.name:9092"),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        ),
        ("num.network.threads", "3"),
        ("num.io.threads", "8"),
        ("socket.send.buffer.bytes", "102400"),
        ("socket.receive.buffer.bytes", "102400"),
        ("socket.request.max.bytes", "104857600"),
        ("log.dirs", "/tmp/kafka-logs"),
        ("num.partitions", "1"),
        ("num.recovery.threads.per.data.dir", "1"),
        ("offsets.topic.replication.factor", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("log.flush.interval.messages", "10000"),
        ("log.flush.interval.ms", "1000"),
        ("log.retention.hours", "168"),
        ("log.retention.bytes", "1073741824"),
        ("log.segment.bytes", "1073741824"),
        ("log.retention.check.interval.ms", "300000"),
        ("zookeeper.connect", "localhost:2181"),
        ("zookeeper.connection.timeout.ms", "18000"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("log.cleaner.enable", "true"),
    ];
    let c = BrokerConfig::from_properties(&props(&kafka_file)).unwrap();
    assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
}

#[test]
fn ignored_keys_are_not_also_typed() {
    let sample = |kind: Kind| match kind {
        Kind::Bool => "true",
        Kind::Short | Kind::Int | Kind::Long => "1",
        Kind::Double => "0.5",
        Kind::Text | Kind::List | Kind::Password | Kind::Class => "x",
    };
    let mut pairs: Vec<(&str, &str)> = known_keys::all()
        .iter()
        .map(|(k, kind, _)| (*k, sample(*kind)))
        .collect();
    pairs.push(ZK);
    let c = BrokerConfig::from_properties(&props(&pairs)).unwrap();
    assert_eq!(
        c.ignored_keys.len(),
        known_keys::all().len(),
        "a typed key is also listed as ignored"
    );
    assert!(c.unknown_keys.is_empty());
}

#[test]
fn topic_defaults_follow_broker_keys() {
    let c = config(&[
        ("log.retention.hours", "1"),
        ("log.segment.bytes", "1048576"),
    ])
    .unwrap();
    let defaults = c.topic_defaults();
    let names: Vec<&str> = defaults.iter().map(|d| d.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    for name in [
        "cleanup.policy",
        "compression.type",
        "delete.retention.ms",
        "file.delete.delay.ms",
        "flush.messages",
        "flush.ms",
        "index.interval.bytes",
        "max.compaction.lag.ms",
        "max.message.bytes",
        "message.downconversion.enable",
        "message.timestamp.difference.max.ms",
        "message.timestamp.type",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "min.insync.replicas",
        "preallocate",
        "retention.bytes",
        "retention.ms",
        "segment.bytes",
        "segment.index.bytes",
        "segment.jitter.ms",
        "segment.ms",
        "unclean.leader.election.enable",
    ] {
        assert!(names.contains(&name), "{name} missing");
    }
    let get = |name: &str| defaults.iter().find(|d| d.name == name).unwrap();
    assert_eq!(get("retention.ms").value, "3600000");
    assert!(!get("retention.ms").is_default);
    assert_eq!(
        get("retention.ms").synonyms,
        [
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours"
        ]
    );
    assert_eq!(get("segment.bytes").value, "1048576");
    assert_eq!(get("segment.bytes").synonyms, ["log.segment.bytes"]);
    assert!(!get("segment.bytes").is_default);
    assert_eq!(get("segment.ms").value, "604800000");
    assert!(get("segment.ms").is_default);
    assert_eq!(get("max.message.bytes").value, "1048588");
    assert_eq!(get("min.cleanable.dirty.ratio").value, "0.5");
    assert_eq!(get("cleanup.policy").value, "delete");
    assert_eq!(get("compression.type").value, "producer");
    assert_eq!(get("message.timestamp.type").value, "CreateTime");
    assert_eq!(get("unclean.leader.election.enable").value, "false");
    assert_eq!(get("flush.ms").value, i64::MAX.to_string());
}

#[test]
fn load_applies_overrides_in_order() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "zookeeper.connect: localhost:2181\nnum.partitions 2\nlog.dirs=/data/a,\\\n    /data/b"
    )
    .unwrap();
    let c = BrokerConfig::load(file.path(), &[]).unwrap();
    assert_eq!(c.num_partitions, 2);
    assert_eq!(
        c.log_dirs,
        vec![PathBuf::from("/data/a"), PathBuf::from("/data/b")]
    );
    let overrides = [
        "num.partitions=3".to_string(),
        "num.partitions=4".to_string(),
        "broker.id=7".to_string(),
    ];
    let c = BrokerConfig::load(file.path(), &overrides).unwrap();
    assert_eq!((c.num_partitions, c.broker_id), (4, 7));
    assert_eq!(
        c.properties.get("num.partitions").map(String::as_str),
        Some("4")
    );
    let err = BrokerConfig::load(file.path(), &["num.partitions".to_string()]).unwrap_err();
    assert!(matches!(err, ConfigError::Override { .. }), "{err:?}");
    assert!(err.to_string().contains("\"num.partitions\""), "{err}");
    let err = BrokerConfig::load(file.path(), &["num.partitions=x".to_string()]).unwrap_err();
    assert_eq!(err.key(), Some("num.partitions"));
}

#[test]
fn load_errors_name_the_file() {
    let err = BrokerConfig::load(Path::new("/nonexistent/server.properties"), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(
        err.to_string().contains("/nonexistent/server.properties"),
        "{err}"
    );
}

#[test]
fn shipped_server_properties_loads_cleanly() {
    let c = BrokerConfig::load(&shipped("server.properties"), &[]).unwrap();
    assert!(
        c.unknown_keys.is_empty() && c.ignored_keys.is_empty(),
        "{:?} {:?}",
        c.unknown_keys,
        c.ignored_keys
    );
    assert_eq!(c.broker_id, 0);
    assert_eq!(
        c.advertised_listeners[0].to_string(),
        "PLAINTEXT://localhost:9092"
    );
    assert_eq!(c.log_dirs, vec![PathBuf::from("/tmp/sluice-logs")]);
    assert_eq!(c.zookeeper_connect, "localhost:2181");
    assert_eq!(c.log_retention_ms, 168 * 3_600_000);
    assert_eq!((c.num_partitions, c.default_replication_factor), (1, 1));
    assert_eq!(c.zookeeper_connection_timeout_ms, 18_000);
}

#[test]
fn shipped_cluster_files_load_cleanly() {
    for id in 1..=3 {
        let c = BrokerConfig::load(&shipped(&format!("server-{id}.properties")), &[]).unwrap();
        assert!(
            c.unknown_keys.is_empty() && c.ignored_keys.is_empty(),
            "server-{id}"
        );
        assert_eq!(c.broker_id, id);
        assert_eq!(
            c.listeners[0].to_string(),
            format!("PLAINTEXT://localhost:{}", 9091 + id)
        );
        assert_eq!(
            c.log_dirs,
            vec![PathBuf::from(format!("/tmp/sluice-logs-{id}"))]
        );
        assert_eq!(
            (c.default_replication_factor, c.min_insync_replicas),
            (3, 2)
        );
    }
}

#[test]
fn shipped_zookeeper_properties_parses() {
    let path = shipped("zookeeper.properties");
    let text = std::fs::read_to_string(&path).unwrap();
    let map = properties::parse(&text, &path).unwrap();
    let get = |k: &str| map.get(k).map(String::as_str);
    assert_eq!(get("dataDir"), Some("/tmp/zookeeper"));
    assert_eq!(get("clientPort"), Some("2181"));
    assert_eq!(get("maxClientCnxns"), Some("0"));
    assert_eq!(get("admin.enableServer"), Some("false"));
}

#[test]
fn log_cleaner_keys_have_kafkas_defaults_and_ranges() {
    let c = config(&[]).unwrap();
    assert!(c.log_cleaner_enable);
    assert_eq!(c.log_cleaner_threads, 1);
    assert_eq!(c.log_cleaner_backoff_ms, 15_000);
    assert_eq!(c.log_cleaner_dedupe_buffer_size, 128 * 1024 * 1024);
    invalid_key(&[("log.cleaner.threads", "-1")], "log.cleaner.threads");
    invalid_key(
        &[("log.cleaner.backoff.ms", "-5")],
        "log.cleaner.backoff.ms",
    );
    let c = config(&[
        ("log.cleaner.enable", "false"),
        ("log.cleaner.backoff.ms", "100"),
    ])
    .unwrap();
    assert!(!c.log_cleaner_enable && c.ignored_keys.is_empty());
    assert_eq!(c.log_cleaner_backoff_ms, 100);
}

#[test]
fn recovery_threads_key_has_kafkas_default_and_range() {
    let c = config(&[]).unwrap();
    assert_eq!(c.num_recovery_threads_per_data_dir, 1);
    let c = config(&[("num.recovery.threads.per.data.dir", "4")]).unwrap();
    assert_eq!(c.num_recovery_threads_per_data_dir, 4);
    assert!(c.ignored_keys.is_empty());
    invalid_key(
        &[("num.recovery.threads.per.data.dir", "0")],
        "num.recovery.threads.per.data.dir",
    );
}
