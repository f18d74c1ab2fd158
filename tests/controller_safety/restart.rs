//! A broker restarted at once after a crash finds its predecessor's
//! registration `/brokers/ids/<id>` still held by the dead process's
//! ZooKeeper session (until ZooKeeper expires it, within the session
//! timeout). Kafka exits there, and operators get restart loops; Sluice
//! waits for that registration to expire (saying what it waits for),
//! bounded by the session timeout plus a margin, then registers. A second
//! live broker with the same id keeps its session, so the wait ends with
//! the clear "already registered" error (`zookeeper_registration.rs`).

use crate::common::*;

#[test]
fn a_broker_restarted_right_after_sigkill_waits_for_its_old_registration_and_registers() {
    let chroot = unique_chroot("restart-after-kill");
    let mut first = Broker::start(BrokerSpec::new(7, zk_connect(&chroot)));
    let zk = zk(&chroot);
    let old_owner = zk.ephemeral_owner("/brokers/ids/7").expect("registered");
    kcat_produce_text(&first.bootstrap(), "kept", "before\n");

    first.kill();
    assert_eq!(
        zk.ephemeral_owner("/brokers/ids/7"),
        Some(old_owner),
        "the dead session still holds the registration"
    );
    // Same id, port and log dir, started at once (`Broker::restart` would
    // wait for the old registration to go first).
    let mut spec = first.spec().clone();
    spec.port = Some(first.port());
    spec.log_dir = Some(first.log_dir().to_path_buf());
    let second = Broker::start(spec);

    let new_owner = zk
        .ephemeral_owner("/brokers/ids/7")
        .expect("registered again");
    assert_ne!(new_owner, old_owner);
    let log = second.log_text();
    assert!(
        log.contains("waiting for it to expire"),
        "the broker did not say what it waited for:\n{}",
        tail_lines(&log, 30)
    );
    kcat_produce_text(&second.bootstrap(), "kept", "after\n");
    assert_eq!(
        kcat_partition0_lines(&second.bootstrap(), "kept"),
        ["before", "after"]
    );
}
