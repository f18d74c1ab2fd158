//! The broker's listeners at start-up (Kafka's SocketServer endpoints): every
//! entry of `listeners` bound to its own socket, and the advertised endpoints
//! with the real host and port filled in, as registered in ZooKeeper and told
//! to clients. A listener that cannot be bound fails start-up naming
//! `listeners` and the listener.

use tokio::net::TcpListener;

use super::BrokerError;
use crate::config::BrokerConfig;
use crate::metadata::ListenerEndpoint;

/// One bound listener.
pub struct BoundListener {
    /// The listener name, e.g. `INTERNAL`.
    pub name: String,
    /// The address bound, for logs.
    pub address: String,
    /// The bound port (the kernel's choice where the config says 0).
    pub port: u16,
    pub socket: TcpListener,
}

/// Binds every entry of `listeners`, in order.
pub async fn bind_all(config: &BrokerConfig) -> Result<Vec<BoundListener>, BrokerError> {
    let mut bound = Vec::with_capacity(config.listeners.len());
    for l in &config.listeners {
        let host = if l.host.is_empty() {
            "0.0.0.0"
        } else {
            &l.host
        };
        let address = if host.contains(':') {
            format!("[{host}]:{}", l.port)
        } else {
            format!("{host}:{}", l.port)
        };
        let bind_error = |source| BrokerError::Bind {
            address: format!("{address} (listener {} in listeners)", l.name),
            source,
        };
        let socket = TcpListener::bind(&address).await.map_err(bind_error)?;
        let port = socket.local_addr().map_err(bind_error)?.port();
        bound.push(BoundListener {
            name: l.name.clone(),
            address,
            port,
            socket,
        });
    }
    if bound.is_empty() {
        return Err(BrokerError::Listener("no listener configured".into()));
    }
    Ok(bound)
}

/// The advertised endpoints: an empty or wildcard host is the machine's
/// hostname, a port of 0 the port its listener was bound to.
pub fn advertised(
    config: &BrokerConfig,
    bound: &[BoundListener],
    hostname: &str,
) -> Vec<ListenerEndpoint> {
    config
        .advertised_listeners
        .iter()
        .map(|a| {
            let host = if a.host.is_empty() || a.host == "0.0.0.0" || a.host == "::" {
                hostname.to_string()
            } else {
                a.host.clone()
            };
            let port = match a.port {
                0 => bound
                    .iter()
                    .find(|b| b.name == a.name)
                    .map_or(0, |b| b.port),
                port => port,
            };
            ListenerEndpoint {
                listener: a.name.clone(),
                host,
                port,
            }
        })
        .collect()
}
