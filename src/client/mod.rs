//! Every outbound Kafka-protocol connection (Kafka's NetworkClient and
//! BlockingSend), one request at a time, frames built by `crate::protocol`:
//!
//! - `broker_connection`: the async [`BrokerConnection`] a broker uses to
//!   reach another broker: the replica fetchers to their leaders, the
//!   controller's channel to every broker, controlled shutdown to the
//!   controller. What differs between them is a [`ConnectionOptions`].
//! - `liveness`: the TCP keepalive and `TCP_USER_TIMEOUT` options that make a
//!   dead peer fail a connection.
//! - `blocking`: the blocking connection of the command-line tools.
//!
//! Depends on `protocol` only (and the leaf rooms); which listener of a
//! broker to reach is its caller's choice.

pub mod blocking;
mod broker_connection;
#[cfg(test)]
pub(crate) mod fake_broker;
mod liveness;

pub use broker_connection::{
    BrokerConnection, ConnectionError, ConnectionOptions, DEFAULT_MAX_RESPONSE_BYTES,
};
