//! The group coordinator's clock: a tick every 100 ms expires members whose
//! session timed out (and pending member ids never used), ends join phases at
//! their rebalance deadline or after group.initial.rebalance.delay.ms,
//! unloads groups this broker no longer coordinates (queuing the release of
//! their owner records) or whose claim belongs to a session that is gone,
//! and releases queued records; the persister writes changed memberships;
//! every offsets.retention.check.interval.ms, offsets expire (`retention.rs`).
//! The session lease is renewed by its own task (`lease.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::coordinator::{GroupCoordinator, remove_member};
use super::error::GroupError;
use super::group_metadata::{GroupMetadata, JoinResult};
use super::state::GroupState;

const TICK: Duration = Duration::from_millis(100);

impl GroupCoordinator {
    /// Runs the lease, session, rebalance, persistence and retention timers
    /// until shutdown.
    pub async fn run_timers(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(self.lease.clone().run_refresher(
            self.zk.clone(),
            self.broker_id,
            shutdown.clone(),
        ));
        // A retention pass may take a while (it reads every group's offsets):
        // it runs beside the tick, not in its way.
        tokio::spawn(self.clone().run_retention(shutdown.clone()));
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    self.tick(Instant::now());
                    self.release_queued().await;
                }
                _ = self.dirty_notify.notified() => self.persist_dirty().await,
            }
        }
    }

    async fn run_retention(self: Arc<Self>, shutdown: CancellationToken) {
        let every = self
            .settings
            .offsets_retention_check_interval
            .max(Duration::from_millis(1));
        let mut retention = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = retention.tick() => self.expire_offsets().await,
            }
        }
    }

    fn tick(&self, now: Instant) {
        // Without a valid lease nothing is served, and nobody expires.
        let Some(lease) = self.lease.valid(now) else {
            return;
        };
        let mut groups = self.groups.lock();
        let mut moved = Vec::new();
        let mut lost = Vec::new();
        for (group_id, group) in groups.iter_mut() {
            if !group.claimed_under(&lease) {
                lost.push(group_id.clone());
                continue;
            }
            if self.ensure_coordinator(group_id).is_err() {
                moved.push(group_id.clone());
                continue;
            }
            group.pending_members.retain(|_, deadline| *deadline > now);
            let expired: Vec<String> = group
                .members
                .values()
                .filter(|m| {
                    m.awaiting_join.is_none()
                        && m.awaiting_sync.is_none()
                        && m.heartbeat_deadline <= now
                })
                .map(|m| m.member_id.clone())
                .collect();
            for member_id in &expired {
                tracing::info!(group = %group_id, member = %member_id, "member's session expired");
                remove_member(group, member_id);
            }
            if !expired.is_empty() {
                self.after_member_removed(group, now);
            }
            self.try_complete_join(group, now);
        }
        for group_id in lost {
            if let Some(group) = groups.remove(&group_id) {
                tracing::warn!(group = %group_id, "the ZooKeeper session that claimed the group is gone; unloading it");
                fail_parked(group, GroupError::NotCoordinator);
            }
        }
        for group_id in moved {
            if let Some(group) = groups.remove(&group_id) {
                tracing::info!(group = %group_id, "unloading a group this broker no longer coordinates");
                self.releases.lock().insert(group_id, group.fence);
                fail_parked(group, GroupError::NotCoordinator);
            }
        }
        drop(groups);
        self.locks.prune();
    }
}

/// Marks an unloaded group Dead and answers its parked requests with `error`.
pub(super) fn fail_parked(mut group: GroupMetadata, error: GroupError) {
    group.state = GroupState::Dead;
    for member in group.members.values_mut() {
        if let Some(tx) = member.awaiting_join.take() {
            let _ = tx.send(JoinResult::failed(
                &member.member_id,
                error.clone_for_member(),
            ));
        }
        if let Some(tx) = member.awaiting_sync.take() {
            let _ = tx.send(Err(error.clone_for_member()));
        }
    }
}
