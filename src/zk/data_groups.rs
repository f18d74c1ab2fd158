//! The JSON of the consumer-group znodes Sluice's group coordinator writes
//! under `/consumers/<group>` (Kafka 0.8's place for consumer groups):
//!
//! - `/consumers/<g>/owner`: the broker that coordinates the group
//!   ([`GroupOwnerZnode`]); its data version fences every group write.
//! - data of `/consumers/<g>`: the group's generation, protocol, leader and
//!   state ([`GroupStateZnode`]).
//! - `/consumers/<g>/ids/<member>`: one member, in 0.8's JSON shape plus
//!   what the classic rebalance protocol needs ([`MemberZnode`]).
//! - `/consumers/<g>/owners/<t>/<p>`: the member id owning the partition
//!   (plain text, as 0.8 consumers wrote their consumer ids).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::data::{ZnodeJson, i64_as_string};
use crate::model::BrokerId;

/// The broker id of a released owner record.
pub const NO_OWNER: BrokerId = BrokerId(-1);

/// `/consumers/<g>/owner`:
/// `{"version":1,"broker_id":2,"broker_epoch":4294967312,"timestamp":"<ms>"}`.
/// `broker_epoch` is the czxid of the owner's `/brokers/ids/<id>` when it took
/// the group; a released record has `broker_id` and `broker_epoch` -1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupOwnerZnode {
    pub version: i32,
    pub broker_id: BrokerId,
    pub broker_epoch: i64,
    #[serde(default, with = "i64_as_string")]
    pub timestamp: i64,
}

impl ZnodeJson for GroupOwnerZnode {}

impl GroupOwnerZnode {
    pub fn held_by(broker_id: BrokerId, broker_epoch: i64, timestamp: i64) -> GroupOwnerZnode {
        GroupOwnerZnode {
            version: 1,
            broker_id,
            broker_epoch,
            timestamp,
        }
    }

    pub fn released(timestamp: i64) -> GroupOwnerZnode {
        GroupOwnerZnode::held_by(NO_OWNER, -1, timestamp)
    }

    pub fn is_released(&self) -> bool {
        self.broker_id == NO_OWNER
    }
}

/// The data of `/consumers/<g>`:
/// `{"version":1,"state":"Stable","generation":3,"protocol_type":"consumer","protocol":"range","leader":"<member>","current_state_timestamp":"<ms>"}`.
/// `state` is `Stable`, `Empty` or `PreparingRebalance` (written when
/// members left and the group must rebalance); `current_state_timestamp` is
/// when the group entered that state (Kafka's name: offsets of an empty group
/// expire `offsets.retention.minutes` after it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStateZnode {
    pub version: i32,
    pub state: String,
    pub generation: i32,
    #[serde(default)]
    pub protocol_type: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub leader: Option<String>,
    #[serde(default, with = "i64_as_string")]
    pub current_state_timestamp: i64,
}

impl ZnodeJson for GroupStateZnode {}

/// One of a member's protocols: name and base64 metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProtocol {
    pub name: String,
    #[serde(with = "base64_bytes")]
    pub metadata: Vec<u8>,
}

/// `/consumers/<g>/ids/<member>`: 0.8's registration
/// (`{"version":1,"subscription":{"<topic>":1},"pattern":"static","timestamp":"<ms>"}`)
/// followed by Sluice's fields: `member_id`, `group_instance_id`,
/// `client_id`, `client_host`, `session_timeout_ms`, `rebalance_timeout_ms`,
/// `protocols` (`[{"name":"range","metadata":"<base64>"}]`) and `assignment`
/// (base64 of the leader's assignment for the member). A record without
/// `member_id` was written by an old ZooKeeper-based consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberZnode {
    pub version: i32,
    #[serde(default)]
    pub subscription: BTreeMap<String, i32>,
    #[serde(default)]
    pub pattern: String,
    #[serde(default, with = "i64_as_string")]
    pub timestamp: i64,
    pub member_id: String,
    #[serde(default)]
    pub group_instance_id: Option<String>,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    #[serde(default)]
    pub protocols: Vec<MemberProtocol>,
    #[serde(default, with = "base64_bytes")]
    pub assignment: Vec<u8>,
}

impl ZnodeJson for MemberZnode {}

/// Bytes as standard base64 text.
mod base64_bytes {
    use super::{Engine, STANDARD};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| D::Error::custom(format!("bad base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_state_and_member_json_round_trip_in_the_documented_shape() {
        let owner = GroupOwnerZnode::held_by(BrokerId(2), 77, 1000);
        let bytes = owner.encode("/o").unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"version":1,"broker_id":2,"broker_epoch":77,"timestamp":"1000"}"#
        );
        assert_eq!(GroupOwnerZnode::decode("/o", &bytes).unwrap(), owner);
        assert!(GroupOwnerZnode::released(5).is_released());

        let member = MemberZnode {
            version: 1,
            subscription: BTreeMap::from([("t".to_string(), 1)]),
            pattern: "static".to_string(),
            timestamp: 5,
            member_id: "c-1".to_string(),
            group_instance_id: None,
            client_id: "c".to_string(),
            client_host: "/127.0.0.1".to_string(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 300_000,
            protocols: vec![MemberProtocol {
                name: "range".to_string(),
                metadata: vec![0, 1, 2],
            }],
            assignment: vec![9],
        };
        let text = String::from_utf8(member.encode("/m").unwrap()).unwrap();
        assert!(
            text.starts_with(
                r#"{"version":1,"subscription":{"t":1},"pattern":"static","timestamp":"5","member_id":"c-1""#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#""protocols":[{"name":"range","metadata":"AAEC"}],"assignment":"CQ==""#
            )
        );
        assert_eq!(MemberZnode::decode("/m", text.as_bytes()).unwrap(), member);
        // An old ZooKeeper consumer's registration is not a Sluice member.
        let old = br#"{"version":1,"subscription":{"t":1},"pattern":"static","timestamp":"1"}"#;
        assert!(MemberZnode::decode("/m", old).is_err());
    }
}
