//! The group coordinator's clock: a tick every 100 ms expires members whose
//! session timed out (and pending member ids never used), ends join phases at
//! their rebalance deadline or after group.initial.rebalance.delay.ms, and
//! unloads groups this broker no longer coordinates (after a broker joined or
//! left); every offsets.retention.check.interval.ms, offsets of long-empty
//! groups expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::coordinator::{GroupCoordinator, remove_member};
use super::error::GroupError;
use super::group_metadata::JoinResult;
use super::state::GroupState;

const TICK: Duration = Duration::from_millis(100);

impl GroupCoordinator {
    /// Runs the session, rebalance and retention timers until shutdown.
    pub async fn run_timers(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        let retention_every =
            Duration::from_millis(self.settings.offsets_retention_check_interval_ms.max(1) as u64);
        let mut retention = tokio::time::interval(retention_every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => self.tick(Instant::now()),
                _ = retention.tick() => self.expire_offsets().await,
            }
        }
    }

    fn tick(&self, now: Instant) {
        let mut groups = self.groups.lock();
        let mut unload = Vec::new();
        for (group_id, group) in groups.iter_mut() {
            if self.ensure_coordinator(group_id).is_err() {
                unload.push(group_id.clone());
                continue;
            }
            group.pending_members.retain(|_, deadline| *deadline > now);
            let expired: Vec<String> = group
                .members
                .values()
                .filter(|m| m.awaiting_join.is_none() && m.heartbeat_deadline <= now)
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
        for group_id in unload {
            if let Some(mut group) = groups.remove(&group_id) {
                tracing::info!(group = %group_id, "unloading a group this broker no longer coordinates");
                group.state = GroupState::Dead;
                for member in group.members.values_mut() {
                    if let Some(tx) = member.awaiting_join.take() {
                        let _ = tx.send(JoinResult::failed(
                            &member.member_id,
                            GroupError::NotCoordinator,
                        ));
                    }
                    if let Some(tx) = member.awaiting_sync.take() {
                        let _ = tx.send(Err(GroupError::NotCoordinator));
                    }
                }
            }
        }
    }
}
