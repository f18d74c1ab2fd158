//! What a request sees of the cluster through the listener it arrived on
//! (Kafka's `MetadataCache.getAliveBrokerNodes(listenerName)` and
//! `getAliveEndpoint`): every broker is shown with its endpoint on that
//! listener, and brokers without that listener are left out. Metadata,
//! FindCoordinator and DescribeCluster answer through this.

use crate::metadata::{ClusterSnapshot, ListenerEndpoint};
use crate::model::BrokerId;
use crate::server::context::BrokerServices;

/// A live broker as a client of one listener reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleBroker {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// The live brokers that have `listener`, with their endpoints on it. Before
/// the controller's first UpdateMetadata the cache knows no broker: clients
/// still need one to talk to, so this broker answers with itself.
pub fn alive_brokers(
    services: &BrokerServices,
    snapshot: &ClusterSnapshot,
    listener: &str,
) -> Vec<VisibleBroker> {
    if snapshot.brokers.is_empty() {
        return own_endpoint(services, listener)
            .map(|e| VisibleBroker {
                id: services.broker_id.0,
                host: e.host.clone(),
                port: e.port,
                rack: services.config.broker_rack.clone(),
            })
            .into_iter()
            .collect();
    }
    snapshot
        .brokers
        .values()
        .filter_map(|b| {
            let e = b.on_listener(listener)?;
            Some(VisibleBroker {
                id: b.id.0,
                host: e.host.clone(),
                port: e.port,
                rack: b.rack.clone(),
            })
        })
        .collect()
}

/// The endpoint of live broker `id` on `listener`; `None` if the broker is
/// not alive or lacks the listener.
pub fn endpoint<'s>(
    snapshot: &'s ClusterSnapshot,
    id: BrokerId,
    listener: &str,
) -> Option<&'s ListenerEndpoint> {
    snapshot.brokers.get(&id)?.on_listener(listener)
}

/// True when broker `id` is alive but has no endpoint on `listener`
/// (Metadata then answers LISTENER_NOT_FOUND for the partitions it leads).
pub fn alive_without_listener(snapshot: &ClusterSnapshot, id: BrokerId, listener: &str) -> bool {
    snapshot
        .brokers
        .get(&id)
        .is_some_and(|b| b.on_listener(listener).is_none())
}

fn own_endpoint<'s>(services: &'s BrokerServices, listener: &str) -> Option<&'s ListenerEndpoint> {
    services
        .advertised_listeners
        .iter()
        .find(|l| l.listener == listener)
}
