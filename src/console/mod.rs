//! The web console: pages and a JSON API on the broker's HTTP listener
//! (`metrics.listener`), showing the whole cluster from any broker.
//! Read-only unless `console.writes.enable=true`.
//!
//! - `web_console.rs`: `WebConsole`, the listener's [`HttpApp`] for every path
//!   but `/metrics`: routes a request to a page or an API answer.
//! - `routes.rs`: what a request path and query ask for (pure, tested alone).
//! - `assets.rs`: the HTML, CSS and JS, embedded in the binary at build time.
//! - `cluster.rs`, `topics.rs`, `groups.rs`, `messages.rs` (the message
//!   browser), `znodes.rs`: the API's answers, from the handles in
//!   `sources.rs` (`ConsoleSources`).
//! - `broker_calls.rs`, `group_calls.rs`: the Kafka-protocol calls the
//!   answers need from the cluster's brokers (this one included), over
//!   `client::BrokerConnection`.
//! - `broker_stats.rs`: this broker's traffic counters; `cluster_stats.rs`:
//!   every broker's, the others' read from their own listener
//!   (`peer_http.rs`) at the address they report over the Kafka protocol.
//! - `actions.rs`: the write actions (off by default) and their bodies;
//!   `admin_calls.rs`: the Kafka-protocol calls that carry them out.
//! - `error.rs`: `ConsoleError`, each mapped to an HTTP status and a JSON error.
//!
//! Data comes from this broker's metadata cache (what the controller
//! announced), ZooKeeper reads and Kafka-protocol calls; every read is bounded
//! (a timeout per call, limits on counts and bytes).
//!
//! [`HttpApp`]: crate::metrics::HttpApp

mod actions;
mod admin_calls;
mod assets;
mod broker_calls;
mod broker_stats;
mod cluster;
mod cluster_stats;
mod error;
mod group_calls;
mod groups;
mod messages;
mod peer_http;
mod routes;
mod sources;
mod topics;
mod web_console;
mod znodes;

pub use error::ConsoleError;
pub use sources::{ConsoleSources, PeerConsoles};
pub use web_console::WebConsole;
