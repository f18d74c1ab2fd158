//! SASL on the listeners mapped to SASL_PLAINTEXT, read as Kafka reads it:
//! `sasl.enabled.mechanisms` (default GSSAPI), overridden per listener by
//! `listener.name.<listener>.sasl.enabled.mechanisms`; each mechanism's JAAS
//! text in `listener.name.<listener>.<mechanism>.sasl.jaas.config` (names
//! lower-cased). Kafka ignores an unprefixed `sasl.jaas.config` on a broker
//! (with a warning; its fallback is a JAAS file, which Sluice does not read),
//! so a PLAIN listener without its prefixed key fails at start, naming it.
//!
//! Sluice serves PLAIN only: GSSAPI, SCRAM-SHA-256/512 and OAUTHBEARER are
//! refused at start as not yet supported. No error here quotes a JAAS value.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{ConfigError, invalid};
use crate::security::{HIDDEN, JaasConfig, PLAIN, PlainCredentials};

/// The security protocol whose listeners authenticate with SASL.
pub const SASL_PLAINTEXT: &str = "SASL_PLAINTEXT";

const ENABLED_MECHANISMS: &str = "sasl.enabled.mechanisms";
const JAAS_CONFIG: &str = "sasl.jaas.config";
/// Mechanisms Kafka knows that Sluice does not serve yet.
const NOT_YET: [&str; 4] = ["GSSAPI", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// SASL on one listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaslListenerConfig {
    /// The mechanisms a client may choose, in the configured order.
    pub enabled_mechanisms: Vec<String>,
    /// PLAIN's users (PLAIN is the only mechanism served, so always set).
    pub plain: PlainCredentials,
}

/// What [`read`] found: per SASL listener (upper-cased name) its SASL
/// settings, and the `listener.name.*` keys it consumed.
pub(super) struct Sasl {
    pub listeners: BTreeMap<String, SaslListenerConfig>,
    pub consumed: BTreeSet<String>,
}

/// Reads the SASL keys of every listener whose protocol is SASL_PLAINTEXT.
pub(super) fn read(
    props: &BTreeMap<String, String>,
    listener_protocols: &[(String, String)],
) -> Result<Sasl, ConfigError> {
    // Both keys stay in `known_keys.rs`'s catalogue (LIST, PASSWORD), so
    // they are read here from the properties and marked consumed.
    let broker_mechanisms = props.get(ENABLED_MECHANISMS).cloned();
    if props.contains_key(JAAS_CONFIG) {
        tracing::warn!(
            "server config {JAAS_CONFIG} should be prefixed with the listener and SASL mechanism name (listener.name.<listener>.<mechanism>.{JAAS_CONFIG}); ignored"
        );
    }
    let mut sasl = Sasl {
        listeners: BTreeMap::new(),
        consumed: BTreeSet::new(),
    };
    let any_sasl = listener_protocols.iter().any(|(_, p)| p == SASL_PLAINTEXT);
    if any_sasl && broker_mechanisms.is_some() {
        // Acted on only when a listener uses SASL; otherwise listed as ignored.
        sasl.consumed.insert(ENABLED_MECHANISMS.to_string());
    }
    for (name, protocol) in listener_protocols {
        if protocol != SASL_PLAINTEXT {
            continue;
        }
        let prefix = format!("listener.name.{}.", name.to_ascii_lowercase());
        let listener_key = format!("{prefix}{ENABLED_MECHANISMS}");
        let (key, value) = match props.get(&listener_key) {
            Some(value) => {
                sasl.consumed.insert(listener_key.clone());
                (listener_key, value.clone())
            }
            None => (
                ENABLED_MECHANISMS.to_string(),
                broker_mechanisms.clone().unwrap_or_else(|| "GSSAPI".into()),
            ),
        };
        let enabled_mechanisms = mechanisms(&key, &value, name)?;
        let jaas_key = format!("{prefix}{}.{JAAS_CONFIG}", PLAIN.to_ascii_lowercase());
        let Some(jaas_text) = props.get(&jaas_key) else {
            return Err(ConfigError::Missing { key: jaas_key });
        };
        sasl.consumed.insert(jaas_key.clone());
        let jaas =
            JaasConfig::parse(jaas_text).map_err(|e| invalid(&jaas_key, HIDDEN, e.to_string()))?;
        let plain = PlainCredentials::from_jaas(&jaas)
            .map_err(|e| invalid(&jaas_key, HIDDEN, e.to_string()))?;
        sasl.listeners.insert(
            name.clone(),
            SaslListenerConfig {
                enabled_mechanisms,
                plain,
            },
        );
    }
    Ok(sasl)
}

/// The mechanism list of one listener, checked: only PLAIN is served.
fn mechanisms(key: &str, value: &str, listener: &str) -> Result<Vec<String>, ConfigError> {
    let list: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return Err(invalid(
            key,
            value,
            format!("listener {listener} is SASL_PLAINTEXT but enables no SASL mechanism"),
        ));
    }
    for mechanism in &list {
        if mechanism == PLAIN {
            continue;
        }
        let reason = if NOT_YET.contains(&mechanism.as_str()) {
            format!("SASL mechanism {mechanism} is not supported by Sluice yet (only {PLAIN})")
        } else {
            format!("unknown SASL mechanism {mechanism:?} (Sluice serves only {PLAIN})")
        };
        return Err(invalid(key, value, reason));
    }
    Ok(list)
}

#[cfg(test)]
#[path = "sasl_tests.rs"]
mod tests;
