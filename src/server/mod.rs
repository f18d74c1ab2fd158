//! The network: the accept loop, connections, request dispatch and one
//! handler per API (Kafka's SocketServer and KafkaApis, split), and the
//! translation between the wire and the domain rooms (`errors.rs` is the
//! only place domain errors become Kafka codes). Only `broker.rs` and
//! `main.rs` use this room.

pub mod auto_creations;
pub mod connection;
pub mod context;
pub mod dispatch;
pub mod errors;
pub mod fetch_budget;
pub mod handlers;
pub mod listener_view;
pub mod request_context;
pub mod response_frame;
pub mod sasl_authenticator;
pub mod sendfile;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use context::BrokerServices;

/// The shared connection limit of every listener: at most `max_connections`
/// connections open at once; more wait in the backlog.
pub fn connection_permits(max_connections: usize) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(
        max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ))
}

/// Accepts connections on one listener (Kafka's per-listener Acceptor) until
/// `shutdown`; each connection runs as its own task on `tracker`, so shutdown
/// can wait for in-flight requests to finish, and knows its listener's name.
pub async fn run_acceptor(
    listener: TcpListener,
    listener_name: Arc<str>,
    services: Arc<BrokerServices>,
    permits: Arc<Semaphore>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: log, back off, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let services = services.clone();
        let shutdown = shutdown.clone();
        let listener_name = listener_name.clone();
        tracker.spawn(async move {
            if let Err(e) = connection::serve(stream, listener_name, services, shutdown).await {
                tracing::info!(%peer, error = %e, "closed connection");
            }
            drop(permit);
        });
    }
    tracing::info!(listener = %listener_name, "stopped accepting connections");
}
