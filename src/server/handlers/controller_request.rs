//! What every controller-to-broker request (LeaderAndIsr, UpdateMetadata,
//! StopReplica) checks first: that it is meant for this registration of the
//! broker (its broker epoch, KIP-380). One sent to an older registration is
//! refused whole with STALE_BROKER_EPOCH and logged.

use crate::server::context::BrokerServices;

/// True (and logged) when `request_epoch` names an older registration of
/// this broker: the caller answers STALE_BROKER_EPOCH.
pub fn is_for_an_older_registration(
    services: &BrokerServices,
    api: &'static str,
    request_epoch: i64,
) -> bool {
    let stale = services.controller.is_broker_epoch_stale(request_epoch);
    if stale {
        tracing::warn!(
            api,
            request_epoch,
            current = services.controller.broker_epoch(),
            "refused a controller request meant for an older registration of this broker"
        );
    }
    stale
}
