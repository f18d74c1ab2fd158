//! The consumer-group znodes of Sluice's group coordinator (JSON in
//! `data_groups.rs`): claiming and releasing `/consumers/<g>/owner`, writes
//! fenced by its data version (a multi that starts with a Check of it, run
//! only on the session that claimed it), the persisted membership
//! (`/consumers/<g>` data, `ids/<member>`, `owners/<t>/<p>`), deleting a
//! whole group, and the size bound of one multi (ZooKeeper's jute.maxbuffer).

use std::collections::{BTreeMap, BTreeSet};

use tracing::warn;

use super::data::ZnodeJson;
use super::data_groups::{GroupOwnerZnode, GroupStateZnode, MemberZnode};
use super::session::split_connect;
use super::{CreateMode, ZkClient, ZkError, ZkOp, ZkOpResult, ZkStat, paths};

/// The largest multi request Sluice sends, in bytes: ZooKeeper refuses (and
/// drops the connection for) requests over `jute.maxbuffer`, 0xfffff bytes by
/// default; this leaves room for the request header.
pub const MAX_MULTI_BYTES: usize = 1_000_000;

/// Attempts of a fenced write that races with znodes appearing or vanishing
/// (a retried create that had landed before a connection loss).
const FENCED_ATTEMPTS: usize = 3;

/// What a broker holds while it coordinates a group: the data version of
/// `/consumers/<g>/owner` it wrote, and the ZooKeeper session it wrote it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupFence {
    pub owner_version: i32,
    pub session_id: i64,
}

/// A group as persisted under `/consumers/<g>`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PersistedGroup {
    /// The data of `/consumers/<g>`, `None` when empty or absent.
    pub state: Option<GroupStateZnode>,
    pub members: Vec<MemberZnode>,
    /// Children of `ids/` that are not Sluice members: an old ZooKeeper-based
    /// consumer registered there, so the group's ids and owners are left alone.
    pub foreign_ids: bool,
    /// `owners/<t>/<p>` -> member id.
    pub owners: BTreeMap<(String, i32), String>,
}

/// Whether `err` from a fenced write of `group` means this broker no longer
/// holds the group: the owner znode changed or vanished, or the session that
/// claimed it is gone.
pub fn lost_fence(err: &ZkError, group: &str) -> bool {
    match err {
        ZkError::BadVersion { path } | ZkError::NoNode { path } => {
            *path == paths::consumer_group_owner(group)
        }
        ZkError::SessionExpired { .. } => true,
        _ => false,
    }
}

/// The bytes of a multi request holding `ops` (ZooKeeper's jute encoding),
/// with `chroot_len` added to every path.
pub fn multi_request_bytes(ops: &[ZkOp], chroot_len: usize) -> usize {
    const LEN_PREFIX: usize = 4;
    const REQUEST_HEADER: usize = 8; // xid, type
    const MULTI_HEADER: usize = 9; // type, done, err
    const WORLD_ANYONE_ACL: usize = 4 + 4 + (4 + 5) + (4 + 6);
    let path = |p: &str| 4 + chroot_len + p.len();
    let mut total = LEN_PREFIX + REQUEST_HEADER + MULTI_HEADER; // the closing header
    for op in ops {
        total += MULTI_HEADER
            + match op {
                ZkOp::Create { path: p, data, .. } => {
                    path(p) + 4 + data.len() + WORLD_ANYONE_ACL + 4
                }
                ZkOp::SetData { path: p, data, .. } => path(p) + 4 + data.len() + 4,
                ZkOp::Delete { path: p, .. } | ZkOp::Check { path: p, .. } => path(p) + 4,
            };
    }
    total
}

impl ZkClient {
    fn chroot_len(&self) -> usize {
        split_connect(&self.config().connect)
            .ok()
            .and_then(|(_, chroot)| chroot)
            .map_or(0, str::len)
    }

    /// `RequestTooLarge` if `ops` do not fit in one ZooKeeper request.
    pub fn check_multi_size(&self, ops: &[ZkOp]) -> Result<(), ZkError> {
        let bytes = multi_request_bytes(ops, self.chroot_len());
        if bytes > MAX_MULTI_BYTES {
            return Err(ZkError::RequestTooLarge {
                path: ops.first().map_or("/", ZkOp::path).to_string(),
                bytes,
                limit: MAX_MULTI_BYTES,
            });
        }
        Ok(())
    }

    /// The owner record of `group` and its stat, `None` if absent.
    pub async fn get_group_owner(
        &self,
        group: &str,
    ) -> Result<Option<(GroupOwnerZnode, ZkStat)>, ZkError> {
        let path = paths::consumer_group_owner(group);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, stat)) => Ok(Some((GroupOwnerZnode::decode(&path, &data)?, stat))),
        }
    }

    /// Writes `record` to `/consumers/<g>/owner`: creates it when
    /// `expected_version` is `None`, else sets it only at that version.
    /// Returns the new data version. `NodeExists` / `BadVersion` when another
    /// writer got there first. A write that landed before a connection loss
    /// and then failed on retry is recognised by reading back its own bytes.
    pub async fn write_group_owner(
        &self,
        group: &str,
        record: &GroupOwnerZnode,
        expected_version: Option<i32>,
    ) -> Result<i32, ZkError> {
        let path = paths::consumer_group_owner(group);
        let data = record.encode(&path)?;
        let written = match expected_version {
            None => {
                self.ensure_path(&paths::consumer_group(group)).await?;
                self.create_with_stat(&path, &data, CreateMode::Persistent)
                    .await
                    .map(|(_, stat)| stat.version)
            }
            Some(version) => self.set_data(&path, &data, Some(version)).await,
        };
        match written {
            Err(e @ (ZkError::NodeExists { .. } | ZkError::BadVersion { .. })) => {
                let landed_version = expected_version.map_or(0, |v| v + 1);
                match self.get_data(&path).await? {
                    Some((current, stat)) if current == data && stat.version == landed_version => {
                        Ok(stat.version)
                    }
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    /// Runs `ops` as one multi that first checks the owner znode is still at
    /// the fence's version, on the fence's session only.
    pub async fn fenced_group_multi(
        &self,
        group: &str,
        fence: GroupFence,
        ops: &[ZkOp],
    ) -> Result<Vec<ZkOpResult>, ZkError> {
        let mut all = Vec::with_capacity(ops.len() + 1);
        all.push(ZkOp::Check {
            path: paths::consumer_group_owner(group),
            version: fence.owner_version,
        });
        all.extend_from_slice(ops);
        self.check_multi_size(&all)?;
        let mut results = self.multi_in_session(&all, fence.session_id).await?;
        results.remove(0);
        Ok(results)
    }

    /// The data of `/consumers/<g>` (the persisted group state), `None` if
    /// absent, empty or unreadable.
    pub async fn get_group_state(&self, group: &str) -> Result<Option<GroupStateZnode>, ZkError> {
        let path = paths::consumer_group(group);
        Ok(match self.get_data(&path).await? {
            Some((data, _)) if !data.is_empty() => GroupStateZnode::decode(&path, &data).ok(),
            _ => None,
        })
    }

    /// The group's persisted state, members and partition owners.
    pub async fn get_group_membership(&self, group: &str) -> Result<PersistedGroup, ZkError> {
        let mut persisted = PersistedGroup::default();
        let group_path = paths::consumer_group(group);
        if let Some((data, _)) = self.get_data(&group_path).await?
            && !data.is_empty()
        {
            match GroupStateZnode::decode(&group_path, &data) {
                Ok(state) => persisted.state = Some(state),
                Err(e) => warn!(group = %group, error = %e, "ignoring the group's state znode"),
            }
        }
        let ids_path = paths::consumer_group_ids(group);
        let ids = self.get_children(&ids_path).await?.unwrap_or_default();
        let member_paths: Vec<String> = ids.iter().map(|c| paths::child(&ids_path, c)).collect();
        for (path, entry) in member_paths
            .iter()
            .zip(self.get_data_many(&member_paths).await?)
        {
            let Some((data, stat)) = entry else { continue };
            match MemberZnode::decode(path, &data) {
                Ok(member) if stat.ephemeral_owner == 0 => persisted.members.push(member),
                _ => persisted.foreign_ids = true,
            }
        }
        let owners_path = paths::consumer_group_owners(group);
        for topic in self.get_children(&owners_path).await?.unwrap_or_default() {
            let topic_path = paths::consumer_topic_owners(group, &topic);
            let partitions = self.get_children(&topic_path).await?.unwrap_or_default();
            let owner_paths: Vec<String> = partitions
                .iter()
                .map(|p| paths::child(&topic_path, p))
                .collect();
            let data = self.get_data_many(&owner_paths).await?;
            for (p, entry) in partitions.iter().zip(data) {
                if let (Ok(partition), Some((owner, _))) = (p.parse::<i32>(), entry) {
                    let owner = String::from_utf8_lossy(&owner).into_owned();
                    persisted.owners.insert((topic.clone(), partition), owner);
                }
            }
        }
        Ok(persisted)
    }

    /// Replaces the persisted membership of `group` (fenced): the state
    /// znode and `ids/` in one multi, then `owners/` (display only) in
    /// further fenced multis when it does not fit. `previous` is what is
    /// stored now (as read at load time or written last).
    pub async fn set_group_membership(
        &self,
        group: &str,
        fence: GroupFence,
        state: &GroupStateZnode,
        members: &[MemberZnode],
        owners: &BTreeMap<(String, i32), String>,
        previous: &PersistedGroup,
    ) -> Result<(), ZkError> {
        let group_path = paths::consumer_group(group);
        let ids_path = paths::consumer_group_ids(group);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let existing: BTreeSet<String> = self
                .get_children(&ids_path)
                .await?
                .unwrap_or_default()
                .into_iter()
                .collect();
            let mut ops = vec![ZkOp::SetData {
                path: group_path.clone(),
                data: state.encode(&group_path)?,
                expected_version: None,
            }];
            if existing.is_empty() && !self.exists(&ids_path).await? {
                ops.push(ZkOp::Create {
                    path: ids_path.clone(),
                    data: Vec::new(),
                    mode: CreateMode::Persistent,
                });
            }
            let mut keep = BTreeSet::new();
            for member in members {
                let path = paths::consumer_group_member(group, &member.member_id);
                let name = paths::encode_name(&member.member_id).into_owned();
                let data = member.encode(&path)?;
                ops.push(if existing.contains(&name) {
                    ZkOp::SetData {
                        path,
                        data,
                        expected_version: None,
                    }
                } else {
                    ZkOp::Create {
                        path,
                        data,
                        mode: CreateMode::Persistent,
                    }
                });
                keep.insert(name);
            }
            for gone in existing.difference(&keep) {
                ops.push(ZkOp::Delete {
                    path: paths::child(&ids_path, gone),
                    expected_version: None,
                });
            }
            match self.fenced_group_multi(group, fence, &ops).await {
                Ok(_) => break,
                Err(e @ (ZkError::NodeExists { .. } | ZkError::NoNode { .. }))
                    if !lost_fence(&e, group) && attempt < FENCED_ATTEMPTS => {}
                Err(e) => return Err(e),
            }
        }
        self.set_partition_owners(group, fence, owners, &previous.owners)
            .await
    }

    /// Brings `owners/<t>/<p>` from `previous` to `owners` with fenced multis.
    async fn set_partition_owners(
        &self,
        group: &str,
        fence: GroupFence,
        owners: &BTreeMap<(String, i32), String>,
        previous: &BTreeMap<(String, i32), String>,
    ) -> Result<(), ZkError> {
        let mut ops = Vec::new();
        let mut parents = BTreeSet::new();
        for ((topic, partition), member) in owners {
            let path = paths::consumer_partition_owner(group, topic, *partition);
            match previous.get(&(topic.clone(), *partition)) {
                Some(old) if old == member => {}
                Some(_) => ops.push(ZkOp::SetData {
                    path,
                    data: member.as_bytes().to_vec(),
                    expected_version: None,
                }),
                None => {
                    parents.insert(paths::consumer_topic_owners(group, topic));
                    ops.push(ZkOp::Create {
                        path,
                        data: member.as_bytes().to_vec(),
                        mode: CreateMode::Persistent,
                    });
                }
            }
        }
        for (topic, partition) in previous.keys() {
            if !owners.contains_key(&(topic.clone(), *partition)) {
                ops.push(ZkOp::Delete {
                    path: paths::consumer_partition_owner(group, topic, *partition),
                    expected_version: None,
                });
            }
        }
        for parent in &parents {
            self.ensure_path(parent).await?;
        }
        // Display only: written in as many fenced multis as it takes.
        let mut batch = Vec::new();
        for op in ops {
            batch.push(op);
            if multi_request_bytes(&batch, self.chroot_len()) > MAX_MULTI_BYTES / 2 {
                self.fenced_owner_batch(group, fence, std::mem::take(&mut batch))
                    .await?;
            }
        }
        self.fenced_owner_batch(group, fence, batch).await
    }

    async fn fenced_owner_batch(
        &self,
        group: &str,
        fence: GroupFence,
        ops: Vec<ZkOp>,
    ) -> Result<(), ZkError> {
        if ops.is_empty() {
            return Ok(());
        }
        match self.fenced_group_multi(group, fence, &ops).await {
            Ok(_) => Ok(()),
            // A retried batch that had landed, or an operator's edit: the
            // next membership write brings owners back in line.
            Err(e @ (ZkError::NodeExists { .. } | ZkError::NoNode { .. }))
                if !lost_fence(&e, group) =>
            {
                warn!(group = %group, error = %e, "partition owners of the group not updated");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes everything under `/consumers/<g>` and the node itself with
    /// fenced multis, deepest first; the owner znode goes last, with the
    /// group node, so no other broker can claim the group half deleted.
    pub async fn delete_group_tree(&self, group: &str, fence: GroupFence) -> Result<(), ZkError> {
        let root = paths::consumer_group(group);
        let owner = paths::consumer_group_owner(group);
        let nodes = self.subtree(&root).await?;
        let mut batch = Vec::new();
        for node in nodes.iter().rev() {
            if *node == owner || *node == root {
                continue;
            }
            batch.push(ZkOp::Delete {
                path: node.clone(),
                expected_version: None,
            });
            if multi_request_bytes(&batch, self.chroot_len()) > MAX_MULTI_BYTES / 2 {
                self.fenced_group_multi(group, fence, &std::mem::take(&mut batch))
                    .await?;
            }
        }
        if !batch.is_empty() {
            self.fenced_group_multi(group, fence, &batch).await?;
        }
        let last = [
            ZkOp::Check {
                path: owner.clone(),
                version: fence.owner_version,
            },
            ZkOp::Delete {
                path: owner,
                expected_version: Some(fence.owner_version),
            },
            ZkOp::Delete {
                path: root,
                expected_version: None,
            },
        ];
        self.multi_in_session(&last, fence.session_id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_size_follows_the_jute_encoding() {
        let check = ZkOp::Check {
            path: "/a".to_string(),
            version: 0,
        };
        // 4 len + 8 header + 9 closing header + (9 + 4 + 2 + 4).
        assert_eq!(multi_request_bytes(std::slice::from_ref(&check), 0), 40);
        assert_eq!(multi_request_bytes(&[check], 10), 50);
        let set = ZkOp::SetData {
            path: "/consumers/g/offsets/t/0".to_string(),
            data: b"12345".to_vec(),
            expected_version: None,
        };
        assert_eq!(
            multi_request_bytes(&[set], 0),
            21 + 9 + (4 + 24) + (4 + 5) + 4
        );
    }

    #[test]
    fn only_owner_changes_and_lost_sessions_are_lost_fences() {
        let owner = paths::consumer_group_owner("g");
        assert!(lost_fence(
            &ZkError::BadVersion {
                path: owner.clone()
            },
            "g"
        ));
        assert!(lost_fence(&ZkError::NoNode { path: owner }, "g"));
        assert!(lost_fence(
            &ZkError::SessionExpired { path: "/x".into() },
            "g"
        ));
        assert!(!lost_fence(
            &ZkError::NoNode {
                path: paths::consumers_offsets("g", "t", 0)
            },
            "g"
        ));
    }
}
