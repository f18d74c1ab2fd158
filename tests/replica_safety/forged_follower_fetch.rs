//! Finding 14 of the safety review: the leader recorded a follower's fetch
//! offset before validating it, so a Fetch claiming `replica_id = <a
//! replica>`, no leader epoch (-1) and an offset past the log end moved the
//! high watermark to the log end (acks=all without replication) and made
//! that replica an ISR candidate. Kafka records follower state only after a
//! successful read (an offset past the log end is OFFSET_OUT_OF_RANGE and
//! changes nothing); Sluice also requires a leader epoch from replicas.

use common::cluster::start_cluster;
use common::raw::{fetch_request, list_offsets_answer, list_offsets_request};
use common::{exchange, now_ms, plain_batch, produce_request, send_request};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchResponse};

use super::*;

const OFFSET_OUT_OF_RANGE: i16 = 1;
const FORGED_OFFSET: i64 = 9_000_000_000_000_000_000;

/// A replica's Fetch v12 of `topic`-0 from `offset` in `leader_epoch`;
/// returns (partition error, high watermark in the answer).
fn replica_fetch(
    leader: &Broker,
    topic: &str,
    replica: i32,
    offset: i64,
    leader_epoch: i32,
) -> (i16, i64) {
    let request =
        fetch_request(topic, 0, offset, leader_epoch, 1 << 20).with_replica_id(BrokerId(replica));
    let response: FetchResponse = exchange(leader.port(), ApiKey::Fetch, 12, &request)
        .unwrap_or_else(|e| panic!("Fetch as replica {replica}: {e}"));
    let p = &response.responses[0].partitions[0];
    (p.error_code, p.high_watermark)
}

fn high_watermark(leader: &Broker, topic: &str) -> i64 {
    let (error, offset) =
        list_offsets_answer(&send_request(leader, 7, &list_offsets_request(topic, -1)));
    assert_eq!(error, 0, "ListOffsets latest");
    offset
}

fn produce_acks_1(leader: &Broker, topic: &str, values: &[&str]) {
    let request = produce_request(topic, plain_batch(values, now_ms())).with_acks(1);
    let response = send_request(leader, 7, &request);
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
}

#[test]
fn a_forged_replica_fetch_moves_neither_the_high_watermark_nor_the_isr() {
    let topic = "forged-fetch";
    // Lagging replicas leave the ISR after 10 s; frozen brokers stay
    // registered (40 s sessions), so only the leader changes the ISR.
    let mut cluster = start_cluster(
        "replica-forged-fetch",
        &[
            ("replica.lag.time.max.ms", "10000"),
            ("zookeeper.session.timeout.ms", "40000"),
        ],
    );
    create_assigned(&cluster, topic, &[&[1, 2, 3]], &[]);
    cluster.broker(3).pause();
    produce_acks_1(broker(&cluster, 1), topic, &["3 misses this"]);
    let (state, _) = wait_for_state(&cluster, topic, 0, "ISR [1, 2]", |s| s.isr == [1, 2]);

    // Broker 2 (in the ISR) freezes behind: the high watermark waits for it.
    cluster.broker(2).pause();
    for value in ["a", "b", "c"] {
        produce_acks_1(broker(&cluster, 1), topic, &[value]);
    }
    let leader = broker(&cluster, 1);
    let before = high_watermark(leader, topic);
    assert_eq!(before, 1, "2 has only the first record");

    // Someone claims to be broker 2, with no leader epoch, far past the log end.
    let (_, hw_answered) = replica_fetch(leader, topic, 2, FORGED_OFFSET, -1);
    assert_eq!(
        high_watermark(leader, topic),
        before,
        "a forged fetch moved the high watermark (answered {hw_answered})"
    );
    // With the right epoch, an offset past the log end is out of range.
    let (error, _) = replica_fetch(leader, topic, 2, FORGED_OFFSET, state.leader_epoch);
    assert_eq!(error, OFFSET_OUT_OF_RANGE);
    assert_eq!(high_watermark(leader, topic), before);

    // Forged fetches "from" broker 3 while 2 lags out of the ISR: 3 must
    // not be proposed into it.
    let (shrunk, _) = wait_for_state(&cluster, topic, 0, "2 out of the ISR", |s| {
        replica_fetch(leader, topic, 3, FORGED_OFFSET, -1);
        replica_fetch(leader, topic, 3, FORGED_OFFSET, state.leader_epoch);
        !s.isr.contains(&2)
    });
    assert_eq!(shrunk.isr, vec![1], "a forged fetch put 3 into the ISR");
    cluster.broker(2).resume();
    cluster.broker(3).resume();
}
