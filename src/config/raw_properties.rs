//! Every key and raw value a broker was given (`server.properties` and
//! `--override`), kept for DescribeConfigs and the dynamic-config layers.
//! Its `Debug` hides the values of password keys (Kafka's PASSWORD type,
//! `*.jaas.config`, anything named like a password or secret), so a
//! `{config:?}` can never log a secret; that impl is in `broker_keys.rs`,
//! beside the catalogue that knows which keys are passwords (here it would
//! close an import cycle: the catalogue is built by `build.rs`, which makes
//! these).

use std::collections::BTreeMap;
use std::ops::Deref;

/// The raw key/value pairs, after overrides.
#[derive(Clone, Default, PartialEq)]
pub struct RawProperties(BTreeMap<String, String>);

impl RawProperties {
    pub fn new(map: BTreeMap<String, String>) -> RawProperties {
        RawProperties(map)
    }

    /// The pairs as a plain map (secrets included: for the config layers).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.clone()
    }

    /// The pairs, in key order (for `Debug`).
    pub(super) fn pairs(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

impl Deref for RawProperties {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_password_values_and_keeps_the_rest() {
        let props = RawProperties::new(
            [
                ("broker.id", "1"),
                ("ssl.key.password", "key-secret"),
                (
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config",
                    "PlainLoginModule required user_alice=\"alice-secret\";",
                ),
                ("sasl.jaas.config", "x password=\"other-secret\";"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let shown = format!("{props:?}");
        assert!(shown.contains("\"broker.id\": \"1\""), "{shown}");
        for secret in ["key-secret", "alice-secret", "other-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(
            props.get("ssl.key.password").map(String::as_str),
            Some("key-secret")
        );
    }
}
