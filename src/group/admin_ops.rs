//! ListGroups, DescribeGroups and DeleteGroups on the coordinator. Groups
//! known only from ZooKeeper (persisted state, or just committed offsets)
//! count as groups of the broker that coordinates them by the rendezvous
//! choice, as Kafka lists offset-only groups.

use bytes::Bytes;

use super::coordinator::Acquired;
use super::coordinator::GroupCoordinator;
use super::error::GroupError;
use super::state::GroupState;

/// One ListGroups entry.
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

/// One DescribeGroups member.
pub struct DescribedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// One DescribeGroups entry.
pub struct DescribedGroup {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol_name: String,
    pub members: Vec<DescribedMember>,
}

impl GroupCoordinator {
    /// Groups this broker coordinates: held in memory, or known from ZooKeeper.
    pub async fn list_groups(&self) -> Result<Vec<ListedGroup>, GroupError> {
        let lease = self.current_lease()?;
        let stored = self.offsets.stored_groups().await?;
        let mut listed: Vec<ListedGroup> = {
            let groups = self.groups.lock();
            groups
                .values()
                .filter(|g| g.state != GroupState::Dead && g.claimed_under(&lease))
                .filter(|g| self.ensure_coordinator(&g.group_id).is_ok())
                .map(|g| ListedGroup {
                    group_id: g.group_id.clone(),
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    state: g.state,
                })
                .collect()
        };
        for group_id in stored {
            if listed.iter().any(|g| g.group_id == group_id)
                || self.ensure_coordinator(&group_id).is_err()
            {
                continue;
            }
            let (state, protocol_type) = match self.zk.get_group_state(&group_id).await? {
                Some(s) => (
                    GroupState::parse(&s.state).unwrap_or(GroupState::Empty),
                    s.protocol_type.unwrap_or_default(),
                ),
                None if !self.offsets.fetch_all(&group_id).await?.is_empty() => {
                    (GroupState::Empty, String::new())
                }
                None => continue,
            };
            listed.push(ListedGroup {
                group_id,
                protocol_type,
                state,
            });
        }
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(listed)
    }

    /// A group's state and members; unknown groups are Dead (not an error), as in Kafka.
    pub async fn describe_group(&self, group_id: &str) -> Result<DescribedGroup, GroupError> {
        let dead = DescribedGroup {
            group_id: group_id.to_string(),
            state: GroupState::Dead,
            protocol_type: String::new(),
            protocol_name: String::new(),
            members: Vec::new(),
        };
        if self.acquire(group_id, false).await? == Acquired::Absent {
            return Ok(dead);
        }
        let groups = self.groups.lock();
        let Some(g) = groups.get(group_id) else {
            return Err(GroupError::NotCoordinator);
        };
        let protocol = g.protocol_name.clone().unwrap_or_default();
        let with_members = g.state == GroupState::Stable;
        Ok(DescribedGroup {
            group_id: group_id.to_string(),
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol_name: if with_members {
                protocol.clone()
            } else {
                String::new()
            },
            members: g
                .members
                .values()
                .map(|m| DescribedMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if with_members {
                        m.metadata_for(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if with_members {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        })
    }

    /// DeleteGroups for one group: only an empty group may go; everything
    /// under `/consumers/<g>` is deleted (fenced).
    pub async fn delete_group(&self, group_id: &str) -> Result<(), GroupError> {
        if self.acquire(group_id, false).await? == Acquired::Absent {
            return Err(GroupError::GroupIdNotFound);
        }
        let lock = self.locks.get(group_id);
        let _guard = lock.lock().await;
        let fence = self.fence_of(group_id)?;
        {
            let groups = self.groups.lock();
            match groups.get(group_id) {
                Some(g) if g.state == GroupState::Dead => return Err(GroupError::GroupIdNotFound),
                // Old ZooKeeper-based consumers registered in it: not ours to delete.
                Some(g)
                    if g.state != GroupState::Empty
                        || !g.pending_members.is_empty()
                        || g.persisted.foreign_ids =>
                {
                    return Err(GroupError::NonEmptyGroup);
                }
                Some(_) => {}
                None => return Err(GroupError::NotCoordinator),
            }
        }
        self.delete_whole_group(group_id, fence).await?;
        tracing::info!(group = %group_id, "group deleted");
        Ok(())
    }

    /// Deletes `/consumers/<g>` and everything below it (fenced) and forgets
    /// the group. Callers hold the group's lock and checked it is empty.
    pub(super) async fn delete_whole_group(
        &self,
        group_id: &str,
        fence: crate::zk::GroupFence,
    ) -> Result<(), GroupError> {
        let deleted = self.zk.delete_group_tree(group_id, fence).await;
        self.offsets.forget(group_id);
        if let Err(e) = deleted {
            return Err(self.after_write_error(group_id, e));
        }
        let mut groups = self.groups.lock();
        if groups.get(group_id).is_some_and(|g| g.fence == fence) {
            groups.remove(group_id);
        }
        Ok(())
    }
}
