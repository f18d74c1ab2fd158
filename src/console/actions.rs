//! The console's write actions, refused unless `console.writes.enable=true`:
//! create a topic, change a topic's configs, delete records, reset a
//! group's offsets, elect preferred leaders. Each is a `POST` under
//! `/api/v1` with a JSON body (`Content-Type: application/json`, which a
//! page of another site cannot send without a CORS preflight, which this
//! listener refuses); each is carried out by the broker that must do it
//! (`admin_calls.rs`). The answer lists what happened to each thing
//! touched: 200 when all went through, 409 with Kafka's error names when
//! something was refused.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::admin_calls::{self, NewTopic, Outcome};
use super::broker_calls::{self, CONSUMER_REPLICA_ID, EARLIEST, LATEST};
use super::error::{ConsoleError, JSON};
use super::group_calls;
use super::sources::ConsoleSources;
use crate::metadata::{BrokerEndpoint, ClusterSnapshot};
use crate::metrics::HttpResponse;
use crate::model::TopicPartition;

/// A write the console can make, with the names its path gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteAction {
    /// `POST /api/v1/topics`
    CreateTopic,
    /// `POST /api/v1/topics/<name>/configs`
    AlterTopicConfigs(String),
    /// `POST /api/v1/topics/<name>/delete-records`
    DeleteRecords(String),
    /// `POST /api/v1/groups/<id>/reset-offsets`
    ResetOffsets(String),
    /// `POST /api/v1/topics/<name>/preferred-election`
    PreferredElection(String),
}

/// `POST /api/v1/topics`: `{"name", "partitions"?, "replication_factor"?, "configs"?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTopicBody {
    name: String,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

/// `POST .../configs`: `{"set": {key: value}, "delete": [key]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlterConfigsBody {
    #[serde(default)]
    set: BTreeMap<String, String>,
    #[serde(default)]
    delete: Vec<String>,
}

/// `POST .../delete-records`: `{"partition", "offset"?}` (no offset: up to
/// the high watermark).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteRecordsBody {
    partition: i32,
    offset: Option<i64>,
}

/// `POST .../reset-offsets`: `{"topic", "partitions"?, "to"}`, `to` being
/// `"earliest"`, `"latest"` or an offset (kept within the log, as
/// kafka-consumer-groups.sh --to-offset does).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetOffsetsBody {
    topic: String,
    partitions: Option<Vec<i32>>,
    to: ResetTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
enum ResetTo {
    Named(Position),
    Offset(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Position {
    Earliest,
    Latest,
}

/// `POST .../preferred-election`: `{"partitions"?}` (none: every partition).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ElectionBody {
    partitions: Option<Vec<i32>>,
}

fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ConsoleError> {
    serde_json::from_slice(bytes).map_err(|e| ConsoleError::BadRequest(format!("body: {e}")))
}

/// Carries out `action` with the request's JSON `payload`.
pub async fn perform(
    console: &ConsoleSources,
    action: &WriteAction,
    payload: &[u8],
) -> Result<HttpResponse, ConsoleError> {
    let snapshot = console.metadata.snapshot();
    let outcomes = match action {
        WriteAction::CreateTopic => {
            let b: CreateTopicBody = body(payload)?;
            let topic = NewTopic {
                name: b.name,
                partitions: b.partitions.unwrap_or(-1),
                replication_factor: b.replication_factor.unwrap_or(-1),
                configs: b.configs,
            };
            admin_calls::create_topic(controller(&snapshot)?, &topic).await?
        }
        WriteAction::AlterTopicConfigs(topic) => {
            let b: AlterConfigsBody = body(payload)?;
            if b.set.is_empty() && b.delete.is_empty() {
                return Err(ConsoleError::BadRequest("nothing to set or delete".into()));
            }
            admin_calls::alter_topic_configs(me(console, &snapshot)?, topic, &b.set, &b.delete)
                .await?
        }
        WriteAction::DeleteRecords(topic) => {
            let b: DeleteRecordsBody = body(payload)?;
            let leader = leader(&snapshot, topic, b.partition)?;
            admin_calls::delete_records(leader, topic, b.partition, b.offset.unwrap_or(-1)).await?
        }
        WriteAction::PreferredElection(topic) => {
            let b: ElectionBody = body(payload)?;
            let partitions = match b.partitions {
                Some(p) => p,
                None => partitions_of(&snapshot, topic)?,
            };
            admin_calls::elect_preferred_leaders(controller(&snapshot)?, topic, &partitions).await?
        }
        WriteAction::ResetOffsets(group) => {
            let b: ResetOffsetsBody = body(payload)?;
            reset_offsets(console, &snapshot, group, &b).await?
        }
    };
    Ok(answer(&outcomes))
}

/// 200 when every outcome went through, else 409 naming the refusals.
fn answer(outcomes: &[Outcome]) -> HttpResponse {
    let refused: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {e}", o.target)))
        .collect();
    let mut value = serde_json::json!({ "ok": refused.is_empty(), "outcomes": outcomes });
    let status = if refused.is_empty() {
        200
    } else {
        value["error"] = refused.join("; ").into();
        409
    };
    HttpResponse::new(status, JSON, value.to_string())
}

async fn reset_offsets(
    console: &ConsoleSources,
    snapshot: &ClusterSnapshot,
    group: &str,
    b: &ResetOffsetsBody,
) -> Result<Vec<Outcome>, ConsoleError> {
    let partitions = match &b.partitions {
        Some(p) => p.clone(),
        None => partitions_of(snapshot, &b.topic)?,
    };
    let coordinator = group_calls::find_coordinator(me(console, snapshot)?, group).await?;
    let described = group_calls::describe_groups(&coordinator, &[group.to_owned()]).await?;
    if let Some(d) = described.first() {
        let state = d.group_state.as_str();
        if state != "Empty" && state != "Dead" {
            return Err(ConsoleError::Conflict(format!(
                "group {group} is {state}: offsets can be reset only while it has no members"
            )));
        }
    }
    let mut by_leader: BTreeMap<crate::model::BrokerId, Vec<TopicPartition>> = BTreeMap::new();
    for p in &partitions {
        let leader = leader(snapshot, &b.topic, *p)?;
        by_leader
            .entry(leader.id)
            .or_default()
            .push(TopicPartition::new(b.topic.clone(), *p));
    }
    let mut offsets = Vec::with_capacity(partitions.len());
    for (leader_id, tps) in by_leader {
        let leader = &snapshot.brokers[&leader_id];
        let earliest = broker_calls::offsets(leader, &tps, EARLIEST, CONSUMER_REPLICA_ID).await?;
        let latest = broker_calls::offsets(leader, &tps, LATEST, CONSUMER_REPLICA_ID).await?;
        for tp in tps {
            let bound =
                |answers: &BTreeMap<TopicPartition, Result<i64, i16>>| match answers.get(&tp) {
                    Some(Ok(o)) => Ok(*o),
                    Some(Err(code)) => Err(ConsoleError::Conflict(format!(
                        "{tp}: ListOffsets answered error code {code}"
                    ))),
                    None => Err(ConsoleError::Conflict(format!(
                        "{tp}: no ListOffsets answer"
                    ))),
                };
            let (low, high) = (bound(&earliest)?, bound(&latest)?);
            let target = match b.to {
                ResetTo::Named(Position::Earliest) => low,
                ResetTo::Named(Position::Latest) => high,
                ResetTo::Offset(o) => o.clamp(low, high),
            };
            offsets.push((tp.partition, target));
        }
    }
    admin_calls::commit_offsets(&coordinator, group, &b.topic, &offsets).await
}

fn controller(snapshot: &ClusterSnapshot) -> Result<&BrokerEndpoint, ConsoleError> {
    snapshot
        .controller_id
        .and_then(|id| snapshot.brokers.get(&id))
        .ok_or_else(|| ConsoleError::Conflict("no controller is known right now".into()))
}

fn me<'a>(
    console: &ConsoleSources,
    snapshot: &'a ClusterSnapshot,
) -> Result<&'a BrokerEndpoint, ConsoleError> {
    snapshot
        .brokers
        .get(&console.broker_id)
        .ok_or_else(|| ConsoleError::Conflict("this broker is not in its own metadata yet".into()))
}

fn leader<'a>(
    snapshot: &'a ClusterSnapshot,
    topic: &str,
    partition: i32,
) -> Result<&'a BrokerEndpoint, ConsoleError> {
    let p = snapshot
        .topics
        .get(topic)
        .and_then(|t| t.partitions.get(&partition))
        .ok_or_else(|| ConsoleError::NotFound(format!("partition {topic}-{partition}")))?;
    snapshot
        .brokers
        .get(&p.leader)
        .ok_or_else(|| ConsoleError::Conflict(format!("{topic}-{partition} has no live leader")))
}

fn partitions_of(snapshot: &ClusterSnapshot, topic: &str) -> Result<Vec<i32>, ConsoleError> {
    snapshot
        .topics
        .get(topic)
        .map(|t| t.partitions.keys().copied().collect())
        .ok_or_else(|| ConsoleError::NotFound(format!("topic {topic}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_read_strictly() {
        let b: CreateTopicBody =
            body(br#"{"name":"t","partitions":3,"configs":{"cleanup.policy":"compact"}}"#).unwrap();
        assert_eq!(
            (b.name.as_str(), b.partitions, b.replication_factor),
            ("t", Some(3), None)
        );
        assert_eq!(b.configs["cleanup.policy"], "compact");
        assert!(body::<CreateTopicBody>(br#"{"name":"t","partitons":3}"#).is_err());
        assert!(body::<CreateTopicBody>(b"not json").is_err());
        let r: ResetOffsetsBody = body(br#"{"topic":"t","to":"earliest"}"#).unwrap();
        assert_eq!(r.to, ResetTo::Named(Position::Earliest));
        let r: ResetOffsetsBody = body(br#"{"topic":"t","partitions":[0,2],"to":17}"#).unwrap();
        assert_eq!(
            (r.to, r.partitions),
            (ResetTo::Offset(17), Some(vec![0, 2]))
        );
        assert!(body::<ResetOffsetsBody>(br#"{"topic":"t","to":"middle"}"#).is_err());
        let d: DeleteRecordsBody = body(br#"{"partition":1}"#).unwrap();
        assert_eq!((d.partition, d.offset), (1, None));
    }

    #[test]
    fn answers_are_200_or_409_naming_the_refusals() {
        let ok = answer(&[Outcome {
            target: "t".into(),
            error: None,
        }]);
        assert_eq!(ok.status, 200);
        let refused = answer(&[
            Outcome {
                target: "t-0".into(),
                error: None,
            },
            Outcome {
                target: "t-1".into(),
                error: Some("OFFSET_OUT_OF_RANGE".into()),
            },
        ]);
        assert_eq!(refused.status, 409);
        let v: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"], "t-1: OFFSET_OUT_OF_RANGE");
    }
}
