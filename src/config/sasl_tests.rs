//! Unit tests of the SASL listener keys: what is accepted, what is refused
//! at start (naming the key), and that no error shows a password.

use std::collections::BTreeMap;

use super::*;
use crate::config::BrokerConfig;

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#;
const JAAS_KEY: &str = "listener.name.sasl_plaintext.plain.sasl.jaas.config";

fn config(extra: &[(&str, &str)]) -> Result<BrokerConfig, ConfigError> {
    let mut map: BTreeMap<String, String> = [
        ("zookeeper.connect", "localhost:2181"),
        (
            "listeners",
            "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093",
        ),
        ("sasl.enabled.mechanisms", "PLAIN"),
        (JAAS_KEY, JAAS),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        if v.is_empty() {
            map.remove(*k);
        } else {
            map.insert(k.to_string(), v.to_string());
        }
    }
    BrokerConfig::from_properties(&map)
}

#[test]
fn a_sasl_plaintext_listener_with_plain() {
    let c = config(&[]).unwrap();
    let sasl = &c.sasl_listeners["SASL_PLAINTEXT"];
    assert_eq!(sasl.enabled_mechanisms, vec!["PLAIN"]);
    assert!(!c.sasl_listeners.contains_key("PLAINTEXT"));
    assert!(c.ignored_keys.is_empty(), "{:?}", c.ignored_keys);
    assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
}

#[test]
fn the_listener_override_wins() {
    let c = config(&[
        ("sasl.enabled.mechanisms", "GSSAPI"),
        (
            "listener.name.sasl_plaintext.sasl.enabled.mechanisms",
            "PLAIN",
        ),
    ])
    .unwrap();
    assert_eq!(
        c.sasl_listeners["SASL_PLAINTEXT"].enabled_mechanisms,
        vec!["PLAIN"]
    );
    assert!(c.unknown_keys.is_empty() && c.ignored_keys.is_empty());
}

#[test]
fn refusals_name_the_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        // Kafka's default is GSSAPI, which Sluice does not serve.
        (
            &[("sasl.enabled.mechanisms", "")],
            "sasl.enabled.mechanisms",
        ),
        (
            &[("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256")],
            "sasl.enabled.mechanisms",
        ),
        (
            &[(
                "listener.name.sasl_plaintext.sasl.enabled.mechanisms",
                "SCRAM-SHA-512",
            )],
            "listener.name.sasl_plaintext.sasl.enabled.mechanisms",
        ),
        (&[(JAAS_KEY, "")], JAAS_KEY),
        (
            &[(JAAS_KEY, "x.Y required user_a=\"alice-secret\"")],
            JAAS_KEY,
        ),
        (
            &[(JAAS_KEY, "x.Y required user_a=\"alice-secret\";")],
            JAAS_KEY,
        ),
        (&[("listeners", "PLAINTEXT://:1,SSL://:2")], "listeners"),
        (
            &[(
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_SSL",
            )],
            "listeners",
        ),
        (
            &[("inter.broker.listener.name", "SASL_PLAINTEXT")],
            "inter.broker.listener.name",
        ),
        (
            &[("security.inter.broker.protocol", "SASL_PLAINTEXT")],
            "security.inter.broker.protocol",
        ),
    ];
    for (extra, key) in cases {
        let e = config(extra).unwrap_err();
        assert_eq!(e.key(), Some(*key), "{extra:?}: {e}");
        assert!(!e.to_string().contains("alice-secret"), "{e}");
    }
}

#[test]
fn an_unprefixed_jaas_config_is_ignored_as_kafka_does() {
    let e = config(&[(JAAS_KEY, ""), ("sasl.jaas.config", JAAS)]).unwrap_err();
    assert_eq!(e.key(), Some(JAAS_KEY));
    // Without SASL listeners the SASL keys are accepted but not acted on.
    let c = config(&[
        ("listeners", "PLAINTEXT://127.0.0.1:9092"),
        ("sasl.jaas.config", JAAS),
    ])
    .unwrap();
    assert!(c.sasl_listeners.is_empty());
    assert!(c.ignored_keys.contains(&"sasl.jaas.config".to_string()));
}
