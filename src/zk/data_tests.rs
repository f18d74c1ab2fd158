//! Unit tests of the znode payloads: exact bytes against the samples in
//! DESIGN.md (field order included) and parsing of Kafka-written znodes.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::model::{BrokerId, TopicPartition, ids};
use crate::zk::data_admin::*;

fn text<T: ZnodeJson>(value: &T) -> String {
    String::from_utf8(value.encode("/test").unwrap()).unwrap()
}

fn same_json(bytes: &str, expected: Value) {
    let actual: Value = serde_json::from_str(bytes).unwrap();
    assert_eq!(actual, expected);
}

#[test]
fn broker_registration_matches_kafka_bytes() {
    let mut reg = BrokerRegistration::new(&["PLAINTEXT://host:9092"], None).unwrap();
    reg.timestamp = 1_615_489_355_496;
    assert_eq!(
        text(&reg),
        r#"{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://host:9092"],"jmx_port":-1,"features":{},"host":"host","timestamp":"1615489355496","port":9092,"version":5}"#
    );
    let mut with_rack = BrokerRegistration::new(&["PLAINTEXT://host:9092"], Some("r1")).unwrap();
    with_rack.timestamp = 1;
    assert_eq!(
        text(&with_rack),
        r#"{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://host:9092"],"rack":"r1","jmx_port":-1,"features":{},"host":"host","timestamp":"1","port":9092,"version":5}"#
    );
}

#[test]
fn broker_registration_with_named_listeners() {
    let map: BTreeMap<String, String> = [
        ("INTERNAL".to_string(), "PLAINTEXT".to_string()),
        ("EXTERNAL".to_string(), "SASL_SSL".to_string()),
    ]
    .into();
    let reg = BrokerRegistration::with_protocol_map(
        &["EXTERNAL://ext.example:19092", "INTERNAL://[::1]:9092"],
        &map,
        None,
    )
    .unwrap();
    // host/port come from the first PLAINTEXT endpoint, as in Kafka.
    assert_eq!(reg.host.as_deref(), Some("::1"));
    assert_eq!(reg.port, 9092);
    assert_eq!(reg.endpoints[1], "INTERNAL://[::1]:9092");
    assert_eq!(
        reg.endpoint("EXTERNAL"),
        Some(("ext.example".to_string(), 19092))
    );
    assert_eq!(reg.endpoint("INTERNAL"), Some(("::1".to_string(), 9092)));
    assert_eq!(reg.endpoint("OTHER"), None);
    let parsed = reg.parsed_endpoints().unwrap();
    assert_eq!(parsed[0].security_protocol, "SASL_SSL");

    // Without a PLAINTEXT endpoint Kafka writes "host":null and "port":-1.
    let ssl = BrokerRegistration::new(&["SSL://h:9093"], None).unwrap();
    let v: Value = serde_json::from_str(&text(&ssl)).unwrap();
    assert_eq!(v["host"], Value::Null);
    assert_eq!(v["port"], json!(-1));

    assert!(BrokerRegistration::new(&["CUSTOM://h:1"], None).is_err());
    assert!(BrokerRegistration::new(&["PLAINTEXT://h:port"], None).is_err());
    assert!(BrokerRegistration::new(&["h:9092"], None).is_err());
}

#[test]
fn broker_registration_parses_kafka_written_samples() {
    let v5 = br#"{"listener_security_protocol_map":{"INSECURE":"PLAINTEXT","ENCRYPTED":"SSL"},"endpoints":["INSECURE://localhost:9092","ENCRYPTED://localhost:19092"],"jmx_port":-1,"features":{},"host":"localhost","timestamp":"1666342423700","port":9092,"version":5}"#;
    let reg = BrokerRegistration::decode("/brokers/ids/0", v5).unwrap();
    assert_eq!(reg.version, 5);
    assert_eq!(reg.timestamp, 1_666_342_423_700);
    assert_eq!(reg.endpoint("ENCRYPTED"), Some(("localhost".into(), 19092)));
    assert_eq!(reg.parsed_endpoints().unwrap()[1].security_protocol, "SSL");

    // Hash-ordered fields, a rack, features with ranges and an unknown field.
    let odd = br#"{"features":{"f":{"min_version":1,"max_version":2}},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://kafka-1:9092"],"rack":"a","jmx_port":9999,"port":9092,"host":"kafka-1","version":5,"timestamp":"1625336133848","extra":true}"#;
    let reg = BrokerRegistration::decode("/brokers/ids/1", odd).unwrap();
    assert_eq!(reg.rack.as_deref(), Some("a"));
    assert_eq!(reg.jmx_port, 9999);
    assert_eq!(reg.features["f"]["max_version"], json!(2));

    // Version 1: host and port only.
    let v1 = br#"{"jmx_port":-1,"timestamp":"1400000000000","host":"old","version":1,"port":9092}"#;
    let reg = BrokerRegistration::decode("/brokers/ids/2", v1).unwrap();
    assert_eq!(reg.endpoint("PLAINTEXT"), Some(("old".into(), 9092)));
}

#[test]
fn cluster_id_matches_kafka_bytes() {
    let z = ClusterIdZnode::new("IOejp_IKSbWbySJc0sRrKw");
    assert_eq!(text(&z), r#"{"version":"1","id":"IOejp_IKSbWbySJc0sRrKw"}"#);
    let back = ClusterIdZnode::decode("/cluster/id", text(&z).as_bytes()).unwrap();
    assert_eq!(back, z);
}

#[test]
fn topic_znode_orders_partitions_numerically() {
    let assignment: BTreeMap<i32, Vec<BrokerId>> =
        (0..11).map(|p| (p, vec![BrokerId(p % 3 + 1)])).collect();
    let z = TopicZnode::new(assignment, "fC9Dk2-uRsKXmQ4vTWHc1A");
    let s = text(&z);
    assert!(s.starts_with(
        r#"{"partitions":{"0":[1],"1":[2],"2":[3],"3":[1],"4":[2],"5":[3],"6":[1],"7":[2],"8":[3],"9":[1],"10":[2]},"topic_id":"fC9Dk2-uRsKXmQ4vTWHc1A""#
    ));
    assert!(s.ends_with(r#","adding_replicas":{},"removing_replicas":{},"version":3}"#));
}

#[test]
fn topic_znode_matches_design_sample() {
    let z = TopicZnode::new([(0, ids(&[1, 2, 3]))].into(), "fC9Dk2-uRsKXmQ4vTWHc1A");
    assert_eq!(
        text(&z),
        r#"{"partitions":{"0":[1,2,3]},"topic_id":"fC9Dk2-uRsKXmQ4vTWHc1A","adding_replicas":{},"removing_replicas":{},"version":3}"#
    );
    assert!(z.topic_id_bytes().is_some());
}

#[test]
fn topic_znode_parses_kafka_written_samples() {
    let v3 = br#"{"removing_replicas":{},"partitions":{"2":[3,1],"1":[2,3],"0":[1,2],"10":[1,3]},"topic_id":"fC9Dk2-uRsKXmQ4vTWHc1A","adding_replicas":{"0":[2]},"version":3}"#;
    let z = TopicZnode::decode("/brokers/topics/t", v3).unwrap();
    assert_eq!(
        z.assignment().keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 10]
    );
    assert_eq!(z.partitions[&10], ids(&[1, 3]));
    assert_eq!(z.adding_replicas[&0], ids(&[2]));
    // Version 1 (Kafka before 2.4): no topic id, no reassignment state.
    let v1 = br#"{"version":1,"partitions":{"1":[101,103],"0":[103,102]}}"#;
    let z = TopicZnode::decode("/brokers/topics/old", v1).unwrap();
    assert_eq!(z.topic_id, None);
    assert!(z.removing_replicas.is_empty());
    assert_eq!(z.partitions[&0], ids(&[103, 102]));
}

#[test]
fn bad_data_names_the_path_and_never_panics() {
    let err = TopicZnode::decode(
        "/brokers/topics/t",
        br#"{"version":3,"partitions":{"x":[1]}}"#,
    )
    .unwrap_err();
    match err {
        ZkError::BadData { path, detail } => {
            assert_eq!(path, "/brokers/topics/t");
            assert!(detail.contains("partitions"), "{detail}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let junk: Vec<u8> = (0..=255u8).collect();
    for len in [0, 1, 7, 64, 256] {
        assert!(BrokerRegistration::decode("/brokers/ids/1", &junk[..len]).is_err());
        assert!(PartitionStateZnode::decode("/p", &junk[..len]).is_err());
        assert!(decode_controller_epoch("/controller_epoch", &junk[..len]).is_err());
    }
    let err = decode_controller_epoch("/controller_epoch", b"one").unwrap_err();
    assert!(err.to_string().contains("/controller_epoch"), "{err}");
}

#[test]
fn partition_state_matches_kafka_bytes() {
    let s = PartitionStateZnode::new(BrokerId(1), LeaderEpoch::INITIAL, ids(&[1, 2, 3]), 1);
    assert_eq!(
        text(&s),
        r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}"#
    );
    let recovering = br#"{"controller_epoch":4,"leader":2,"version":1,"leader_epoch":7,"isr":[2],"leader_recovery_state":1}"#;
    let s = PartitionStateZnode::decode("/s", recovering).unwrap();
    assert_eq!(s.leader_epoch, LeaderEpoch::new(7));
    assert_eq!(s.leader_recovery_state, Some(1));
    assert_eq!(s.isr, ids(&[2]));
}

#[test]
fn controller_znodes_match_kafka_bytes() {
    let mut c = ControllerZnode::new(BrokerId(1));
    c.timestamp = 1_571_666_282_268;
    assert_eq!(
        text(&c),
        r#"{"version":1,"brokerid":1,"timestamp":"1571666282268"}"#
    );
    let v2 = br#"{"version":2,"brokerid":0,"timestamp":"1779856878328","kraftControllerEpoch":-1}"#;
    assert_eq!(
        ControllerZnode::decode("/controller", v2).unwrap().brokerid,
        BrokerId(0)
    );
    assert_eq!(encode_controller_epoch(12), b"12");
    assert_eq!(
        decode_controller_epoch("/controller_epoch", b"12\n").unwrap(),
        12
    );
}

#[test]
fn config_znodes_match_kafka_bytes() {
    let cfg = EntityConfig::new([("retention.ms".to_string(), "86400000".to_string())].into());
    assert_eq!(
        text(&cfg),
        r#"{"version":1,"config":{"retention.ms":"86400000"}}"#
    );
    let n = ConfigChangeNotification::new(crate::zk::paths::config_entity_path("topics", "t"));
    assert_eq!(text(&n), r#"{"version":2,"entity_path":"topics/t"}"#);
    assert_eq!(n.entity(), Some(("topics".into(), "t".into())));
    let v1 = br#"{"version":1,"entity_type":"topics","entity_name":"old"}"#;
    let n =
        ConfigChangeNotification::decode("/config/changes/config_change_0000000001", v1).unwrap();
    assert_eq!(n.entity(), Some(("topics".into(), "old".into())));
}

#[test]
fn admin_and_notification_znodes_match_kafka_bytes() {
    let tps = [TopicPartition::new("t", 0), TopicPartition::new("u", 3)];
    let isr = IsrChangeNotification::new(&tps);
    assert_eq!(
        text(&isr),
        r#"{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":3}]}"#
    );
    assert_eq!(isr.topic_partitions(), tps);
    let pre = PreferredReplicaElection::new(&tps[..1]);
    assert_eq!(
        text(&pre),
        r#"{"version":1,"partitions":[{"topic":"t","partition":0}]}"#
    );
    let re = ReassignPartitions::new(vec![PartitionReassignment {
        topic: "t".into(),
        partition: 0,
        replicas: ids(&[1, 2]),
    }]);
    same_json(
        &text(&re),
        json!({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}),
    );
    assert_eq!(
        text(&re),
        r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}"#
    );
    // The admin tool may add log_dirs; it is ignored.
    let with_dirs = br#"{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[3],"log_dirs":["any"]}]}"#;
    let re = ReassignPartitions::decode("/admin/reassign_partitions", with_dirs).unwrap();
    assert_eq!(re.targets()[&TopicPartition::new("t", 1)], ids(&[3]));
}

#[test]
fn producer_id_block_matches_kafka_bytes() {
    let b = ProducerIdBlock::new(BrokerId(1), 0, ProducerIdBlock::DEFAULT_BLOCK_SIZE);
    assert_eq!(
        text(&b),
        r#"{"version":1,"broker":1,"block_start":"0","block_end":"999"}"#
    );
    assert_eq!(b.next_block_first_id(), 1000);
    let back = ProducerIdBlock::decode("/latest_producer_id_block", text(&b).as_bytes()).unwrap();
    assert_eq!(back, b);
}
