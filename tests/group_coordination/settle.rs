//! The settle report of issue 11: three kafka-python consumers of one group,
//! created together and polled in turn from one thread (100 ms each), settle
//! on three members with two partitions each within seconds, with and
//! without group.initial.rebalance.delay.ms.
//!
//! With kafka-python 3.0.12 they never settle, on Sluice as on Kafka: its
//! `join_group_async` drops a JoinGroup/SyncGroup result that completes
//! between two polls of that consumer and sends a new JoinGroup. The join
//! phase ends during the poll of the last member to rejoin, so with one
//! thread the leader's result always completes between its polls; the
//! leader's new JoinGroup in a Stable group forces a rebalance (Kafka's rule,
//! so the leader can react to metadata changes), the others learn of it by
//! heartbeat, and the cycle repeats every heartbeat interval. A member whose
//! dropped result left its heartbeat thread disabled is expired after its
//! 45 s session. The project's pinned client (kafka-python 2.3.3) keeps the
//! pending result and settles; this test runs with it.

use std::time::Duration;

use super::common::*;

const THREE_POLLED_IN_TURN: &str = r#"
import json, sys, time
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
B = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=B)
admin.create_topics([NewTopic('settle', 6, 1)])
admin.close()
consumers = [KafkaConsumer('settle', bootstrap_servers=B, group_id='settle', client_id='c%d' % i,
                           auto_offset_reset='earliest') for i in range(3)]
start = time.monotonic()
settled = None
while time.monotonic() - start < 60:
    for c in consumers:
        c.poll(timeout_ms=100)
    if sorted(len(c.assignment()) for c in consumers) == [2, 2, 2]:
        settled = time.monotonic() - start
        break
result = {'settled_after_s': settled,
          'assignments': [sorted(tp.partition for tp in c.assignment()) for c in consumers]}
for c in consumers:
    c.close()
print(json.dumps(result))
"#;

fn settles_with_initial_delay(delay_ms: i32) {
    let chroot = unique_chroot(&format!("settle-{delay_ms}"));
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("group.initial.rebalance.delay.ms", delay_ms),
    );
    let out = run_python_with_timeout(
        THREE_POLLED_IN_TURN,
        &[&broker.bootstrap()],
        Duration::from_secs(150),
    );
    let stdout = assert_success(&out, "three consumers polled in turn");
    let result: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON");
    assert!(
        result["settled_after_s"].is_number(),
        "group.initial.rebalance.delay.ms={delay_ms}: the group did not settle on three \
         members within 60 s: {result}\nbroker log:\n{}",
        tail_lines(&broker.log_text(), 30)
    );
    let mut all: Vec<i64> = result["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a.as_array().unwrap().iter().map(|p| p.as_i64().unwrap()))
        .collect();
    all.sort_unstable();
    assert_eq!(all, vec![0, 1, 2, 3, 4, 5], "{result}");
}

#[test]
fn three_consumers_polled_in_turn_from_one_thread_settle() {
    settles_with_initial_delay(0);
    settles_with_initial_delay(3000);
}
