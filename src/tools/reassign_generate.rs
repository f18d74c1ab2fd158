//! `sluice reassign-partitions --generate`: Kafka 3.x's proposal of a new
//! replica assignment for whole topics. Reads Kafka's topics-to-move JSON
//! (`{"topics":[{"topic":"foo"}],"version":1}`) and `--broker-list 1,2,3`,
//! takes each topic's current assignment from Metadata, and proposes one made
//! with Kafka's rack-unaware scheme (`crate::assignment`, random start) over
//! the listed brokers that are live, keeping each topic's partition count and
//! replication factor. Prints Kafka's two blocks, "Current partition replica
//! assignment" (save it for a rollback) and "Proposed partition reassignment
//! configuration"; changes nothing.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::Value;

use super::admin_client::{Admin, ToolError, ToolResult, emit, join_ids};
use super::reassign_plan::{Plan, format_json};
use crate::assignment::assign_replicas_randomly;
use crate::model::BrokerId;

/// Parses Kafka's topics-to-move JSON into topic names, in file order.
pub fn parse_topics_to_move(text: &str) -> ToolResult<Vec<String>> {
    let bad = |detail: &str| {
        ToolError::Usage(format!(
            "Invalid topics-to-move JSON: {detail}. Expected {{\"topics\":[{{\"topic\":\"foo\"}}],\"version\":1}}"
        ))
    };
    let json: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    if let Some(version) = json.get("version")
        && version.as_i64() != Some(1)
    {
        return Err(ToolError::Usage(format!(
            "Not supported version field value {version}"
        )));
    }
    let entries = json
        .get("topics")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"topics\" array"))?;
    let topics: Vec<String> = entries
        .iter()
        .map(|e| e.get("topic").and_then(Value::as_str).map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("every entry needs a \"topic\" string"))?;
    if topics.is_empty() {
        return Err(ToolError::Usage(
            "The topics-to-move JSON lists no topics: add {\"topic\":\"NAME\"} entries".to_string(),
        ));
    }
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<&String> = topics.iter().filter(|t| !seen.insert(*t)).collect();
    if !duplicates.is_empty() {
        return Err(ToolError::Usage(format!(
            "List of topics to reassign contains duplicate entries: {}",
            duplicates
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    Ok(topics)
}

/// Parses `--broker-list 1,2,3`.
pub fn parse_broker_list(text: &str) -> ToolResult<Vec<BrokerId>> {
    let ids: Vec<BrokerId> = text
        .split(',')
        .map(|b| b.trim().parse::<i32>().map(BrokerId))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ToolError::Usage(format!(
                "Invalid --broker-list '{text}': expected broker ids separated by commas, e.g. 1,2,3"
            ))
        })?;
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<BrokerId> = ids.iter().copied().filter(|b| !seen.insert(*b)).collect();
    if !duplicates.is_empty() {
        return Err(ToolError::Usage(format!(
            "Broker list contains duplicate entries: {}",
            join_ids(duplicates)
        )));
    }
    Ok(ids)
}

/// Prints the current assignment of `topics` and a proposal over `brokers`.
pub fn generate(
    admin: &mut Admin,
    topics: &[String],
    brokers: &[BrokerId],
    out: &mut dyn Write,
) -> ToolResult<()> {
    let cluster = admin.metadata(Some(topics))?;
    let mut current = Plan::new();
    for topic in topics {
        let info = cluster
            .topics
            .get(topic)
            .ok_or_else(|| ToolError::UnknownTopic(topic.clone()))?;
        for (partition, part) in &info.partitions {
            current.insert((topic.clone(), *partition), part.replicas.clone());
        }
    }
    // Like Kafka: only the listed brokers that the cluster knows take part.
    let live: Vec<BrokerId> = brokers
        .iter()
        .copied()
        .filter(|b| cluster.brokers.contains_key(b))
        .collect();
    let absent: Vec<BrokerId> = brokers
        .iter()
        .copied()
        .filter(|b| !cluster.brokers.contains_key(b))
        .collect();
    if !absent.is_empty() {
        eprintln!(
            "Warning: broker{} {} in --broker-list {} not live and left out (live brokers: {})",
            if absent.len() == 1 { "" } else { "s" },
            join_ids(absent.iter().copied()),
            if absent.len() == 1 { "is" } else { "are" },
            cluster.broker_list()
        );
    }
    let mut proposed = Plan::new();
    for topic in topics {
        let partitions = &cluster.topics[topic].partitions;
        let Some(first) = partitions.values().next() else {
            continue;
        };
        let assignment =
            assign_replicas_randomly(&live, partitions.len() as i32, first.replicas.len(), 0)
                .map_err(|e| ToolError::Failed {
                    what: format!("cannot propose an assignment for '{topic}'"),
                    message: format!(
                        "{e} (brokers in --broker-list that are live: {})",
                        join_ids(live.iter().copied())
                    ),
                })?;
        for (partition, replicas) in assignment {
            proposed.insert((topic.clone(), partition), replicas);
        }
    }
    emit(
        out,
        &format!(
            "Current partition replica assignment\n{}\n\nProposed partition reassignment configuration\n{}\n",
            format_json(&current),
            format_json(&proposed)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_to_move_and_broker_lists_parse_like_kafka() {
        assert_eq!(
            parse_topics_to_move(r#"{"topics":[{"topic":"a"},{"topic":"b"}],"version":1}"#)
                .unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
        for bad in [
            "{}",
            r#"{"topics":[]}"#,
            r#"{"topics":[{"topic":"a"}],"version":2}"#,
            r#"{"topics":[{"topic":"a"},{"topic":"a"}]}"#,
        ] {
            assert!(parse_topics_to_move(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_broker_list("1, 2,3").unwrap(),
            crate::model::ids(&[1, 2, 3])
        );
        assert!(parse_broker_list("1,x").is_err());
        let dup = parse_broker_list("1,2,1").unwrap_err().to_string();
        assert_eq!(dup, "Broker list contains duplicate entries: 1");
    }
}
