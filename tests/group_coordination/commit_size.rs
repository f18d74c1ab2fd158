//! A commit is one atomic ZooKeeper multi, and one request holds at most
//! `jute.maxbuffer` (1 MB): a commit that cannot fit is refused whole with
//! INVALID_COMMIT_OFFSET_SIZE (as Kafka refuses a commit larger than one
//! append) and nothing of it is written; one that fits lands whole. Long
//! group ids make the paths, and so the request, large.

use std::time::Duration;

use super::common::*;
use super::member::*;

const INVALID_COMMIT_OFFSET_SIZE: i16 = 28;

#[test]
fn a_commit_too_large_for_one_zookeeper_request_is_refused_whole() {
    let chroot = unique_chroot("gc-size");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    assert_eq!(create_topic_with_configs(&broker, "t", 150, 1, &[]), 0);
    // Each offset path is about 9 KB: 150 of them do not fit in 1 MB, 100 do.
    let group = format!("g{}", "x".repeat(9_000));
    let simple = RawMember::new(&group, "t");
    let all: Vec<i32> = (0..150).collect();
    let codes = wait_until(
        "the topic in the broker's metadata",
        Duration::from_secs(30),
        || {
            let codes = simple.commit_codes(broker.port(), &all, 5).ok()?;
            codes.iter().all(|c| *c != 3).then_some(codes)
        },
    );
    assert!(
        codes.iter().all(|c| *c == INVALID_COMMIT_OFFSET_SIZE),
        "{codes:?}"
    );
    let zk = zk(&chroot);
    assert!(!zk.exists(&format!("/consumers/{group}/offsets")));

    let fits: Vec<i32> = (0..100).collect();
    let codes = simple.commit_codes(broker.port(), &fits, 6).unwrap();
    assert!(codes.iter().all(|c| *c == NONE), "{codes:?}");
    let written = zk
        .children(&format!("/consumers/{group}/offsets/t"))
        .unwrap();
    assert_eq!(written.len(), 100);
}
