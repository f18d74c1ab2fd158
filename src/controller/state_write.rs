//! How the controller writes partition state znodes: a decision on the
//! state it knows, written conditionally on the version it saw and fenced
//! on `/controller_epoch` (a multi with a check op). On a version conflict
//! it re-reads and decides again. The outcome does not depend on who won
//! the compare-and-set: a state found already written as decided (its own
//! earlier attempt, whose reply was lost; the client retries after
//! ConnectionLoss) counts as written, and a state someone else wrote
//! meanwhile counts as changed; either is announced (Kafka's
//! `checkLeaderAndIsrZkData`, and its controller's retries of
//! `updatesToRetry`). Many partitions are written with up to
//! `PIPELINE_DEPTH` writes in flight (Kafka pipelines them too), so a
//! failover of thousands of partitions takes a few round trips, not
//! thousands.

use std::future::Future;

use tokio::task::JoinSet;

use super::context::ControllerContext;
use crate::model::{TopicPartition, ZkVersion};
use crate::zk::{PartitionStateZnode, ZkClient, ZkError};

/// How often a decision is retried on fresh state after the state znode
/// changed under the controller (a leader's ISR change, typically).
const CONFLICT_ATTEMPTS: usize = 3;

/// Partition state writes in flight at once.
pub(super) const PIPELINE_DEPTH: usize = 128;

/// Where the partition states are written: ZooKeeper (`FencedStates`); unit
/// tests use an in-memory store.
pub(super) trait StateStore: Clone + Send + Sync + 'static {
    /// Writes `next` if the state's zkVersion is still `expected`; returns the
    /// new zkVersion, or `ZkError::BadVersion`.
    fn write(
        &self,
        tp: &TopicPartition,
        next: &PartitionStateZnode,
        expected: ZkVersion,
    ) -> impl Future<Output = Result<ZkVersion, ZkError>> + Send;

    /// The state and its zkVersion, `None` if the znode is gone.
    fn read(
        &self,
        tp: &TopicPartition,
    ) -> impl Future<Output = Result<Option<(PartitionStateZnode, ZkVersion)>, ZkError>> + Send;
}

/// The partition state znodes in ZooKeeper, written fenced on `/controller_epoch`.
#[derive(Clone)]
pub(super) struct FencedStates {
    pub zk: ZkClient,
    pub epoch_zk_version: ZkVersion,
}

impl StateStore for FencedStates {
    async fn write(
        &self,
        tp: &TopicPartition,
        next: &PartitionStateZnode,
        expected: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        self.zk
            .update_partition_state_fenced(
                &tp.topic,
                tp.partition,
                next,
                expected,
                self.epoch_zk_version,
            )
            .await
    }

    async fn read(
        &self,
        tp: &TopicPartition,
    ) -> Result<Option<(PartitionStateZnode, ZkVersion)>, ZkError> {
        self.zk.get_partition_state(&tp.topic, tp.partition).await
    }
}

fn fenced(zk: &ZkClient, ctx: &ControllerContext) -> FencedStates {
    FencedStates {
        zk: zk.clone(),
        epoch_zk_version: ctx.epoch_zk_version,
    }
}

/// What a state update came to for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StateUpdate {
    /// Nothing to do: the state is what brokers were last told.
    Unchanged,
    /// The decision is the partition's state now.
    Written,
    /// The state znode changed under the controller and the decision no
    /// longer applies; the state read back is new to brokers.
    Refreshed,
}

impl StateUpdate {
    /// The partition's state differs from what brokers were last told: it
    /// must be announced (LeaderAndIsr, UpdateMetadata), whoever wrote it.
    pub fn changed(self) -> bool {
        self != StateUpdate::Unchanged
    }

    pub fn written(self) -> bool {
        self == StateUpdate::Written
    }
}

/// Decides the next state of `tp` from its current one with `decide` (`None`:
/// leave it) and writes it conditionally; on a version conflict re-reads and
/// decides again, up to `CONFLICT_ATTEMPTS` times.
pub(super) async fn update_state(
    zk: &ZkClient,
    ctx: &mut ControllerContext,
    tp: &TopicPartition,
    decide: impl Fn(&ControllerContext, &PartitionStateZnode) -> Option<PartitionStateZnode>,
) -> Result<StateUpdate, ZkError> {
    update_state_in(&fenced(zk, ctx), ctx, tp, decide).await
}

/// `update_state` for many partitions, the first attempts pipelined (the
/// rare conflicts are then decided again one by one). Returns each
/// partition's outcome, in partition order.
pub(super) async fn update_states(
    zk: &ZkClient,
    ctx: &mut ControllerContext,
    partitions: &[TopicPartition],
    decide: impl Fn(
        &ControllerContext,
        &TopicPartition,
        &PartitionStateZnode,
    ) -> Option<PartitionStateZnode>,
) -> Result<Vec<(TopicPartition, StateUpdate)>, ZkError> {
    update_states_in(&fenced(zk, ctx), ctx, partitions, decide).await
}

/// `update_state` on any store.
pub(super) async fn update_state_in(
    store: &impl StateStore,
    ctx: &mut ControllerContext,
    tp: &TopicPartition,
    decide: impl Fn(&ControllerContext, &PartitionStateZnode) -> Option<PartitionStateZnode>,
) -> Result<StateUpdate, ZkError> {
    let Some((_, start_version)) = ctx.partition_states.get(tp) else {
        return Ok(StateUpdate::Unchanged);
    };
    let start_version = *start_version;
    let changed_meanwhile = |ctx: &ControllerContext| {
        if ctx
            .partition_states
            .get(tp)
            .is_some_and(|(_, v)| *v != start_version)
        {
            StateUpdate::Refreshed
        } else {
            StateUpdate::Unchanged
        }
    };
    for _ in 0..CONFLICT_ATTEMPTS {
        let Some((current, _)) = ctx.partition_states.get(tp) else {
            return Ok(StateUpdate::Unchanged);
        };
        let Some(next) = decide(ctx, current) else {
            return Ok(changed_meanwhile(ctx));
        };
        match write_state(store, ctx, tp, next).await? {
            WriteOutcome::Written => return Ok(StateUpdate::Written),
            WriteOutcome::Conflict => {}
            WriteOutcome::Gone => return Ok(StateUpdate::Unchanged),
        }
    }
    Ok(changed_meanwhile(ctx))
}

/// `update_states` on any store.
pub(super) async fn update_states_in<S: StateStore>(
    store: &S,
    ctx: &mut ControllerContext,
    partitions: &[TopicPartition],
    decide: impl Fn(
        &ControllerContext,
        &TopicPartition,
        &PartitionStateZnode,
    ) -> Option<PartitionStateZnode>,
) -> Result<Vec<(TopicPartition, StateUpdate)>, ZkError> {
    let mut outcomes = Vec::with_capacity(partitions.len());
    let mut planned = Vec::new();
    for tp in partitions {
        let Some((current, version)) = ctx.partition_states.get(tp) else {
            continue;
        };
        match decide(ctx, tp, current) {
            Some(next) => planned.push((tp.clone(), next, *version)),
            None => outcomes.push((tp.clone(), StateUpdate::Unchanged)),
        }
    }
    for (tp, next, result) in write_pipelined(store, planned).await {
        match result {
            Ok(version) => {
                ctx.partition_states.insert(tp.clone(), (next, version));
                outcomes.push((tp, StateUpdate::Written));
            }
            Err(ZkError::BadVersion { .. }) => {
                // Changed meanwhile, or our own write whose reply was lost:
                // one at a time, with a re-read.
                let update =
                    update_state_in(store, ctx, &tp, |ctx, current| decide(ctx, &tp, current))
                        .await?;
                outcomes.push((tp, update));
            }
            Err(e) => return Err(e),
        }
    }
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(outcomes)
}

/// Writes every planned (partition, state, expected version), at most
/// `PIPELINE_DEPTH` at a time; each with its result.
async fn write_pipelined<S: StateStore>(
    store: &S,
    planned: Vec<(TopicPartition, PartitionStateZnode, ZkVersion)>,
) -> Vec<(
    TopicPartition,
    PartitionStateZnode,
    Result<ZkVersion, ZkError>,
)> {
    let mut results = Vec::with_capacity(planned.len());
    let mut pending = planned.into_iter();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < PIPELINE_DEPTH {
            let Some((tp, next, expected)) = pending.next() else {
                break;
            };
            let store = store.clone();
            in_flight.spawn(async move {
                let result = store.write(&tp, &next, expected).await;
                (tp, next, result)
            });
        }
        match in_flight.join_next().await {
            Some(done) => results.push(done.expect("a partition state write panicked")),
            None => return results,
        }
    }
}

/// What one conditional write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteOutcome {
    /// The znode holds what we wrote (now in the context).
    Written,
    /// It holds something else (now in the context): decide again.
    Conflict,
    /// The znode is gone (its topic was deleted).
    Gone,
}

/// After a BadVersion, the state read back: if it is exactly what we tried
/// to write, our own attempt landed before its reply was lost (the client
/// retries a write after ConnectionLoss) and we adopt its version (Kafka's
/// `checkLeaderAndIsrZkData`).
fn is_our_write(
    next: &PartitionStateZnode,
    fresh: &Option<(PartitionStateZnode, ZkVersion)>,
) -> bool {
    fresh.as_ref().is_some_and(|(state, _)| state == next)
}

/// Writes `next` over the state of `tp` if nobody changed it since we read it;
/// on a conflict re-reads (into the context), so the caller can decide again.
async fn write_state(
    store: &impl StateStore,
    ctx: &mut ControllerContext,
    tp: &TopicPartition,
    next: PartitionStateZnode,
) -> Result<WriteOutcome, ZkError> {
    let Some((_, version)) = ctx.partition_states.get(tp) else {
        return Ok(WriteOutcome::Gone);
    };
    match store.write(tp, &next, *version).await {
        Ok(new_version) => {
            ctx.partition_states.insert(tp.clone(), (next, new_version));
            Ok(WriteOutcome::Written)
        }
        Err(ZkError::BadVersion { .. }) => {
            let fresh = store.read(tp).await?;
            if is_our_write(&next, &fresh) {
                tracing::info!(partition = %tp, "partition state already holds our write (its reply was lost); adopting it");
                ctx.partition_states
                    .insert(tp.clone(), fresh.expect("checked by is_our_write"));
                return Ok(WriteOutcome::Written);
            }
            tracing::warn!(partition = %tp, "partition state changed under the controller; re-read");
            match fresh {
                Some(fresh) => {
                    ctx.partition_states.insert(tp.clone(), fresh);
                    Ok(WriteOutcome::Conflict)
                }
                None => Ok(WriteOutcome::Gone),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "state_write_tests.rs"]
mod tests;
