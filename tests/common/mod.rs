//! The harness of Sluice's integration tests: a real ZooKeeper, real
//! `sluice broker` processes and real clients. Each test file starts with
//! `mod common;` and uses what it needs:
//!
//! - [`zk_connect`] + [`unique_chroot`]: one ZooKeeper server per test binary,
//!   started on first use and killed when the binary exits; every test works
//!   under a chroot of its own, so tests share the server and stay independent.
//! - [`Broker`] / [`BrokerSpec`] / [`TestCluster`]: brokers on free ports with
//!   their own temp dirs and logs; kill, SIGTERM, pause, restart.
//! - [`wait_until`]: poll a condition with a deadline; never sleep a fixed time.
//! - [`kcat`], [`run_python`], [`future_producer`] / [`base_consumer`]: clients.
//! - [`zk_get`] & co. (zkCli.sh, what an operator sees) and [`zk`] (fast Rust
//!   client, for polling and writes): look into ZooKeeper.
//! - [`TcpProxy`] (cut, restore, delay a link) and [`ZkProxy`] (a
//!   ZooKeeper-aware proxy: cut, restore, or drop the reply of one applied
//!   write and cut): network faults between processes.
//! - [`http_get`] / [`http_request`] / [`http_post_json`] / [`http_send`]: plain HTTP to a broker's
//!   `metrics.listener` (metrics and the web console).
//! - [`raw`]: raw Kafka requests ([`send_request`], [`RawConn`],
//!   [`exchange`]), record batches and common request builders.
//! - [`cluster`] (three-broker cluster settings, replicated topics, full ISR,
//!   identical replicas), [`cluster_view`] (znodes vs. each broker's
//!   Metadata) and [`ack_stream`] (librdkafka streams and the
//!   acknowledged-message check): what failover tests share.
//!
//! Run everything with `scripts/test.sh` (it installs ZooKeeper, kcat and the
//! Python venv first). Set SLUICE_TEST_KEEP=1 to keep temp dirs and logs
//! (target/tmp), SLUICE_TEST_RUST_LOG to change the brokers' RUST_LOG.
#![allow(dead_code, unused_imports)]

pub mod ack_stream;
mod broker;
mod clients;
pub mod cluster;
pub mod cluster_view;
mod http;
mod process;
pub mod raw;
mod tcp_proxy;
mod wait;
mod zk;
pub mod zk_proxy;
mod zookeeper;

pub use broker::{
    BROKER_START_TIMEOUT, BROKER_STOP_TIMEOUT, Broker, BrokerSpec, TestCluster, log_line_seconds,
};
pub use clients::{
    CLIENT_TIMEOUT, base_consumer, block_on, consumer_config, future_producer,
    future_producer_with, kcat, kcat_partition0_lines, kcat_produce_text, kcat_read_partition,
    kcat_with_timeout, producer_config, python, run_python, run_python_with_timeout, which,
};
pub use http::{http_get, http_post_json, http_request, http_send};
pub use process::{
    assert_success, describe_status, free_port, run_with_timeout, signal, spawn_tied, tail_lines,
    temp_dir, test_tmp_root,
};
pub use raw::{
    RAW_TIMEOUT, RawConn, assigned_topic, create_assigned_topic_with_configs, create_spread_topics,
    create_topic_with_configs, delete_records, encode_batch, exchange, fetch_request,
    idempotent_batch, list_offsets_answer, list_offsets_request, now_ms, plain_batch,
    produce_request, send_request, send_request_with_timeout, spread_topic_names, str_bytes,
    topic_name,
};
pub use tcp_proxy::{Direction, TcpProxy};
pub use wait::{wait_until, wait_until_ok};
pub use zk::{
    Zk, chroot_path, zk, zk_children, zk_cli, zk_cli_body, zk_get, zk_stat_ephemeral_owner,
};
pub use zk_proxy::{AfterFire, Fired, WriteTrigger, ZkProxy, ZkWrite};
pub use zookeeper::{
    ZooKeeper, four_letter_word, unique_chroot, zk_address, zk_connect, zookeeper,
};
