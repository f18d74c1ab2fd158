//! Failures of a replicated three-broker cluster (real ZooKeeper, real
//! `sluice broker` processes, librdkafka), checked against what Kafka's
//! ZooKeeper-mode controller and ReplicaManager guarantee:
//!
//! - the leader SIGKILLed under a steady acks=all idempotent stream: a new
//!   leader with a higher leader epoch, every acknowledged message at its
//!   offset exactly once, the killed broker back (truncated) in the ISR;
//!   and again with an unreplicated tail (acks=1 writes while the followers
//!   were frozen), which the returning old leader must throw away;
//! - the controller SIGKILLed: a new controller with a higher
//!   `/controller_epoch` that still creates topics and moves leaders
//!   (failover, preferred replica election);
//! - the whole ISR lost: offline (leader -1) with unclean election off until
//!   an ISR member returns; with it on, a lagging replica takes over and the
//!   messages acknowledged while it was away are gone, as Kafka documents;
//! - a rolling SIGTERM restart under an acks=all stream: controlled shutdown,
//!   no message lost, no delivery error;
//! - a broker frozen (SIGSTOP) past its ZooKeeper session: declared dead,
//!   and when it wakes it re-registers and rejoins as a follower without
//!   losing or inventing acknowledged messages; the same for a frozen
//!   controller, which must come back fenced, as a plain broker.
//!
//! After each step every live broker's Metadata must agree with the znodes
//! (`cluster_view::assert_metadata_agrees`).
//!
//! Shared with other tests, in `common/`: `cluster.rs` (cluster settings,
//! topics, full ISR, identical replicas), `cluster_view.rs` (znodes, raw
//! Metadata, the agreement check), `ack_stream.rs` (librdkafka producers
//! and the acknowledged-message check), `raw.rs` (raw requests to one
//! broker). Beside this file, in `cluster_failover/`: `frozen.rs` (the
//! SIGSTOP tests), `self_check.rs` (tests that the checks catch what they
//! claim).

mod common;

#[path = "cluster_failover/frozen.rs"]
mod frozen;
#[path = "cluster_failover/self_check.rs"]
mod self_check;

use std::collections::BTreeMap;
use std::time::Instant;

use common::ack_stream::*;
use common::cluster::*;
use common::cluster_view::*;
use common::*;
use rdkafka::types::RDKafkaErrorCode;

#[test]
fn leader_sigkill_under_acks_all_stream_keeps_every_acknowledged_message() {
    let topic = "orders";
    let mut cluster = start_cluster("failover-leader-kill", &[]);
    let initial =
        create_replicated_topic(&cluster, &ALL, topic, 1, 3, &[("min.insync.replicas", "2")]);
    assert_metadata_agrees(&cluster, &ALL, &[topic], "after creating the topic");

    let stream = AckStream::start(
        &cluster.bootstrap(),
        topic,
        1,
        "kill",
        &[("enable.idempotence", "true")],
    );
    stream.wait_for_progress(200, PROGRESS_TIMEOUT, "before the kill");

    let old = partition_state(&cluster.chroot, topic, 0).expect("state znode");
    assert_eq!(
        old.leader_epoch, initial[&0].leader_epoch,
        "{topic}-0 had an election before any failure: {:?} -> {old:?}",
        initial[&0]
    );
    let leader = old.leader;
    cluster.broker(leader).kill();
    let killed_at = Instant::now();
    let new = wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!(
            "a new leader (not the killed {leader}) with a leader epoch above {}",
            old.leader_epoch
        ),
        FAILOVER_TIMEOUT,
        |s| s.leader >= 0 && s.leader != leader && s.leader_epoch > old.leader_epoch,
    );
    eprintln!(
        "leader {leader} -> {} (epoch {} -> {}) {:?} after SIGKILL",
        new.leader,
        old.leader_epoch,
        new.leader_epoch,
        killed_at.elapsed()
    );
    assert!(
        !new.isr.contains(&leader),
        "the dead broker {leader} is still in the ISR: {new:?}"
    );
    let live = others(&[leader]);
    assert_metadata_agrees(&cluster, &live, &[topic], "after the leader's death");
    stream.wait_for_progress(200, PROGRESS_TIMEOUT, "from the new leader");

    cluster.broker(leader).restart();
    wait_all_in_isr(
        &cluster,
        topic,
        0,
        &format!("the restarted broker {leader} back in the ISR"),
    );
    assert_metadata_agrees(&cluster, &ALL, &[topic], "after the restart");
    stream.wait_for_progress(100, PROGRESS_TIMEOUT, "after the restart");

    let outcome = stream.finish();
    eprintln!(
        "stream: {} sent, {} acknowledged, {} delivery errors",
        outcome.sent,
        outcome.acked.len(),
        outcome.errors.len()
    );
    // 60 s delivery timeout: librdkafka retries through the failover.
    assert!(
        outcome.errors.is_empty(),
        "{} delivery errors across the failover, first: {:?}",
        outcome.errors.len(),
        &outcome.errors[..outcome.errors.len().min(5)]
    );
    let log = read_partition(&cluster.bootstrap(), topic, 0);
    // Exactly once per offset; a retried batch stored twice (idempotence
    // across a failover) is checked by the unreplicated-tail test below.
    assert_acknowledged_present(
        "orders-0 after the leader's SIGKILL",
        &log,
        &outcome.acked_in(0),
        false,
    );
    wait_replicas_identical(&cluster, topic, 0, &ALL);
}

#[test]
fn killed_leader_with_an_unreplicated_tail_throws_it_away_when_it_returns() {
    // The followers are frozen while the leader takes acks=1 writes, so the
    // leader's log runs ahead of every follower; then it dies. Whoever leads
    // next lacks that tail, and the old leader must truncate it (leader
    // epochs) when it returns, or the replicas diverge.
    let topic = "tail";
    let mut cluster = start_cluster("failover-leader-tail", &[]);
    create_replicated_topic(&cluster, &ALL, topic, 1, 3, &[("min.insync.replicas", "2")]);
    assert_metadata_agrees(&cluster, &ALL, &[topic], "after creating the topic");
    let stream = AckStream::start(
        &cluster.bootstrap(),
        topic,
        1,
        "tail",
        &[("enable.idempotence", "true")],
    );
    stream.wait_for_progress(100, PROGRESS_TIMEOUT, "before the freeze");

    let old = partition_state(&cluster.chroot, topic, 0).expect("state znode");
    let leader = old.leader;
    let followers = others(&[leader]);
    for &f in &followers {
        cluster.broker(f).pause();
    }
    let tail = produce_settled(
        &bootstrap_of(&cluster, &[leader]),
        topic,
        0,
        &values("acks1-tail", 30),
        &[("acks", "1")],
    );
    assert!(
        tail.iter().all(Result::is_ok),
        "acks=1 to the leader with its followers frozen: {tail:?}"
    );
    let lengths: Vec<(i32, usize)> = ALL
        .iter()
        .map(|&id| {
            let broker = cluster.brokers.iter().find(|b| b.id() == id).unwrap();
            (id, replica_log_bytes(broker, topic, 0).len())
        })
        .collect();
    let leader_len = lengths.iter().find(|(id, _)| *id == leader).unwrap().1;
    assert!(
        lengths
            .iter()
            .all(|(id, len)| *id == leader || *len < leader_len),
        "the leader's log is not ahead of its frozen followers' (bytes per broker: {lengths:?})"
    );
    cluster.broker(leader).kill();
    for &f in &followers {
        cluster.broker(f).resume();
    }
    let new = wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("a follower elected instead of the killed {leader}"),
        FAILOVER_TIMEOUT,
        |s| followers.contains(&s.leader) && s.leader_epoch > old.leader_epoch,
    );
    eprintln!(
        "leader {leader} -> {}, log bytes before the kill {lengths:?}",
        new.leader
    );
    assert_metadata_agrees(&cluster, &followers, &[topic], "after the leader's death");
    stream.wait_for_progress(100, PROGRESS_TIMEOUT, "from the new leader");

    cluster.broker(leader).restart();
    wait_all_in_isr(
        &cluster,
        topic,
        0,
        &format!("the old leader {leader} back in the ISR"),
    );
    assert_metadata_agrees(&cluster, &ALL, &[topic], "after the old leader returned");
    stream.wait_for_progress(50, PROGRESS_TIMEOUT, "after the old leader returned");
    let outcome = stream.finish();
    assert!(
        outcome.errors.is_empty(),
        "{} delivery errors across the failover, first: {:?}",
        outcome.errors.len(),
        &outcome.errors[..outcome.errors.len().min(5)]
    );
    let log = read_partition(&cluster.bootstrap(), topic, 0);
    assert_acknowledged_present(
        "tail-0 after the old leader returned",
        &log,
        &outcome.acked_in(0),
        false,
    );
    let survivors = log
        .iter()
        .filter(|(_, v)| v.starts_with("acks1-tail"))
        .count();
    eprintln!("{survivors} of 30 acks=1 messages written while the followers were frozen survived");
    // Divergent tails would differ byte for byte.
    wait_replicas_identical(&cluster, topic, 0, &ALL);
    // Last, Kafka's idempotence across a failover: the batch in flight when
    // the leader died reached the followers unacknowledged; librdkafka
    // retries it to the new leader, which must recognise its producer id
    // and sequence (producer state rebuilt from replicated batches) instead
    // of storing it twice.
    assert_acknowledged_present(
        "tail-0, idempotent producer across the failover",
        &log,
        &outcome.acked_in(0),
        true,
    );
}

#[test]
fn controller_sigkill_elects_a_new_controller_that_still_creates_topics_and_moves_leaders() {
    let topic = "before";
    let mut cluster = start_cluster("failover-controller-kill", &[]);
    let initial = create_replicated_topic(&cluster, &ALL, topic, 3, 3, &[]);
    let view = assert_metadata_agrees(&cluster, &ALL, &[topic], "after creating the topic");
    let old_controller = view.controller.expect("a controller");
    let old_epoch = view.controller_epoch;

    cluster.broker(old_controller).kill();
    let (new_controller, new_epoch) = wait_until(
        &format!(
            "a controller other than the killed {old_controller} with an epoch above {old_epoch}"
        ),
        FAILOVER_TIMEOUT,
        || {
            let c = controller(&cluster.chroot)?;
            let epoch = controller_epoch(&cluster.chroot);
            (c != old_controller && epoch > old_epoch).then_some((c, epoch))
        },
    );
    eprintln!(
        "controller {old_controller} (epoch {old_epoch}) -> {new_controller} (epoch {new_epoch})"
    );
    let live = others(&[old_controller]);

    // The new controller moved the dead broker's leaderships and ISR places.
    for (&p, before) in &initial {
        let state = wait_for_state(
            &cluster.chroot,
            topic,
            p,
            &format!("no trace of the dead broker {old_controller} (was {before:?})"),
            FAILOVER_TIMEOUT,
            |s| s.leader >= 0 && s.leader != old_controller && !s.isr.contains(&old_controller),
        );
        if before.leader == old_controller {
            assert!(
                state.leader_epoch > before.leader_epoch,
                "{topic}-{p}: the leader moved without a new leader epoch: {before:?} -> {state:?}"
            );
            assert!(
                state.controller_epoch >= new_epoch,
                "{topic}-{p}: written by controller epoch {}, the new controller's is {new_epoch}",
                state.controller_epoch
            );
        }
    }
    assert_metadata_agrees(&cluster, &live, &[topic], "after the controller's death");

    // Topic creation still works, and refuses more replicas than live brokers.
    let after = "after";
    create_replicated_topic(&cluster, &live, after, 2, 2, &[]);
    assert_metadata_agrees(&cluster, &live, &[topic, after], "after creating a topic");
    assert_eq!(
        try_create_topic(&bootstrap_of(&cluster, &live), "too-wide", 1, 3, &[]),
        Err(RDKafkaErrorCode::InvalidReplicationFactor),
        "RF 3 with 2 live brokers"
    );

    // The old controller returns as an ordinary broker and catches up ...
    cluster.broker(old_controller).restart();
    wait_fully_replicated(&cluster, topic, "after the old controller's restart");
    let view = assert_metadata_agrees(&cluster, &ALL, &[topic, after], "after its restart");
    assert_eq!(
        view.controller,
        Some(new_controller),
        "the controller changed although it did not fail"
    );

    // ... and a preferred replica election (as kafka-preferred-replica-election.sh
    // writes it) moves leadership back to the first replica of each assignment.
    let assignment = assignment(&cluster.chroot, topic);
    let before_election: BTreeMap<i32, PartitionState> = assignment
        .keys()
        .map(|&p| (p, partition_state(&cluster.chroot, topic, p).unwrap()))
        .collect();
    let moves: Vec<i32> = assignment
        .iter()
        .filter(|(p, r)| before_election[*p].leader != r[0])
        .map(|(p, _)| *p)
        .collect();
    assert!(
        !moves.is_empty(),
        "every leader is already preferred: {before_election:?} (the dead broker led one)"
    );
    let request = serde_json::json!({
        "version": 1,
        "partitions": assignment.keys().map(|p| serde_json::json!({"topic": topic, "partition": p})).collect::<Vec<_>>(),
    });
    zk(&cluster.chroot).create(
        "/admin/preferred_replica_election",
        request.to_string().as_bytes(),
    );
    for (&p, replicas) in &assignment {
        let old_epoch = before_election[&p].leader_epoch;
        let moved = moves.contains(&p);
        wait_for_state(
            &cluster.chroot,
            topic,
            p,
            &format!("the preferred replica {} as leader", replicas[0]),
            FAILOVER_TIMEOUT,
            |s| s.leader == replicas[0] && (!moved || s.leader_epoch > old_epoch),
        );
    }
    wait_until(
        "the controller to delete /admin/preferred_replica_election",
        FAILOVER_TIMEOUT,
        || (!zk(&cluster.chroot).exists("/admin/preferred_replica_election")).then_some(()),
    );
    assert_metadata_agrees(
        &cluster,
        &ALL,
        &[topic, after],
        "after the preferred election",
    );
}

/// What [`lose_whole_isr`] did: which broker lags, which were the ISR, and
/// the acknowledged messages (value -> offset) from before and while it was
/// away.
struct IsrLoss {
    lagging: i32,
    isr: Vec<i32>,
    before: BTreeMap<String, i64>,
    while_away: BTreeMap<String, i64>,
}

/// Sets up a whole-ISR loss of partition 0: with all three in the ISR
/// `before` is acknowledged; a follower ("lagging") is SIGKILLed and, once
/// it is out of the ISR, `while_away` is acknowledged; then the other two
/// (the ISR) are SIGKILLed and the lagging one restarted.
fn lose_whole_isr(cluster: &mut TestCluster, topic: &str) -> IsrLoss {
    let state = partition_state(&cluster.chroot, topic, 0).expect("state znode");
    let before = produce_acked(&cluster.bootstrap(), topic, 0, &values("before", 50));
    let lagging = *ALL
        .iter()
        .find(|&&b| b != state.leader)
        .expect("a follower");
    cluster.broker(lagging).kill();
    let isr = others(&[lagging]);
    wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("the killed follower {lagging} out of the ISR"),
        FAILOVER_TIMEOUT,
        |s| s.isr_set() == isr.iter().copied().collect(),
    );
    assert_metadata_agrees(cluster, &isr, &[topic], "with the follower dead");
    let while_away = produce_acked(
        &bootstrap_of(cluster, &isr),
        topic,
        0,
        &values("while-away", 50),
    );
    for &b in &isr {
        cluster.broker(b).kill();
    }
    cluster.broker(lagging).restart();
    IsrLoss {
        lagging,
        isr,
        before,
        while_away,
    }
}

#[test]
fn whole_isr_loss_without_unclean_election_stays_offline_until_an_isr_member_returns() {
    let topic = "ledger";
    let mut cluster = start_cluster(
        "failover-isr-loss-clean",
        &[("unclean.leader.election.enable", "false")],
    );
    create_replicated_topic(&cluster, &ALL, topic, 1, 3, &[("min.insync.replicas", "2")]);
    let loss = lose_whole_isr(&mut cluster, topic);
    let lagging = loss.lagging;

    // Only the lagging replica runs: it becomes controller, and must leave
    // the partition offline rather than elect itself.
    let offline = wait_for_state(
        &cluster.chroot,
        topic,
        0,
        "offline (leader -1) with only the lagging replica alive",
        FAILOVER_TIMEOUT,
        |s| s.leader == -1,
    );
    let view = assert_metadata_agrees(&cluster, &[lagging], &[topic], "with the ISR dead");
    assert_eq!(view.controller, Some(lagging));
    let offline_now = partition_state(&cluster.chroot, topic, 0).unwrap();
    assert_eq!(
        offline_now.leader, -1,
        "the lagging replica {lagging} was elected with unclean election off: {offline_now:?}"
    );
    assert!(
        !offline_now.isr.contains(&lagging)
            && !offline_now.isr.is_empty()
            && offline_now.isr.iter().all(|b| loss.isr.contains(b)),
        "the ISR of an offline partition keeps its last member(s) of {:?}, never the lagging \
         {lagging}: {offline_now:?}",
        loss.isr
    );
    let meta = fetch_metadata(port_of(&cluster, lagging), &[topic]).expect("Metadata");
    let p = &meta.partitions[&(topic.to_owned(), 0)];
    assert_eq!(
        (p.leader, p.error),
        (-1, LEADER_NOT_AVAILABLE),
        "Metadata of the offline partition: {p:?}"
    );
    // Nothing is acknowledged while it is offline.
    let refused = produce_settled(
        &bootstrap_of(&cluster, &[lagging]),
        topic,
        0,
        &values("offline", 5),
        &[("message.timeout.ms", "3000")],
    );
    assert!(
        refused.iter().all(Result::is_err),
        "produce to the offline partition was acknowledged: {refused:?}"
    );

    // An ISR member returns: it leads again, with everything acknowledged.
    let member = offline_now.isr[0];
    cluster.broker(member).restart();
    let back = wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("the returning ISR member {member} as leader"),
        FAILOVER_TIMEOUT,
        |s| s.leader == member && s.leader_epoch > offline.leader_epoch.max(0),
    );
    eprintln!("offline {offline:?} -> {back:?}");
    wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("the lagging replica {lagging} caught up into the ISR"),
        ISR_JOIN_TIMEOUT,
        |s| s.isr_set() == [lagging, member].into(),
    );
    let live = [lagging.min(member), lagging.max(member)];
    assert_metadata_agrees(&cluster, &live, &[topic], "after the ISR member returned");
    let log = read_partition(&bootstrap_of(&cluster, &live), topic, 0);
    let mut acked = loss.before.clone();
    acked.extend(loss.while_away.clone());
    assert_acknowledged_present("ledger-0 after a clean recovery", &log, &acked, true);
    wait_replicas_identical(&cluster, topic, 0, &live);
}

#[test]
fn whole_isr_loss_with_unclean_election_elects_the_lagging_replica_and_loses_what_it_missed() {
    let topic = "ledger";
    let mut cluster = start_cluster(
        "failover-isr-loss-unclean",
        &[("unclean.leader.election.enable", "true")],
    );
    create_replicated_topic(
        &cluster,
        &ALL,
        topic,
        1,
        3,
        &[
            ("min.insync.replicas", "1"),
            ("unclean.leader.election.enable", "true"),
        ],
    );
    let old = partition_state(&cluster.chroot, topic, 0).unwrap();
    let loss = lose_whole_isr(&mut cluster, topic);
    let lagging = loss.lagging;

    let unclean = wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("the lagging replica {lagging} elected uncleanly"),
        FAILOVER_TIMEOUT,
        |s| s.leader == lagging,
    );
    assert!(
        unclean.leader_epoch > old.leader_epoch && unclean.isr == vec![lagging],
        "an unclean election makes the new leader the whole ISR with a new epoch: {old:?} -> {unclean:?}"
    );
    assert_metadata_agrees(&cluster, &[lagging], &[topic], "after the unclean election");

    // The loss Kafka documents: what was acknowledged while it was away is gone.
    let bootstrap = bootstrap_of(&cluster, &[lagging]);
    let log = read_partition(&bootstrap, topic, 0);
    assert_acknowledged_present(
        "ledger-0 after the unclean election",
        &log,
        &loss.before,
        true,
    );
    let survivors: Vec<&String> = loss
        .while_away
        .keys()
        .filter(|v| log.iter().any(|(_, stored)| stored == *v))
        .collect();
    assert!(
        survivors.is_empty(),
        "messages the lagging replica never had survived its unclean election: {survivors:?}"
    );
    eprintln!(
        "unclean election lost {} acknowledged messages",
        loss.while_away.len()
    );
    let after = produce_acked(&bootstrap, topic, 0, &values("after", 50));

    // The old leader returns: it must throw away its divergent tail (the lost
    // messages) and follow.
    let old_leader = old.leader;
    cluster.broker(old_leader).restart();
    wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("the old leader {old_leader} truncated and back in the ISR as follower"),
        ISR_JOIN_TIMEOUT,
        |s| s.leader == lagging && s.isr_set() == [lagging, old_leader].into(),
    );
    let live = [lagging.min(old_leader), lagging.max(old_leader)];
    assert_metadata_agrees(&cluster, &live, &[topic], "after the old leader returned");
    let log = read_partition(&bootstrap_of(&cluster, &live), topic, 0);
    let mut acked = loss.before.clone();
    acked.extend(after);
    assert_acknowledged_present("ledger-0 after the old leader returned", &log, &acked, true);
    assert!(
        !log.iter().any(|(_, v)| loss.while_away.contains_key(v)),
        "the returning old leader brought back lost messages"
    );
    wait_replicas_identical(&cluster, topic, 0, &live);
}

#[test]
fn rolling_sigterm_restart_under_acks_all_stream_loses_nothing() {
    let topic = "rolling";
    let mut cluster = start_cluster("failover-rolling", &[]);
    create_replicated_topic(&cluster, &ALL, topic, 3, 3, &[("min.insync.replicas", "2")]);
    assert_metadata_agrees(&cluster, &ALL, &[topic], "after creating the topic");
    let stream = AckStream::start(&cluster.bootstrap(), topic, 3, "rolling", &[]);
    stream.wait_for_progress(100, PROGRESS_TIMEOUT, "before the restarts");

    for id in ALL {
        let status = cluster.broker(id).terminate();
        assert!(
            status.success(),
            "broker {id} exited with {} on SIGTERM",
            describe_status(status)
        );
        // Controlled shutdown: the controller moved its leaderships away (and
        // took it out of the ISRs) before it closed.
        for p in 0..3 {
            let s = partition_state(&cluster.chroot, topic, p).unwrap();
            assert!(
                s.leader != id && !s.isr.contains(&id),
                "broker {id} exited still leading or in the ISR of {topic}-{p}: {s:?} \
                 (controlled shutdown must move them first)"
            );
        }
        let live = others(&[id]);
        assert_metadata_agrees(&cluster, &live, &[topic], &format!("with broker {id} down"));
        stream.wait_for_progress(50, PROGRESS_TIMEOUT, &format!("with broker {id} down"));

        cluster.broker(id).restart();
        wait_fully_replicated(&cluster, topic, &format!("after broker {id} restarted"));
        assert_metadata_agrees(
            &cluster,
            &ALL,
            &[topic],
            &format!("after broker {id} restarted"),
        );
        stream.wait_for_progress(
            50,
            PROGRESS_TIMEOUT,
            &format!("after broker {id} restarted"),
        );
    }

    let outcome = stream.finish();
    assert!(
        outcome.errors.is_empty(),
        "{} delivery errors during the rolling restart (retries must hide it), first: {:?}",
        outcome.errors.len(),
        &outcome.errors[..outcome.errors.len().min(5)]
    );
    for p in 0..3 {
        let log = read_partition(&cluster.bootstrap(), topic, p);
        // Not idempotent: a retried batch may be stored twice, never lost.
        assert_acknowledged_present(
            &format!("{topic}-{p} after the rolling restart"),
            &log,
            &outcome.acked_in(p),
            false,
        );
    }
}
