//! DescribeConfigs for a BROKER resource lists Kafka's full broker key set,
//! not only the keys set somewhere: every key with its value, source
//! (STATIC_BROKER_CONFIG for server.properties, DEFAULT_CONFIG for Kafka's
//! default, DYNAMIC_BROKER_CONFIG after AlterConfigs), read_only (true for
//! static keys, false for dynamic ones), sensitive keys' values null, and
//! (v3+) each key's Kafka type. Through kafka-python (v2) and raw v4 requests.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use kafka_protocol::messages::DescribeConfigsRequest;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use serde_json::Value;

const SOURCE_DYNAMIC_BROKER_CONFIG: i64 = 2;
const SOURCE_STATIC_BROKER_CONFIG: i64 = 4;
const SOURCE_DEFAULT_CONFIG: i64 = 5;
/// DescribeConfigs resource type BROKER.
const RESOURCE_BROKER: i8 = 4;
/// How long a dynamic change may take to show.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// argv[1] bootstrap, argv[2] broker id, argv[3] JSON configs to set with
/// AlterConfigs first (`{}`: none). Prints `{name: {value, read_only,
/// source, sensitive}}` from DescribeConfigs (kafka-python picks v2).
const DESCRIBE: &str = r#"
import json, sys
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
bootstrap, broker, configs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
kp = KafkaAdminClient(bootstrap_servers=bootstrap)
if configs:
    res = kp.alter_configs([ConfigResource(ConfigResourceType.BROKER, broker, configs=configs)]).resources[0]
    if res[0] != 0:
        print(json.dumps({"alter_error": res[0], "message": res[1]}))
        sys.exit(0)
res = kp.describe_configs([ConfigResource(ConfigResourceType.BROKER, broker)])[0].resources[0]
if res[0] != 0:
    print(json.dumps({"error": res[0], "message": res[1]}))
else:
    print(json.dumps({e[0]: {"value": e[1], "read_only": e[2], "source": e[3], "sensitive": e[4]}
                      for e in res[4]}))
kp.close()
"#;

fn describe(broker: &Broker, alter: Value) -> BTreeMap<String, Value> {
    let id = broker.id().to_string();
    let out = run_python(DESCRIBE, &[&broker.bootstrap(), &id, &alter.to_string()]);
    let text = assert_success(&out, "kafka-python describe_configs");
    let parsed: BTreeMap<String, Value> =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("bad output {text:?}: {e}"));
    assert!(
        !parsed.contains_key("error") && !parsed.contains_key("alter_error"),
        "{parsed:?}"
    );
    parsed
}

fn start_broker(name: &str) -> Broker {
    let chroot = unique_chroot(name);
    Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("num.partitions", 3)
            .set("ssl.keystore.password", "hunter2"),
    )
}

#[test]
fn broker_lists_every_key_with_source_read_only_and_sensitivity() {
    let broker = start_broker("broker-configs-kp");
    let configs = describe(&broker, Value::Object(Default::default()));
    assert!(
        configs.len() > 200,
        "only {} keys: {:?}",
        configs.len(),
        configs.keys()
    );
    let entry = |name: &str| -> &Value {
        configs
            .get(name)
            .unwrap_or_else(|| panic!("{name} not listed"))
    };
    // Set in server.properties: STATIC_BROKER_CONFIG, read-only.
    assert_eq!(entry("num.partitions")["value"], "3");
    assert_eq!(
        entry("num.partitions")["source"],
        SOURCE_STATIC_BROKER_CONFIG
    );
    assert_eq!(entry("num.partitions")["read_only"], true);
    assert_eq!(entry("broker.id")["value"], "1");
    assert_eq!(entry("broker.id")["source"], SOURCE_STATIC_BROKER_CONFIG);
    assert_eq!(
        entry("zookeeper.connect")["value"].as_str(),
        Some(broker.spec().zk_connect.as_str())
    );
    // Not set anywhere: Kafka's default, DEFAULT_CONFIG.
    assert_eq!(entry("log.retention.hours")["value"], "168");
    assert_eq!(
        entry("log.retention.hours")["source"],
        SOURCE_DEFAULT_CONFIG
    );
    assert_eq!(entry("log.retention.hours")["read_only"], true);
    assert_eq!(entry("num.io.threads")["value"], "8");
    assert_eq!(entry("num.io.threads")["source"], SOURCE_DEFAULT_CONFIG);
    assert_eq!(entry("default.replication.factor")["value"], "1");
    // No default in Kafka: listed with a null value.
    assert_eq!(entry("log.retention.ms")["value"], Value::Null);
    assert_eq!(entry("log.retention.ms")["source"], SOURCE_DEFAULT_CONFIG);
    // A dynamic key is not read-only.
    assert_eq!(entry("log.retention.ms")["read_only"], false);
    assert_eq!(entry("min.insync.replicas")["read_only"], false);
    // A password: sensitive, value hidden, even though it is set.
    let password = entry("ssl.keystore.password");
    assert_eq!(password["sensitive"], true);
    assert_eq!(password["value"], Value::Null);
    assert_eq!(password["source"], SOURCE_STATIC_BROKER_CONFIG);
    assert_eq!(entry("num.partitions")["sensitive"], false);

    // A dynamic per-broker value: DYNAMIC_BROKER_CONFIG once applied.
    let altered = describe(&broker, serde_json::json!({"log.retention.ms": "3600000"}));
    let applied = if altered["log.retention.ms"]["source"] == SOURCE_DYNAMIC_BROKER_CONFIG {
        altered
    } else {
        wait_until(
            "the dynamic log.retention.ms to show",
            APPLY_TIMEOUT,
            || {
                let now = describe(&broker, Value::Object(Default::default()));
                (now["log.retention.ms"]["source"] == SOURCE_DYNAMIC_BROKER_CONFIG).then_some(now)
            },
        )
    };
    assert_eq!(applied["log.retention.ms"]["value"], "3600000");
    assert_eq!(applied["log.retention.ms"]["read_only"], false);
    assert_eq!(
        applied["num.partitions"]["source"],
        SOURCE_STATIC_BROKER_CONFIG
    );
    assert_eq!(applied.len(), configs.len());
}

/// `(value, source, config_type)` of every entry of this broker's
/// DescribeConfigs at `version`.
fn describe_raw(broker: &Broker, version: i16) -> BTreeMap<String, (Option<String>, i8, i8)> {
    let request = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_BROKER)
            .with_resource_name(str_bytes(&broker.id().to_string()))
            .with_configuration_keys(None),
    ]);
    let response = send_request(broker, version, &request);
    let result = &response.results[0];
    assert_eq!(result.error_code, 0, "{:?}", result.error_message);
    result
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                (
                    c.value.as_ref().map(|v| v.to_string()),
                    c.config_source,
                    c.config_type,
                ),
            )
        })
        .collect()
}

#[test]
fn v3_and_later_report_kafkas_config_types() {
    let broker = start_broker("broker-configs-types");
    let v4 = describe_raw(&broker, 4);
    let kind = |name: &str| {
        v4.get(name)
            .unwrap_or_else(|| panic!("{name} not listed"))
            .2
    };
    // Kafka's DescribeConfigsResponse.ConfigType ids.
    let expected = [
        ("auto.create.topics.enable", 1),        // BOOLEAN
        ("zookeeper.connect", 2),                // STRING
        ("num.partitions", 3),                   // INT
        ("offsets.topic.replication.factor", 4), // SHORT
        ("log.retention.ms", 5),                 // LONG
        ("log.cleaner.min.cleanable.ratio", 6),  // DOUBLE
        ("log.cleanup.policy", 7),               // LIST
        ("principal.builder.class", 8),          // CLASS
        ("ssl.keystore.password", 9),            // PASSWORD
    ];
    for (name, config_type) in expected {
        assert_eq!(kind(name), config_type, "{name}");
    }
    assert!(
        v4.values().all(|(_, _, t)| *t != 0),
        "keys without a type: {:?}",
        v4.iter()
            .filter(|(_, v)| v.2 == 0)
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    );
    assert_eq!(v4["num.partitions"].0.as_deref(), Some("3"));
    assert_eq!(v4["num.partitions"].1, SOURCE_STATIC_BROKER_CONFIG as i8);
    // Before v3 there is no type on the wire; the same keys are listed.
    let v2 = describe_raw(&broker, 2);
    assert!(v2.values().all(|(_, _, t)| *t == 0));
    assert_eq!(v2.keys().collect::<Vec<_>>(), v4.keys().collect::<Vec<_>>());
}
