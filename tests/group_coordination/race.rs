//! Finding 10: an OffsetCommit checked against an old generation must not
//! land after a commit of the new generation. Member A commits many
//! partitions (partition 0 last) while the broker's ZooKeeper replies are
//! slowed; once its write has started to land, member B joins, A rejoins, the
//! new generation gives partition 0 to B, and B commits it. B's commit, the
//! later one, is what ZooKeeper must keep. (Before the fix a commit was
//! checked, then written in chunks of 1000 partitions without the group's
//! lock, so A's last chunk landed after B's commit and the offset went back.)

use std::time::Duration;

use super::common::*;
use super::member::*;

const PARTITIONS: i32 = 2001;

#[test]
fn a_stale_generations_slow_commit_never_lands_after_the_new_generations_commit() {
    let chroot = unique_chroot("gc-race");
    let proxy = TcpProxy::start(zookeeper().port());
    let broker = Broker::start(BrokerSpec::new(
        1,
        format!("127.0.0.1:{}{chroot}", proxy.port()),
    ));
    // NONE, or REQUEST_TIMED_OUT while 2001 logs are still being created.
    let created = create_topic_with_configs(&broker, "wide", PARTITIONS, 1, &[]);
    assert!(created == 0 || created == 7, "CreateTopics: {created}");
    let all: Vec<i32> = (0..PARTITIONS).collect();
    let mut a = RawMember::new("race", "wide");
    a.join_when_ready(broker.port(), &all);
    wait_until(
        "every partition known to the broker",
        Duration::from_secs(120),
        || {
            let codes = a.commit_codes(broker.port(), &all, 1).ok()?;
            codes.iter().all(|c| *c == NONE).then_some(())
        },
    );
    let zk = zk(&chroot);
    let offset = |p: i32| zk.get_string(&format!("/consumers/race/offsets/wide/{p}"));

    proxy.set_delay(Direction::FromTarget, Duration::from_millis(300));
    let mut partition_0_last: Vec<i32> = (1..PARTITIONS).collect();
    partition_0_last.push(0);
    let stale = a.clone();
    let port = broker.port();
    let stale_commit = std::thread::spawn(move || stale.commit_codes(port, &partition_0_last, 100));
    wait_until(
        "A's commit to start landing",
        Duration::from_secs(60),
        || (offset(1).as_deref() == Some("100")).then_some(()),
    );

    // B joins; once the group waits for A, A rejoins: generation 2.
    let b_joined = RawMember::new("race", "wide").join_in_background(port);
    wait_until("B to join", Duration::from_secs(30), || {
        let (_, state, members) = describe(port, "race").ok()?;
        (state == "PreparingRebalance" && members.len() == 2).then_some(())
    });
    let a_rejoined = a.clone().join_in_background(port);
    let (a2, a_join) = a_rejoined.join().unwrap();
    let (b2, _) = b_joined.join().unwrap();
    assert_eq!(a_join.leader.as_str(), a2.member_id, "A leads generation 2");
    assert_eq!(a2.generation, b2.generation);
    let b_for_sync = b2.clone();
    let b_synced = std::thread::spawn(move || b_for_sync.sync(port, Vec::new()));
    let rest: Vec<i32> = (1..PARTITIONS).collect();
    assert_eq!(
        a2.sync(
            port,
            vec![
                (a2.member_id.clone(), assignment("wide", &rest)),
                (b2.member_id.clone(), assignment("wide", &[0])),
            ]
        )
        .unwrap(),
        NONE
    );
    assert_eq!(b_synced.join().unwrap().unwrap(), NONE);
    assert_eq!(b2.commit(port, &[0], 200).unwrap(), NONE);

    let stale_codes = stale_commit.join().unwrap().expect("A's commit answered");
    proxy.set_delay(Direction::FromTarget, Duration::ZERO);
    assert_eq!(
        offset(0).as_deref(),
        Some("200"),
        "the new generation's commit of partition 0 was overwritten (A's commit: {:?})",
        stale_codes
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
    );
}
