//! Group ids that are not one znode name (finding 15): a kafka-python
//! consumer with group.id "team/app" joins, commits, reads its commits back,
//! and the admin client describes and lists the group under its own name;
//! ZooKeeper holds it at `/consumers/team%2Fapp`.

use std::time::Duration;

use super::common::*;

const TEAM_APP: &str = r#"
import json, sys, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
B = sys.argv[1]
G = 'team/app'
admin = KafkaAdminClient(bootstrap_servers=B)
admin.create_topics([NewTopic('orders', 2, 1)])
p = KafkaProducer(bootstrap_servers=B)
for i in range(10):
    p.send('orders', value=b'x', partition=i % 2)
p.flush()
p.close()
c = KafkaConsumer('orders', bootstrap_servers=B, group_id=G, auto_offset_reset='earliest',
                  enable_auto_commit=False, session_timeout_ms=10000)
got = 0
deadline = time.monotonic() + 60
while got < 10 and time.monotonic() < deadline:
    for tp, records in c.poll(timeout_ms=200).items():
        got += len(records)
c.commit()
committed = {tp.partition: c.committed(tp) for tp in c.assignment()}
described = admin.describe_consumer_groups([G])[0]
listed = [g[0] for g in admin.list_consumer_groups()]
offsets = {tp.partition: o.offset for tp, o in admin.list_consumer_group_offsets(G).items()}
c.close()
admin.close()
print(json.dumps({'got': got, 'committed': committed, 'state': described.state,
                  'group': described.group, 'members': len(described.members),
                  'listed': listed, 'offsets': offsets}))
"#;

#[test]
fn a_group_id_with_a_slash_joins_commits_fetches_and_is_listed_by_its_name() {
    let chroot = unique_chroot("gc-slash");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("group.min.session.timeout.ms", 1000),
    );
    let out = run_python_with_timeout(TEAM_APP, &[&broker.bootstrap()], Duration::from_secs(120));
    let stdout = assert_success(&out, "a kafka-python consumer in group team/app");
    let result: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON");
    assert_eq!(result["got"], 10, "{result}");
    assert_eq!(
        result["committed"],
        serde_json::json!({"0": 5, "1": 5}),
        "{result}"
    );
    assert_eq!(
        result["offsets"],
        serde_json::json!({"0": 5, "1": 5}),
        "{result}"
    );
    assert_eq!(result["group"], "team/app", "{result}");
    assert_eq!(result["state"], "Stable", "{result}");
    assert_eq!(result["members"], 1, "{result}");
    assert!(
        result["listed"]
            .as_array()
            .unwrap()
            .contains(&"team/app".into()),
        "{result}"
    );
    let zk = zk(&chroot);
    assert_eq!(
        zk.get_string("/consumers/team%2Fapp/offsets/orders/1")
            .as_deref(),
        Some("5")
    );
    assert!(
        zk.children("/consumers")
            .unwrap()
            .contains(&"team%2Fapp".to_string())
    );
}
