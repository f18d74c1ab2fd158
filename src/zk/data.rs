//! The JSON payload of every znode kind, as serde structs whose field names and
//! field order are exactly what Kafka 2.8/3.x writes (`ZkData.scala`), so that
//! `zkCli.sh get` shows operators what they know and Kafka's tools can read
//! ours. Decoding is tolerant the way Kafka's is (older versions' missing
//! fields get defaults, unknown fields are ignored) and never panics: bad
//! bytes become `ZkError::BadData` naming the znode.
//!
//! Payloads of the admin and notification znodes live in `data_admin.rs`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::ZkError;
use super::kafka_uuid::decode_kafka_uuid;
use crate::model::{BrokerId, LeaderEpoch};

/// Encoding and decoding of a znode's JSON, with errors naming the znode.
pub trait ZnodeJson: Serialize + DeserializeOwned {
    /// The bytes to write to the znode at `path`.
    fn encode(&self, path: &str) -> Result<Vec<u8>, ZkError> {
        serde_json::to_vec(self)
            .map_err(|e| ZkError::bad_data(path, format!("cannot encode JSON: {e}")))
    }

    /// Parses the bytes read from the znode at `path`.
    fn decode(path: &str, bytes: &[u8]) -> Result<Self, ZkError> {
        decode_json(path, bytes)
    }
}

/// Parses JSON read from `path`; the error quotes the start of the data.
pub fn decode_json<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T, ZkError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ZkError::bad_data(path, format!("{e} (data: {:?})", preview(bytes))))
}

/// Parses a znode holding a plain decimal number (`/controller_epoch`, a
/// committed consumer offset).
pub fn decode_decimal<T: std::str::FromStr>(path: &str, bytes: &[u8]) -> Result<T, ZkError>
where
    T::Err: std::fmt::Display,
{
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ZkError::bad_data(path, format!("not UTF-8: {:?}", preview(bytes))))?;
    text.trim().parse::<T>().map_err(|e| {
        ZkError::bad_data(
            path,
            format!("expected a decimal number, got {text:?}: {e}"),
        )
    })
}

/// The bytes of a plain decimal number znode.
pub fn encode_decimal(value: impl std::fmt::Display) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn preview(bytes: &[u8]) -> String {
    const MAX_CHARS: usize = 200;
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() > MAX_CHARS {
        let cut: String = text.chars().take(MAX_CHARS).collect();
        format!("{cut}...")
    } else {
        text.into_owned()
    }
}

/// Milliseconds since the Unix epoch, as Kafka stamps its znodes.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Kafka writes some numbers (timestamps, producer id blocks) as JSON strings;
/// this writes them that way and reads either a string or a number.
pub(crate) mod i64_as_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrNumber {
        String(String),
        Number(i64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        match StringOrNumber::deserialize(deserializer)? {
            StringOrNumber::Number(n) => Ok(n),
            StringOrNumber::String(s) => s
                .trim()
                .parse()
                .map_err(|_| D::Error::custom(format!("expected a decimal number, got {s:?}"))),
        }
    }
}

fn minus_one() -> i32 {
    -1
}

// ---------------------------------------------------------------------------
// /brokers/ids/<id>

/// Security protocols Kafka knows; a listener named like one of them uses it
/// unless `listener.security.protocol.map` says otherwise.
pub const SECURITY_PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/// A broker's registration at `/brokers/ids/<id>` (ephemeral), version 5:
/// `{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://host:9092"],"jmx_port":-1,"features":{},"host":"host","timestamp":"<ms>","port":9092,"version":5}`
/// with `"rack"` after `"endpoints"` when `broker.rack` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    #[serde(default)]
    pub listener_security_protocol_map: BTreeMap<String, String>,
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    #[serde(default = "minus_one")]
    pub jmx_port: i32,
    /// Supported feature ranges (`{"name":{"min_version":1,"max_version":2}}`); Kafka 2.8+.
    #[serde(default)]
    pub features: BTreeMap<String, serde_json::Value>,
    /// Host of the first PLAINTEXT endpoint (for pre-0.10 clients); `null` if none.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default, with = "i64_as_string")]
    pub timestamp: i64,
    /// Port of the first PLAINTEXT endpoint, or -1.
    #[serde(default = "minus_one")]
    pub port: i32,
    pub version: i32,
}

impl ZnodeJson for BrokerRegistration {}

/// One advertised listener, parsed from `LISTENER://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPoint {
    pub listener_name: String,
    pub security_protocol: String,
    pub host: String,
    pub port: u16,
}

impl EndPoint {
    /// Parses `NAME://host:port` (IPv6 hosts in brackets); the security
    /// protocol is the listener name itself (fix it up from a protocol map).
    pub fn parse(endpoint: &str) -> Result<EndPoint, EndpointError> {
        let err = |detail: &str| EndpointError {
            endpoint: endpoint.to_string(),
            detail: detail.to_string(),
        };
        let (name, address) = endpoint
            .split_once("://")
            .ok_or_else(|| err("expected LISTENER_NAME://host:port"))?;
        if name.is_empty() {
            return Err(err("the listener name is empty"));
        }
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| err("expected host:port after ://"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port: u16 = port
            .parse()
            .map_err(|_| err("the port is not a number in 0..65535"))?;
        Ok(EndPoint {
            listener_name: name.to_string(),
            security_protocol: name.to_string(),
            host: host.to_string(),
            port,
        })
    }

    /// `NAME://host:port` as Kafka writes it (IPv6 hosts in brackets).
    pub fn connection_string(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.listener_name, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.listener_name, self.host, self.port)
        }
    }
}

/// An advertised listener that is not `NAME://host:port`, or whose security
/// protocol is unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid advertised listener {endpoint:?}: {detail}")]
pub struct EndpointError {
    pub endpoint: String,
    pub detail: String,
}

impl BrokerRegistration {
    /// The current registration format Kafka 2.8+ writes.
    pub const VERSION: i32 = 5;

    /// A registration for advertised endpoints like `PLAINTEXT://host:9092`
    /// whose listener names are security protocol names.
    pub fn new(endpoints: &[impl AsRef<str>], rack: Option<&str>) -> Result<Self, EndpointError> {
        Self::with_protocol_map(endpoints, &BTreeMap::new(), rack)
    }

    /// A registration for advertised endpoints whose listener names map to
    /// security protocols through `listener.security.protocol.map` (listener
    /// names missing from the map must be protocol names).
    pub fn with_protocol_map(
        endpoints: &[impl AsRef<str>],
        protocol_map: &BTreeMap<String, String>,
        rack: Option<&str>,
    ) -> Result<Self, EndpointError> {
        let mut parsed = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let mut e = EndPoint::parse(endpoint.as_ref())?;
            e.security_protocol = match protocol_map.get(&e.listener_name) {
                Some(protocol) => protocol.clone(),
                None if SECURITY_PROTOCOLS.contains(&e.listener_name.as_str()) => {
                    e.listener_name.clone()
                }
                None => {
                    return Err(EndpointError {
                        endpoint: endpoint.as_ref().to_string(),
                        detail: format!(
                            "listener {} is not in listener.security.protocol.map",
                            e.listener_name
                        ),
                    });
                }
            };
            parsed.push(e);
        }
        Ok(Self::from_endpoints(&parsed, rack))
    }

    /// A registration for already-parsed endpoints, stamped now.
    pub fn from_endpoints(endpoints: &[EndPoint], rack: Option<&str>) -> Self {
        let plaintext = endpoints
            .iter()
            .find(|e| e.security_protocol == "PLAINTEXT");
        BrokerRegistration {
            listener_security_protocol_map: endpoints
                .iter()
                .map(|e| (e.listener_name.clone(), e.security_protocol.clone()))
                .collect(),
            endpoints: endpoints.iter().map(EndPoint::connection_string).collect(),
            rack: rack.map(str::to_string),
            jmx_port: -1,
            features: BTreeMap::new(),
            host: plaintext.map(|e| e.host.clone()),
            timestamp: now_ms(),
            port: plaintext.map_or(-1, |e| i32::from(e.port)),
            version: Self::VERSION,
        }
    }

    /// Every advertised endpoint, with its security protocol. Registrations
    /// older than version 2 only have `host`/`port`, which mean PLAINTEXT.
    pub fn parsed_endpoints(&self) -> Result<Vec<EndPoint>, EndpointError> {
        if self.endpoints.is_empty() {
            return Ok(match (&self.host, u16::try_from(self.port)) {
                (Some(host), Ok(port)) => vec![EndPoint {
                    listener_name: "PLAINTEXT".to_string(),
                    security_protocol: "PLAINTEXT".to_string(),
                    host: host.clone(),
                    port,
                }],
                _ => Vec::new(),
            });
        }
        self.endpoints
            .iter()
            .map(|s| {
                let mut e = EndPoint::parse(s)?;
                if let Some(p) = self.listener_security_protocol_map.get(&e.listener_name) {
                    e.security_protocol = p.clone();
                }
                Ok(e)
            })
            .collect()
    }

    /// Where other brokers reach this one: the PLAINTEXT listener, else the
    /// first advertised endpoint, else the legacy host/port fields.
    pub fn inter_broker_endpoint(&self) -> Option<(String, u16)> {
        self.endpoint("PLAINTEXT")
            .or_else(|| {
                let first = self.parsed_endpoints().ok()?.into_iter().next()?;
                Some((first.host, first.port))
            })
            .or_else(|| {
                let host = self.host.clone()?;
                u16::try_from(self.port).ok().map(|port| (host, port))
            })
    }

    /// Host and port of the listener named `listener_name`, if advertised.
    pub fn endpoint(&self, listener_name: &str) -> Option<(String, u16)> {
        self.parsed_endpoints()
            .ok()?
            .into_iter()
            .find(|e| e.listener_name == listener_name)
            .map(|e| (e.host, e.port))
    }
}

// ---------------------------------------------------------------------------
// /cluster/id

/// `/cluster/id`: `{"version":"1","id":"<22-char base64 uuid>"}` (the version is a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterIdZnode {
    pub version: String,
    pub id: String,
}

impl ZnodeJson for ClusterIdZnode {}

impl ClusterIdZnode {
    pub fn new(id: impl Into<String>) -> Self {
        ClusterIdZnode {
            version: "1".to_string(),
            id: id.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// /brokers/topics/<t>

/// `/brokers/topics/<t>`, version 3:
/// `{"partitions":{"0":[1,2,3],...},"topic_id":"<uuid>","adding_replicas":{},"removing_replicas":{},"version":3}`.
/// Partition maps are keyed by partition number, so they are written in
/// numeric order (`0,1,2,...,10`) as Kafka does; JSON keys are strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicZnode {
    pub partitions: BTreeMap<i32, Vec<BrokerId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<String>,
    #[serde(default)]
    pub adding_replicas: BTreeMap<i32, Vec<BrokerId>>,
    #[serde(default)]
    pub removing_replicas: BTreeMap<i32, Vec<BrokerId>>,
    pub version: i32,
}

impl ZnodeJson for TopicZnode {}

impl TopicZnode {
    pub const VERSION: i32 = 3;

    /// A new topic's znode: the replica assignment and the topic id, nothing in flight.
    pub fn new(assignment: BTreeMap<i32, Vec<BrokerId>>, topic_id: impl Into<String>) -> Self {
        TopicZnode {
            partitions: assignment,
            topic_id: Some(topic_id.into()),
            adding_replicas: BTreeMap::new(),
            removing_replicas: BTreeMap::new(),
            version: Self::VERSION,
        }
    }

    /// Replicas per partition (the first replica is the preferred leader).
    pub fn assignment(&self) -> &BTreeMap<i32, Vec<BrokerId>> {
        &self.partitions
    }

    /// The topic id's 16 bytes, if present and well formed.
    pub fn topic_id_bytes(&self) -> Option<[u8; 16]> {
        self.topic_id.as_deref().and_then(decode_kafka_uuid)
    }
}

// ---------------------------------------------------------------------------
// /brokers/topics/<t>/partitions/<p>/state

/// `/brokers/topics/<t>/partitions/<p>/state`:
/// `{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionStateZnode {
    pub controller_epoch: i32,
    pub leader: BrokerId,
    pub version: i32,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    /// Kafka 3.2+ (KIP-704) writes this only while a leader is recovering (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_recovery_state: Option<i8>,
}

impl ZnodeJson for PartitionStateZnode {}

impl PartitionStateZnode {
    /// `leader` -1 means no leader (offline).
    pub fn new(
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        controller_epoch: i32,
    ) -> Self {
        PartitionStateZnode {
            controller_epoch,
            leader,
            version: 1,
            leader_epoch,
            isr,
            leader_recovery_state: None,
        }
    }
}

// ---------------------------------------------------------------------------
// /controller, /controller_epoch

/// `/controller` (ephemeral): `{"version":1,"brokerid":1,"timestamp":"<ms>"}`.
/// Kafka 3.4+ writes version 2 with an extra `kraftControllerEpoch`, which is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerZnode {
    pub version: i32,
    pub brokerid: BrokerId,
    #[serde(default, with = "i64_as_string")]
    pub timestamp: i64,
}

impl ZnodeJson for ControllerZnode {}

impl ControllerZnode {
    pub fn new(broker_id: BrokerId) -> Self {
        ControllerZnode {
            version: 1,
            brokerid: broker_id,
            timestamp: now_ms(),
        }
    }
}

/// The bytes of `/controller_epoch`: a plain decimal.
pub fn encode_controller_epoch(epoch: i32) -> Vec<u8> {
    encode_decimal(epoch)
}

/// Parses `/controller_epoch`.
pub fn decode_controller_epoch(path: &str, bytes: &[u8]) -> Result<i32, ZkError> {
    decode_decimal(path, bytes)
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
