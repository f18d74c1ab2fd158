//! What every controller-to-broker request (LeaderAndIsr, UpdateMetadata,
//! StopReplica) checks first: that it is meant for this registration of the
//! broker (its broker epoch, KIP-380). One sent to an older registration is
//! refused whole with STALE_BROKER_EPOCH and logged. And what every large
//! one is followed by: the memory it took given back (`malloc_tuning`).

use crate::malloc_tuning;
use crate::server::context::BrokerServices;

/// A LeaderAndIsr or UpdateMetadata of at least this many partitions is a
/// burst of allocations (its decoded request, the updates built from it)
/// worth giving back to the kernel once handled.
pub const LARGE_REQUEST_PARTITIONS: usize = 1000;

/// Handles a request of `partitions` with `apply` (which consumes the
/// request); after it, a large one's freed memory goes back to the kernel.
pub async fn apply_then_release<T>(partitions: usize, apply: impl Future<Output = T>) -> T {
    let answer = apply.await;
    if partitions >= LARGE_REQUEST_PARTITIONS {
        malloc_tuning::release_free_memory();
    }
    answer
}

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
