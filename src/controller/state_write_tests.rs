//! Unit tests of the controller's conditional partition state writes, one
//! at a time and pipelined, on an
//! in-memory store that behaves like ZooKeeper's conditional set, including a
//! write that lands while its reply is lost (the ZooKeeper client retries
//! after ConnectionLoss and gets BadVersion from its own first attempt).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::controller::context::{LiveBroker, TopicInfo};
use crate::controller::election::offline_partition_leader;
use crate::model::{BrokerId, LeaderEpoch, ids};

/// Partition state znodes in memory.
#[derive(Clone, Default)]
struct MemStore(Arc<Mutex<Znodes>>);

#[derive(Default)]
struct Znodes {
    states: BTreeMap<TopicPartition, (PartitionStateZnode, ZkVersion)>,
    /// The next write of this partition lands but its reply is lost: the
    /// caller sees the client's retry's BadVersion.
    lose_reply_of: Option<TopicPartition>,
    writes: usize,
}

impl MemStore {
    fn with(states: &[(TopicPartition, PartitionStateZnode, ZkVersion)]) -> MemStore {
        let store = MemStore::default();
        for (tp, state, version) in states {
            store
                .0
                .lock()
                .unwrap()
                .states
                .insert(tp.clone(), (state.clone(), *version));
        }
        store
    }

    fn new(state: PartitionStateZnode, version: ZkVersion) -> MemStore {
        MemStore::with(&[(tp(), state, version)])
    }

    fn current_of(&self, tp: &TopicPartition) -> (PartitionStateZnode, ZkVersion) {
        self.0.lock().unwrap().states[tp].clone()
    }

    fn current(&self) -> (PartitionStateZnode, ZkVersion) {
        self.current_of(&tp())
    }

    fn lose_next_reply_of(&self, tp: TopicPartition) {
        self.0.lock().unwrap().lose_reply_of = Some(tp);
    }

    fn writes(&self) -> usize {
        self.0.lock().unwrap().writes
    }

    /// Someone else (a leader, another controller) writes the znode.
    fn overwrite_of(&self, tp: &TopicPartition, state: PartitionStateZnode) {
        let mut znodes = self.0.lock().unwrap();
        let entry = znodes.states.get_mut(tp).expect("znode");
        *entry = (state, entry.1 + 1);
    }

    fn overwrite(&self, state: PartitionStateZnode) {
        self.overwrite_of(&tp(), state);
    }
}

impl StateStore for MemStore {
    async fn write(
        &self,
        tp: &TopicPartition,
        next: &PartitionStateZnode,
        expected: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        let mut znodes = self.0.lock().unwrap();
        znodes.writes += 1;
        let bad_version = || ZkError::BadVersion {
            path: tp.to_string(),
        };
        let Some((_, version)) = znodes.states.get(tp) else {
            return Err(ZkError::NoNode {
                path: tp.to_string(),
            });
        };
        if *version != expected {
            return Err(bad_version());
        }
        let new_version = version + 1;
        znodes
            .states
            .insert(tp.clone(), (next.clone(), new_version));
        if znodes.lose_reply_of.as_ref() == Some(tp) {
            znodes.lose_reply_of = None;
            // The client's retry of the same conditional set.
            return Err(bad_version());
        }
        Ok(new_version)
    }

    async fn read(
        &self,
        tp: &TopicPartition,
    ) -> Result<Option<(PartitionStateZnode, ZkVersion)>, ZkError> {
        Ok(self.0.lock().unwrap().states.get(tp).cloned())
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
        ctx.live_brokers
            .insert(BrokerId(id), LiveBroker::for_tests(BrokerId(id)));
    }
    ctx.topics.insert(
        "t".into(),
        TopicInfo {
            topic_id: uuid::Uuid::nil(),
            assignment: [(0, ids(&[1, 2, 3]))].into(),
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
        current.leader_epoch.next(),
        e.isr,
        ctx.epoch,
    ))
}

#[tokio::test]
async fn an_election_that_landed_while_its_reply_was_lost_counts_as_written() {
    // Leader 1 died; the controller elects 2. The write reaches ZooKeeper but
    // the connection drops before the reply: the retry gets BadVersion.
    let old = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(5), ids(&[1, 2]), 3);
    let store = MemStore::new(old.clone(), 10);
    store.lose_next_reply_of(tp());
    let mut ctx = context(&[2, 3], &old, 10);

    let update = update_state_in(&store, &mut ctx, &tp(), elect)
        .await
        .unwrap();

    let elected = PartitionStateZnode::new(BrokerId(2), LeaderEpoch::new(6), ids(&[2]), 7);
    assert_eq!(store.current(), (elected.clone(), 11));
    assert_eq!(
        update,
        StateUpdate::Written,
        "the controller's own election must be announced"
    );
    assert_eq!(ctx.partition_states[&tp()], (elected, 11));
    assert_eq!(store.writes(), 1, "adopted, not written again");
}

#[tokio::test]
async fn a_state_someone_else_wrote_meanwhile_is_announced_too() {
    // Another writer (an earlier controller whose announcement was lost)
    // already moved leadership to 3; our decision no longer applies.
    let old = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(5), ids(&[1, 2, 3]), 3);
    let store = MemStore::new(old.clone(), 10);
    let theirs = PartitionStateZnode::new(BrokerId(3), LeaderEpoch::new(6), ids(&[3]), 6);
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
    let old = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(5), ids(&[1, 2, 3]), 3);
    let store = MemStore::new(old.clone(), 10);
    store.overwrite(PartitionStateZnode::new(
        BrokerId(1),
        LeaderEpoch::new(5),
        ids(&[1, 3]),
        3,
    ));
    let mut ctx = context(&[2, 3], &old, 10);

    let update = update_state_in(&store, &mut ctx, &tp(), elect)
        .await
        .unwrap();

    let elected = PartitionStateZnode::new(BrokerId(3), LeaderEpoch::new(6), ids(&[3]), 7);
    assert_eq!(update, StateUpdate::Written);
    assert_eq!(store.current(), (elected.clone(), 12));
    assert_eq!(ctx.partition_states[&tp()], (elected, 12));
}

#[tokio::test]
async fn nothing_to_decide_writes_nothing() {
    let state = PartitionStateZnode::new(BrokerId(2), LeaderEpoch::new(5), ids(&[2, 3]), 3);
    let store = MemStore::new(state.clone(), 10);
    let mut ctx = context(&[2, 3], &state, 10);

    let update = update_state_in(&store, &mut ctx, &tp(), elect)
        .await
        .unwrap();

    assert_eq!(update, StateUpdate::Unchanged);
    assert_eq!(store.writes(), 0);
}

#[tokio::test]
async fn pipelined_writes_settle_conflicts_and_lost_replies_like_single_ones() {
    // 300 partitions led by dead broker 1; of them, p7's write lands with
    // its reply lost and p9 was moved to 3 by someone else meanwhile.
    let old = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::new(5), ids(&[1, 2, 3]), 3);
    let parts: Vec<TopicPartition> = (0..300).map(|p| TopicPartition::new("t", p)).collect();
    let store = MemStore::with(
        &parts
            .iter()
            .map(|tp| (tp.clone(), old.clone(), 10))
            .collect::<Vec<_>>(),
    );
    let mut ctx = context(&[2, 3], &old, 10);
    let assignment: BTreeMap<i32, Vec<BrokerId>> = (0..300).map(|p| (p, ids(&[1, 2, 3]))).collect();
    ctx.topics.get_mut("t").unwrap().assignment = assignment;
    for tp in &parts {
        ctx.partition_states.insert(tp.clone(), (old.clone(), 10));
    }
    let (p7, p9) = (parts[7].clone(), parts[9].clone());
    store.lose_next_reply_of(p7.clone());
    let theirs = PartitionStateZnode::new(BrokerId(3), LeaderEpoch::new(6), ids(&[3, 2]), 6);
    store.overwrite_of(&p9, theirs.clone());

    let outcomes = update_states_in(&store, &mut ctx, &parts, |ctx, _, current| {
        elect(ctx, current)
    })
    .await
    .unwrap();

    let elected = PartitionStateZnode::new(BrokerId(2), LeaderEpoch::new(6), ids(&[2, 3]), 7);
    assert_eq!(outcomes.len(), 300);
    assert!(
        outcomes.windows(2).all(|w| w[0].0 < w[1].0),
        "in partition order"
    );
    for (tp, update) in &outcomes {
        if *tp == p9 {
            assert_eq!(*update, StateUpdate::Refreshed);
            assert_eq!(ctx.partition_states[tp], (theirs.clone(), 11));
        } else {
            assert_eq!(*update, StateUpdate::Written, "{tp}");
            assert_eq!(ctx.partition_states[tp], (elected.clone(), 11), "{tp}");
            assert_eq!(store.current_of(tp), (elected.clone(), 11), "{tp}");
        }
    }
}
