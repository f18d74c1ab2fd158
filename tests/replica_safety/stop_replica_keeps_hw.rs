//! Finding 16 of the safety review, the StopReplica part: a controlled
//! shutdown's StopReplica (delete=false) for the partitions a broker follows
//! stops their fetchers only; the partitions (and their high watermarks)
//! stay hosted, as in Kafka, so the shutdown's `replication-offset-checkpoint`
//! still lists them.

use std::collections::BTreeMap;

use common::cluster::start_cluster;
use common::{now_ms, plain_batch, produce_request, send_request};

use super::*;

/// `topic partition offset` lines of a broker's replication-offset-checkpoint.
fn checkpointed_high_watermarks(broker: &Broker) -> BTreeMap<(String, i32), i64> {
    let path = broker.log_dir().join("replication-offset-checkpoint");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .skip(2)
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 3, "checkpoint line {line:?}");
            let partition = fields[1].parse().expect("partition");
            let offset = fields[2].parse().expect("offset");
            ((fields[0].to_owned(), partition), offset)
        })
        .collect()
}

#[test]
fn a_controlled_shutdown_keeps_the_followed_partitions_high_watermarks() {
    let topic = "stop-keeps-hw";
    // Only the start-up and shutdown checkpoints are written.
    let mut cluster = start_cluster(
        "replica-stop-keeps-hw",
        &[("replica.high.watermark.checkpoint.interval.ms", "3600000")],
    );
    create_assigned(&cluster, topic, &[&[1, 2, 3]], &[]);
    for batch in [&["a", "b", "c"][..], &["d"][..]] {
        for value in batch {
            let request = produce_request(topic, plain_batch(&[value], now_ms()));
            let response = send_request(broker(&cluster, 1), 7, &request);
            assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
        }
    }
    // Broker 3 fetched "d" for the last acks=all produce: its fetch
    // answer carried a high watermark of at least 3.
    let status = cluster.broker(3).terminate();
    assert!(status.success(), "controlled shutdown of 3: {status:?}");
    let checkpoint = checkpointed_high_watermarks(broker(&cluster, 3));
    let hw = checkpoint.get(&(topic.to_owned(), 0)).copied();
    assert!(
        hw.is_some_and(|hw| hw >= 3),
        "the followed partition's high watermark in broker 3's shutdown checkpoint: {hw:?} ({checkpoint:?})"
    );
}
