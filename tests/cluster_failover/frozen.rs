//! Brokers frozen with SIGSTOP past their ZooKeeper session (6 s), then
//! woken with SIGCONT: a partition leader, and the controller. The cluster
//! declares them dead and moves on; when they wake they re-register with a
//! new session and rejoin as plain followers, serving no stale data and
//! (the controller) fenced by its old epoch.

use std::collections::BTreeMap;

use crate::common::ack_stream::*;
use crate::common::cluster::*;
use crate::common::cluster_view::*;
use crate::common::raw;
use crate::common::wait_until;

#[test]
fn frozen_leader_past_its_session_is_replaced_and_rejoins_as_a_follower() {
    let topic = "frozen";
    let mut cluster = start_cluster("failover-frozen", &[]);
    create_replicated_topic(&cluster, &ALL, topic, 3, 3, &[("min.insync.replicas", "2")]);
    let view = assert_metadata_agrees(&cluster, &ALL, &[topic], "after creating the topic");
    // A partition led by a broker that is not the controller.
    let (partition, frozen) = view
        .partitions
        .iter()
        .map(|((_, p), (_, s))| (*p, s.as_ref().unwrap().leader))
        .find(|(_, leader)| Some(*leader) != view.controller)
        .expect("a partition led by a non-controller broker");
    let before = produce_acked(
        &cluster.bootstrap(),
        topic,
        partition,
        &values("before", 50),
    );
    let old = partition_state(&cluster.chroot, topic, partition).unwrap();
    let old_session = registration_owner(&cluster.chroot, frozen).expect("registered");

    cluster.broker(frozen).pause();
    wait_until(
        &format!("/brokers/ids/{frozen} to disappear after SIGSTOP"),
        FAILOVER_TIMEOUT,
        || (!registered_brokers(&cluster.chroot).contains(&frozen)).then_some(()),
    );
    let new = wait_for_state(
        &cluster.chroot,
        topic,
        partition,
        &format!("a new leader instead of the frozen {frozen}"),
        FAILOVER_TIMEOUT,
        |s| {
            s.leader >= 0
                && s.leader != frozen
                && s.leader_epoch > old.leader_epoch
                && !s.isr.contains(&frozen)
        },
    );
    let live = others(&[frozen]);
    assert_metadata_agrees(&cluster, &live, &[topic], "with a broker frozen");
    let live_bootstrap = bootstrap_of(&cluster, &live);
    let while_frozen = produce_acked(&live_bootstrap, topic, partition, &values("frozen", 50));

    // It wakes believing it leads. A producer that only knows it must not be
    // told a write is safe unless the real leader has it.
    cluster.broker(frozen).resume();
    // Reads at the moment it wakes: as an old client (no epoch) and as one
    // that knows the new leader epoch (KIP-320), which a broker still at the
    // old epoch must refuse.
    let port = port_of(&cluster, frozen);
    let stale_plain = raw::fetch_from(port, topic, partition, 0, -1);
    let stale_fenced = raw::fetch_from(port, topic, partition, 0, new.leader_epoch);
    let woken_values = values("woken", 20);
    let woken = produce_settled(
        &bootstrap_of(&cluster, &[frozen]),
        topic,
        partition,
        &woken_values,
        &[
            ("message.timeout.ms", "30000"),
            ("request.timeout.ms", "5000"),
        ],
    );
    wait_until(
        &format!("broker {frozen} to register again with a new session"),
        FAILOVER_TIMEOUT,
        || registration_owner(&cluster.chroot, frozen).filter(|s| *s != old_session),
    );
    let rejoined = wait_all_in_isr(
        &cluster,
        topic,
        partition,
        &format!("the woken broker {frozen} back in the ISR as a follower"),
    );
    assert_eq!(
        rejoined.leader, new.leader,
        "leadership moved back to the woken broker {frozen} on its own"
    );
    assert_metadata_agrees(&cluster, &ALL, &[topic], "after the frozen broker woke");

    let log = read_partition(&cluster.bootstrap(), topic, partition);
    let mut acked = before;
    acked.extend(while_frozen);
    let mut woken_acked = 0;
    for (v, r) in woken_values.iter().zip(&woken) {
        if let Ok(offset) = r {
            acked.insert(v.clone(), *offset);
            woken_acked += 1;
        }
    }
    eprintln!(
        "{woken_acked} of {} produced through the woken broker acknowledged",
        woken.len()
    );
    assert_acknowledged_present(
        &format!("{topic}-{partition} after the freeze"),
        &log,
        &acked,
        false,
    );
    let summary = |f: &Result<raw::Fetched, String>| match f {
        Ok(f) => format!("error {}, {} records", f.error, f.records.len()),
        Err(e) => e.clone(),
    };
    eprintln!(
        "the woken broker's first Fetch: without epoch {}; with the new epoch {}",
        summary(&stale_plain),
        summary(&stale_fenced)
    );
    raw::assert_served_only_committed("a Fetch without epoch at wake-up", &stale_plain, &log, &[]);
    raw::assert_served_only_committed(
        &format!(
            "a Fetch claiming the new epoch {} at wake-up",
            new.leader_epoch
        ),
        &stale_fenced,
        &log,
        &[
            raw::FENCED_LEADER_EPOCH,
            raw::UNKNOWN_LEADER_EPOCH,
            raw::NOT_LEADER_OR_FOLLOWER,
        ],
    );
    wait_replicas_identical(&cluster, topic, partition, &ALL);
}

#[test]
fn frozen_controller_past_its_session_is_fenced_and_rejoins_as_a_plain_broker() {
    let topic = "fenced";
    let mut cluster = start_cluster("failover-frozen-controller", &[]);
    create_replicated_topic(&cluster, &ALL, topic, 3, 3, &[("min.insync.replicas", "2")]);
    let view = assert_metadata_agrees(&cluster, &ALL, &[topic], "after creating the topic");
    let frozen = view.controller.expect("a controller");
    let old_epoch = view.controller_epoch;
    let (partition, _) = view
        .partitions
        .iter()
        .map(|((_, p), (_, s))| (*p, s.as_ref().unwrap().leader))
        .find(|(_, leader)| *leader == frozen)
        .expect("the controller leads one of three partitions");
    let before = produce_acked(
        &cluster.bootstrap(),
        topic,
        partition,
        &values("before", 50),
    );
    let old_session = registration_owner(&cluster.chroot, frozen).expect("registered");

    cluster.broker(frozen).pause();
    let (new_controller, new_epoch) = wait_until(
        &format!("a controller other than the frozen {frozen} with an epoch above {old_epoch}"),
        FAILOVER_TIMEOUT,
        || {
            let c = controller(&cluster.chroot)?;
            let epoch = controller_epoch(&cluster.chroot);
            (c != frozen && epoch > old_epoch).then_some((c, epoch))
        },
    );
    let live = others(&[frozen]);
    let mut moved = BTreeMap::new();
    for p in 0..3 {
        let s = wait_for_state(
            &cluster.chroot,
            topic,
            p,
            &format!("no trace of the frozen controller {frozen}"),
            FAILOVER_TIMEOUT,
            |s| s.leader >= 0 && s.leader != frozen && !s.isr.contains(&frozen),
        );
        moved.insert(p, s);
    }
    assert_metadata_agrees(&cluster, &live, &[topic], "with the controller frozen");
    // Fencing: what the frozen controller would send when it wakes, with its
    // old epoch, every live broker refuses.
    for &id in &live {
        let error = raw::leader_and_isr_error(port_of(&cluster, id), frozen, old_epoch)
            .unwrap_or_else(|e| panic!("LeaderAndIsr to broker {id}: {e}"));
        assert_eq!(
            error,
            raw::STALE_CONTROLLER_EPOCH,
            "broker {id} answered LeaderAndIsr from the deposed controller {frozen} \
             (epoch {old_epoch}, current {new_epoch}) with error {error}"
        );
    }
    let while_frozen = produce_acked(
        &bootstrap_of(&cluster, &live),
        topic,
        partition,
        &values("frozen", 50),
    );

    // It wakes still believing it is the controller: whatever it sends or
    // writes with its old epoch must be refused.
    cluster.broker(frozen).resume();
    wait_until(
        &format!("broker {frozen} to register again with a new session"),
        FAILOVER_TIMEOUT,
        || registration_owner(&cluster.chroot, frozen).filter(|s| *s != old_session),
    );
    wait_fully_replicated(&cluster, topic, "after the old controller woke");
    let view = assert_metadata_agrees(&cluster, &ALL, &[topic], "after the old controller woke");
    assert_eq!(
        (view.controller, view.controller_epoch),
        (Some(new_controller), new_epoch),
        "the controller changed after the old one woke (it must step down, fenced)"
    );
    for (p, s) in &moved {
        let now = partition_state(&cluster.chroot, topic, *p).unwrap();
        assert!(
            now.leader == s.leader && now.leader_epoch == s.leader_epoch,
            "{topic}-{p}: leadership changed after the old controller woke: {s:?} -> {now:?}"
        );
    }

    // The new controller is still in charge of new topics.
    create_replicated_topic(&cluster, &ALL, "after-wake", 1, 3, &[]);
    assert_metadata_agrees(&cluster, &ALL, &[topic, "after-wake"], "after a new topic");

    let log = read_partition(&cluster.bootstrap(), topic, partition);
    let mut acked = before;
    acked.extend(while_frozen);
    assert_acknowledged_present(
        &format!("{topic}-{partition} after the controller froze"),
        &log,
        &acked,
        true,
    );
    wait_replicas_identical(&cluster, topic, partition, &ALL);
}
