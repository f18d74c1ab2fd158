//! Unit tests of the controller's conditional partition state writes, on an
//! in-memory store that behaves like ZooKeeper's conditional set, including a
//! write that lands while its reply is lost (the ZooKeeper client retries
//! after ConnectionLoss and gets BadVersion from its own first attempt).

use std::sync::Mutex;

use super::*;
use crate::controller::context::{LiveBroker, TopicInfo};

/// One partition's state znode in memory.
struct MemStore {
    znode: Mutex<Option<(PartitionStateZnode, ZkVersion)>>,
    /// The next write lands but its reply is lost: the caller sees the
    /// retry's BadVersion.
    lose_next_reply: Mutex<bool>,
    writes: Mutex<usize>,
}

impl MemStore {
    fn new(state: PartitionStateZnode, version: ZkVersion) -> MemStore {
        MemStore {
            znode: Mutex::new(Some((state, version))),
            lose_next_reply: Mutex::new(false),
            writes: Mutex::new(0),
        }
    }

    fn current(&self) -> (PartitionStateZnode, ZkVersion) {
        self.znode.lock().unwrap().clone().expect("znode")
    }

    /// Someone else (a leader, another controller) writes the znode.
    fn overwrite(&self, state: PartitionStateZnode) {
        let mut znode = self.znode.lock().unwrap();
        let version = znode.as_ref().expect("znode").1 + 1;
        *znode = Some((state, version));
    }
}

impl StateStore for MemStore {
    async fn write(
        &self,
        tp: &TopicPartition,
        next: &PartitionStateZnode,
        expected: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        *self.writes.lock().unwrap() += 1;
        let mut znode = self.znode.lock().unwrap();
        let bad_version = || ZkError::BadVersion {
            path: tp.to_string(),
        };
        let Some((_, version)) = znode.as_ref() else {
            return Err(ZkError::NoNode {
                path: tp.to_string(),
            });
        };
        if *version != expected {
            return Err(bad_version());
        }
        let new_version = version + 1;
        *znode = Some((next.clone(), new_version));
        let mut lose = self.lose_next_reply.lock().unwrap();
        if *lose {
            *lose = false;
            // The client's retry of the same conditional set.
            return Err(bad_version());
        }
        Ok(new_version)
    }

    async fn read(
        &self,
        _tp: &TopicPartition,
    ) -> Result<Option<(PartitionStateZnode, ZkVersion)>, ZkError> {
        Ok(self.znode.lock().unwrap().clone())
    }
}

fn tp() -> TopicPartition {
    TopicPartition::new("t", 0)
}

/// Controller epoch 7; brokers `live` are live; `t-0` has replicas [1, 2, 3]
/// and `state` at `version`.
fn context(live: &[i32], state: &PartitionStateZnode, version: ZkVersion) -> ControllerContext {
    let mut ctx = ControllerContext {
        epoch: 7,
        ..Default::default()
    };
    for &id in live {
        ctx.live_brokers.insert(id, LiveBroker::for_tests(id));
    }
    ctx.topics.insert(
        "t".into(),
        TopicInfo {
            topic_id: uuid::Uuid::nil(),
            assignment: [(0, vec![1, 2, 3])].into(),
        },
    );
    ctx.partition_states.insert(tp(), (state.clone(), version));
    ctx
}

/// The offline election `elect_offline_partitions` runs.
fn elect(ctx: &ControllerContext, current: &PartitionStateZnode) -> Option<PartitionStateZnode> {
    if ctx.is_live(current.leader) {
        return None;
    }
    let e = offline_partition_leader(ctx.replicas(&tp()), &current.isr, |b| ctx.is_live(b), false)?;
    Some(PartitionStateZnode::new(
        e.leader,
        current.leader_epoch + 1,
        e.isr,
        ctx.epoch,
    ))
}

#[tokio::test]
async fn an_election_that_landed_while_its_reply_was_lost_counts_as_written() {
    // Leader 1 died; the controller elects 2. The write reaches ZooKeeper but
    // the connection drops before the reply: the retry gets BadVersion.
    let old = PartitionStateZnode::new(1, 5, vec![1, 2], 3);
    let store = MemStore::new(old.clone(), 10);
    *store.lose_next_reply.lock().unwrap() = true;
    let mut ctx = context(&[2, 3], &old, 10);

    let update = update_state_in(&store, &mut ctx, &tp(), elect)
        .await
        .unwrap();

    let elected = PartitionStateZnode::new(2, 6, vec![2], 7);
    assert_eq!(store.current(), (elected.clone(), 11));
    assert_eq!(
        update,
        StateUpdate::Written,
        "the controller's own election must be announced"
    );
    assert_eq!(ctx.partition_states[&tp()], (elected, 11));
    assert_eq!(
        *store.writes.lock().unwrap(),
        1,
        "adopted, not written again"
    );
}

#[tokio::test]
async fn a_state_someone_else_wrote_meanwhile_is_announced_too() {
    // Another writer (an earlier controller whose announcement was lost)
    // already moved leadership to 3; our decision no longer applies.
    let old = PartitionStateZnode::new(1, 5, vec![1, 2, 3], 3);
    let store = MemStore::new(old.clone(), 10);
    let theirs = PartitionStateZnode::new(3, 6, vec![3], 6);
    store.overwrite(theirs.clone());
    let mut ctx = context(&[2, 3], &old, 10);

    let update = update_state_in(&store, &mut ctx, &tp(), elect)
        .await
        .unwrap();

    assert_eq!(ctx.partition_states[&tp()], (theirs, 11));
    assert_eq!(update, StateUpdate::Refreshed);
    assert!(update.changed() && !update.written());
}

#[tokio::test]
async fn a_leaders_isr_change_meanwhile_is_decided_again_and_written() {
    // The leader shrank the ISR meanwhile: the election runs again on it.
    let old = PartitionStateZnode::new(1, 5, vec![1, 2, 3], 3);
    let store = MemStore::new(old.clone(), 10);
    store.overwrite(PartitionStateZnode::new(1, 5, vec![1, 3], 3));
    let mut ctx = context(&[2, 3], &old, 10);

    let update = update_state_in(&store, &mut ctx, &tp(), elect)
        .await
        .unwrap();

    let elected = PartitionStateZnode::new(3, 6, vec![3], 7);
    assert_eq!(update, StateUpdate::Written);
    assert_eq!(store.current(), (elected.clone(), 12));
    assert_eq!(ctx.partition_states[&tp()], (elected, 12));
}

#[tokio::test]
async fn nothing_to_decide_writes_nothing() {
    let state = PartitionStateZnode::new(2, 5, vec![2, 3], 3);
    let store = MemStore::new(state.clone(), 10);
    let mut ctx = context(&[2, 3], &state, 10);

    let update = update_state_in(&store, &mut ctx, &tp(), elect)
        .await
        .unwrap();

    assert_eq!(update, StateUpdate::Unchanged);
    assert_eq!(*store.writes.lock().unwrap(), 0);
}
