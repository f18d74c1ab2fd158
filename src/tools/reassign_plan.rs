//! Kafka's reassignment JSON (`{"version":1,"partitions":[{"topic":"t",
//! "partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}`) as a
//! [`Plan`]: parsed and checked for `reassign-partitions --execute`,
//! `--verify` and `--cancel`, and printed for rollbacks and `--generate`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::admin_client::{ToolError, ToolResult, join_ids};
use crate::model::BrokerId;

/// (topic, partition) -> target replicas, in file order checked for duplicates.
pub type Plan = BTreeMap<(String, i32), Vec<BrokerId>>;

fn bad_json(detail: impl std::fmt::Display) -> ToolError {
    ToolError::Usage(format!(
        "Invalid reassignment JSON: {detail}. Expected {{\"version\":1,\"partitions\":[{{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,2]}}]}}"
    ))
}

/// Parses and checks Kafka's reassignment JSON.
pub fn parse_plan(text: &str) -> ToolResult<Plan> {
    let json: Value = serde_json::from_str(text).map_err(bad_json)?;
    let partitions = json
        .get("partitions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_json("no \"partitions\" array"))?;
    if partitions.is_empty() {
        return Err(ToolError::Usage(
            "Partition reassignment list cannot be empty".to_string(),
        ));
    }
    let mut plan = Plan::new();
    for p in partitions {
        let topic = p
            .get("topic")
            .and_then(Value::as_str)
            .ok_or_else(|| bad_json("an entry has no \"topic\" string"))?;
        let partition = p
            .get("partition")
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| bad_json(format!("{topic}: no integer \"partition\"")))?;
        let replicas: Vec<BrokerId> = p
            .get("replicas")
            .and_then(Value::as_array)
            .ok_or_else(|| bad_json(format!("{topic}-{partition}: no \"replicas\" array")))?
            .iter()
            .map(|r| r.as_i64().and_then(|n| i32::try_from(n).ok()).map(BrokerId))
            .collect::<Option<_>>()
            .ok_or_else(|| bad_json(format!("{topic}-{partition}: replicas must be broker ids")))?;
        if replicas.is_empty() {
            return Err(ToolError::Usage(format!(
                "Partition replica list cannot be empty ({topic}-{partition})"
            )));
        }
        let unique: BTreeSet<BrokerId> = replicas.iter().copied().collect();
        if unique.len() != replicas.len() {
            return Err(ToolError::Usage(format!(
                "Partition replica lists may not contain duplicate entries: {topic}-{partition} has {}",
                join_ids(replicas.iter().copied())
            )));
        }
        if let Some(dirs) = p.get("log_dirs") {
            let dirs = dirs
                .as_array()
                .ok_or_else(|| bad_json("\"log_dirs\" must be an array"))?;
            if dirs.len() != replicas.len() {
                return Err(ToolError::Usage(format!(
                    "Size of replicas list {replicas:?} is different from size of log dirs list for partition {topic}-{partition}"
                )));
            }
            if dirs.iter().any(|d| d.as_str() != Some("any")) {
                return Err(ToolError::Usage(format!(
                    "{topic}-{partition}: Sluice does not move replicas between log directories; set every log_dirs entry to \"any\""
                )));
            }
        }
        if plan
            .insert((topic.to_string(), partition), replicas)
            .is_some()
        {
            return Err(ToolError::Usage(format!(
                "Cannot reassign a partition twice: {topic}-{partition} appears more than once"
            )));
        }
    }
    Ok(plan)
}

/// Kafka's reassignment JSON of `assignment`, keys in Kafka's order.
pub fn format_json(assignment: &Plan) -> String {
    let entries: Vec<String> = assignment
        .iter()
        .map(|((topic, partition), replicas)| {
            format!(
                "{{\"topic\":{},\"partition\":{partition},\"replicas\":[{}],\"log_dirs\":[{}]}}",
                Value::String(topic.clone()),
                join_ids(replicas.iter().copied()),
                vec!["\"any\""; replicas.len()].join(",")
            )
        })
        .collect();
    format!("{{\"version\":1,\"partitions\":[{}]}}", entries.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_round_trips_through_kafkas_json() {
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]},{"topic":"t","partition":0,"replicas":[1,2]}]}"#;
        let plan = parse_plan(text).unwrap();
        assert_eq!(
            format_json(&plan),
            r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}]}"#
        );
    }

    #[test]
    fn bad_plans_are_refused() {
        for bad in [
            "{}",
            r#"{"partitions":[]}"#,
            r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}"#,
            r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["/x"]}]}"#,
            r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}"#,
        ] {
            assert!(parse_plan(bad).is_err(), "{bad}");
        }
    }
}
