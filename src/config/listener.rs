//! Listeners: `listeners`, `advertised.listeners`,
//! `listener.security.protocol.map` and the inter-broker listener, parsed and
//! checked as Kafka checks them. Sluice serves PLAINTEXT and SASL_PLAINTEXT
//! (its SASL keys are `sasl.rs`'s); a listener mapped to SSL or SASL_SSL is
//! refused, naming the key, and the inter-broker listener must be PLAINTEXT
//! (the broker's own connections do not authenticate yet).
//!
//! A host left empty (`PLAINTEXT://:9092`) binds every interface. When
//! `advertised.listeners` is not set it defaults to the listeners with
//! `0.0.0.0`/`::` hosts emptied, and an empty advertised host stands for the
//! machine's hostname, which the broker fills in ([`Listener::advertised_host_or`]).
//! (Kafka refuses a defaulted `0.0.0.0` outright; Sluice is kinder there and
//! refuses it only when `advertised.listeners` says it explicitly.)

use std::collections::BTreeMap;
use std::fmt;

use super::error::{ConfigError, invalid};
use super::reader::Reader;

/// One endpoint: `NAME://host:port`. The name is upper-cased, as Kafka
/// normalises listener names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The listener name, e.g. `PLAINTEXT` or `INTERNAL`.
    pub name: String,
    /// Empty means every interface (bind) or the machine's hostname (advertised).
    pub host: String,
    /// The TCP port; 0 binds any free port.
    pub port: u16,
}

impl Listener {
    /// The host to advertise: this listener's host, or `fallback` (the
    /// machine's hostname) when it is empty.
    pub fn advertised_host_or<'s>(&'s self, fallback: &'s str) -> &'s str {
        if self.host.is_empty() {
            fallback
        } else {
            &self.host
        }
    }
}

impl fmt::Display for Listener {
    /// Kafka's endpoint form, as written to `/brokers/ids/<id>`; IPv6 hosts in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

/// The security protocol without authentication or encryption.
pub const PLAINTEXT: &str = "PLAINTEXT";
/// The security protocols Sluice serves.
const SERVED: [&str; 2] = [PLAINTEXT, super::sasl::SASL_PLAINTEXT];
const SECURITY_PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
const DEFAULT_PROTOCOL_MAP: &str =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

const LISTENERS: &str = "listeners";
const ADVERTISED: &str = "advertised.listeners";
const PROTOCOL_MAP: &str = "listener.security.protocol.map";
const INTER_BROKER_NAME: &str = "inter.broker.listener.name";
const INTER_BROKER_PROTOCOL: &str = "security.inter.broker.protocol";

/// Everything the listener keys resolve to.
pub(super) struct Network {
    pub listeners: Vec<Listener>,
    pub advertised_listeners: Vec<Listener>,
    pub security_protocol_map: BTreeMap<String, String>,
    pub inter_broker_listener_name: String,
}

/// Reads and validates every listener key. All keys are read on every call so
/// none of them is ever reported unknown.
pub(super) fn read(r: &mut Reader<'_>) -> Result<Network, ConfigError> {
    let map_value = r.raw(PROTOCOL_MAP).unwrap_or(DEFAULT_PROTOCOL_MAP);
    let security_protocol_map = parse_protocol_map(map_value)?;

    // Kafka 2.8's deprecated single-listener keys, used only without `listeners`.
    let legacy_port = r.int("port", 9092, 0)?;
    let legacy_host = r.string("host.name", "");
    let legacy_adv_host = r.opt_string("advertised.host.name");
    let legacy_adv_port = r.opt_int("advertised.port", 0)?;

    let listeners_value = match r.raw(LISTENERS) {
        Some(value) => value.to_string(),
        None => format!("{PLAINTEXT}://{}:{legacy_port}", bracket(&legacy_host)),
    };
    let listeners = parse_list(LISTENERS, &listeners_value, &security_protocol_map)?;
    check_distinct_ports(&listeners, &listeners_value)?;

    let advertised_value = match r.raw(ADVERTISED) {
        Some(value) => Some(value.to_string()),
        None if legacy_adv_host.is_some() || legacy_adv_port.is_some() => Some(format!(
            "{PLAINTEXT}://{}:{}",
            bracket(legacy_adv_host.as_deref().unwrap_or(&legacy_host)),
            legacy_adv_port.unwrap_or(i32::from(listeners[0].port)),
        )),
        None => None,
    };
    let advertised_listeners = match advertised_value {
        Some(value) => explicit_advertised(&value, &listeners, &security_protocol_map)?,
        None => listeners
            .iter()
            .map(|l| Listener {
                host: if is_wildcard(&l.host) {
                    String::new()
                } else {
                    l.host.clone()
                },
                ..l.clone()
            })
            .collect(),
    };

    let inter_broker_listener_name = inter_broker(r, &advertised_listeners)?;
    let protocol = &security_protocol_map[&inter_broker_listener_name];
    if protocol != PLAINTEXT {
        let key = if r.raw(INTER_BROKER_NAME).is_some() {
            INTER_BROKER_NAME
        } else {
            LISTENERS
        };
        return Err(invalid(
            key,
            &inter_broker_listener_name,
            format!(
                "the inter-broker listener uses {protocol}; it must be PLAINTEXT for now (the broker's own connections do not authenticate yet)"
            ),
        ));
    }
    Ok(Network {
        listeners,
        advertised_listeners,
        security_protocol_map,
        inter_broker_listener_name,
    })
}

fn parse_protocol_map(value: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut map = BTreeMap::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, protocol)) = entry.split_once(':') else {
            return Err(invalid(
                PROTOCOL_MAP,
                value,
                format!("entry {entry:?} is not NAME:PROTOCOL"),
            ));
        };
        let protocol = protocol.trim().to_ascii_uppercase();
        if !SECURITY_PROTOCOLS.contains(&protocol.as_str()) {
            return Err(invalid(
                PROTOCOL_MAP,
                value,
                format!(
                    "unknown security protocol {protocol:?} (expected one of {})",
                    SECURITY_PROTOCOLS.join(", ")
                ),
            ));
        }
        map.insert(name.trim().to_ascii_uppercase(), protocol);
    }
    Ok(map)
}

/// Parses a comma-separated endpoint list, checking names are unique, mapped
/// to a security protocol, and that the protocol is one Sluice serves.
fn parse_list(
    key: &str,
    value: &str,
    protocols: &BTreeMap<String, String>,
) -> Result<Vec<Listener>, ConfigError> {
    let mut listeners: Vec<Listener> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let listener = parse_one(item).map_err(|reason| invalid(key, value, reason))?;
        if listeners.iter().any(|l| l.name == listener.name) {
            return Err(invalid(
                key,
                value,
                format!("listener name {} appears twice", listener.name),
            ));
        }
        match protocols.get(&listener.name) {
            None => {
                return Err(invalid(
                    key,
                    value,
                    format!(
                        "no security protocol for listener {} in {PROTOCOL_MAP}",
                        listener.name
                    ),
                ));
            }
            Some(protocol) if !SERVED.contains(&protocol.as_str()) => {
                return Err(invalid(
                    key,
                    value,
                    format!(
                        "listener {} uses security protocol {protocol}; Sluice serves only PLAINTEXT and SASL_PLAINTEXT (SSL is not supported yet)",
                        listener.name
                    ),
                ));
            }
            Some(_) => listeners.push(listener),
        }
    }
    if listeners.is_empty() {
        return Err(invalid(key, value, "no listener given"));
    }
    Ok(listeners)
}

fn parse_one(item: &str) -> Result<Listener, String> {
    let shape = || format!("{item:?} is not NAME://host:port");
    let (name, rest) = item.split_once("://").ok_or_else(shape)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(shape)?;
    if name.is_empty() {
        return Err(shape());
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-%._:".contains(*c)))
    {
        return Err(format!("host {host:?} in {item:?} contains {bad:?}"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("port {port:?} in {item:?} is not a number from 0 to 65535"))?;
    Ok(Listener {
        name: name.to_ascii_uppercase(),
        host: host.to_string(),
        port,
    })
}

/// Kafka requires distinct ports among bound listeners (0, "any free port", excepted).
fn check_distinct_ports(listeners: &[Listener], value: &str) -> Result<(), ConfigError> {
    for (i, l) in listeners.iter().enumerate() {
        if l.port != 0 && listeners[..i].iter().any(|other| other.port == l.port) {
            return Err(invalid(
                LISTENERS,
                value,
                format!("port {} is used by two listeners", l.port),
            ));
        }
    }
    Ok(())
}

fn explicit_advertised(
    value: &str,
    listeners: &[Listener],
    protocols: &BTreeMap<String, String>,
) -> Result<Vec<Listener>, ConfigError> {
    let advertised = parse_list(ADVERTISED, value, protocols)?;
    for a in &advertised {
        if !listeners.iter().any(|l| l.name == a.name) {
            return Err(invalid(
                ADVERTISED,
                value,
                format!("listener {} is not one of the names in {LISTENERS}", a.name),
            ));
        }
        if is_wildcard(&a.host) {
            return Err(invalid(
                ADVERTISED,
                value,
                format!(
                    "cannot advertise the non-routable address {}; use a routable host",
                    a.host
                ),
            ));
        }
    }
    Ok(advertised)
}

fn inter_broker(r: &mut Reader<'_>, advertised: &[Listener]) -> Result<String, ConfigError> {
    let by_name = r.opt_string(INTER_BROKER_NAME);
    let by_protocol = r.opt_string(INTER_BROKER_PROTOCOL);
    let (key, value, name) = match (by_name, by_protocol) {
        (Some(name), Some(_)) => {
            return Err(invalid(
                INTER_BROKER_NAME,
                &name,
                format!("only one of {INTER_BROKER_NAME} and {INTER_BROKER_PROTOCOL} may be set"),
            ));
        }
        (Some(name), None) => (INTER_BROKER_NAME, name.clone(), name.to_ascii_uppercase()),
        (None, protocol) => {
            let value = protocol.unwrap_or_else(|| PLAINTEXT.to_string());
            let upper = value.to_ascii_uppercase();
            if upper != PLAINTEXT {
                let reason = if SECURITY_PROTOCOLS.contains(&upper.as_str()) {
                    "Sluice serves only PLAINTEXT".to_string()
                } else {
                    format!("expected one of {}", SECURITY_PROTOCOLS.join(", "))
                };
                return Err(invalid(INTER_BROKER_PROTOCOL, &value, reason));
            }
            (INTER_BROKER_PROTOCOL, value, upper)
        }
    };
    if !advertised.iter().any(|l| l.name == name) {
        let names: Vec<&str> = advertised.iter().map(|l| l.name.as_str()).collect();
        return Err(invalid(
            key,
            &value,
            format!(
                "must name a listener of {ADVERTISED} (have: {})",
                names.join(", ")
            ),
        ));
    }
    Ok(name)
}

fn is_wildcard(host: &str) -> bool {
    host == "0.0.0.0" || host == "::"
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_hosts_and_ports() {
        let l = parse_one("plaintext://[::1]:9092").unwrap();
        assert_eq!(
            (l.name.as_str(), l.host.as_str(), l.port),
            ("PLAINTEXT", "::1", 9092)
        );
        assert_eq!(l.to_string(), "PLAINTEXT://[::1]:9092");
        let l = parse_one("PLAINTEXT://:0").unwrap();
        assert_eq!((l.host.as_str(), l.port), ("", 0));
        assert_eq!(l.advertised_host_or("box"), "box");
        let l = parse_one("INTERNAL://broker-1.example.com:19092").unwrap();
        assert_eq!(l.advertised_host_or("box"), "broker-1.example.com");
        assert_eq!(l.to_string(), "INTERNAL://broker-1.example.com:19092");
    }

    #[test]
    fn rejects_malformed_endpoints() {
        for bad in [
            "localhost:9092",
            "PLAINTEXT:/localhost:9092",
            "PLAINTEXT://localhost",
            "PLAINTEXT://localhost:70000",
            "PLAINTEXT://localhost:-1",
            "PLAINTEXT://local host:1",
            "://localhost:1",
        ] {
            assert!(parse_one(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocol_map_is_normalised_and_checked() {
        let map = parse_protocol_map("internal:plaintext, EXTERNAL:SSL").unwrap();
        assert_eq!(map.get("INTERNAL").map(String::as_str), Some("PLAINTEXT"));
        assert_eq!(map.get("EXTERNAL").map(String::as_str), Some("SSL"));
        assert_eq!(
            parse_protocol_map("A:TLS").unwrap_err().key(),
            Some(PROTOCOL_MAP)
        );
        assert_eq!(
            parse_protocol_map("A").unwrap_err().key(),
            Some(PROTOCOL_MAP)
        );
    }
}
