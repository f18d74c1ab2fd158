//! ListGroups, DescribeGroups and DeleteGroups on the coordinator. Groups
//! whose only trace is committed offsets in ZooKeeper count as Empty groups
//! of the broker that coordinates them, as Kafka lists offset-only groups.

use bytes::Bytes;

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
    /// Groups this broker coordinates, in memory or with offsets in ZooKeeper.
    pub async fn list_groups(&self) -> Result<Vec<ListedGroup>, GroupError> {
        let stored = self.offsets.stored_groups().await?;
        let mut listed: Vec<ListedGroup> = {
            let groups = self.groups.lock();
            groups
                .values()
                .filter(|g| g.state != GroupState::Dead)
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
            if self.offsets.fetch_all(&group_id).await?.is_empty() {
                continue;
            }
            listed.push(ListedGroup {
                group_id,
                protocol_type: String::new(),
                state: GroupState::Empty,
            });
        }
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(listed)
    }

    /// A group's state and members; unknown groups are Dead (not an error), as in Kafka.
    pub async fn describe_group(&self, group_id: &str) -> Result<DescribedGroup, GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        self.ensure_coordinator(group_id)?;
        let in_memory = {
            let groups = self.groups.lock();
            groups.get(group_id).map(|g| {
                let protocol = g.protocol_name.clone().unwrap_or_default();
                let with_members = g.state == GroupState::Stable;
                DescribedGroup {
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
                }
            })
        };
        if let Some(described) = in_memory {
            return Ok(described);
        }
        let has_offsets = !self.offsets.fetch_all(group_id).await?.is_empty();
        Ok(DescribedGroup {
            group_id: group_id.to_string(),
            state: if has_offsets {
                GroupState::Empty
            } else {
                GroupState::Dead
            },
            protocol_type: String::new(),
            protocol_name: String::new(),
            members: Vec::new(),
        })
    }

    /// DeleteGroups for one group: only an empty group may go; its offsets
    /// are deleted from ZooKeeper.
    pub async fn delete_group(&self, group_id: &str) -> Result<(), GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        self.ensure_coordinator(group_id)?;
        let in_memory = {
            let groups = self.groups.lock();
            match groups.get(group_id) {
                Some(g) if g.state == GroupState::Dead => return Err(GroupError::GroupIdNotFound),
                Some(g) if g.state != GroupState::Empty => return Err(GroupError::NonEmptyGroup),
                Some(_) => true,
                None => false,
            }
        };
        if !in_memory && self.offsets.fetch_all(group_id).await?.is_empty() {
            return Err(GroupError::GroupIdNotFound);
        }
        self.offsets.delete_group(group_id).await?;
        let mut groups = self.groups.lock();
        if groups
            .get(group_id)
            .is_some_and(|g| g.state == GroupState::Empty)
        {
            groups.remove(group_id);
        }
        tracing::info!(group = %group_id, "group deleted");
        Ok(())
    }
}
