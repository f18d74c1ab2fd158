//! `sluice leader-election`: Kafka 3.x's kafka-leader-election.sh. Sends
//! ElectLeaders (preferred or unclean) to the controller for every partition
//! (--all-topic-partitions), one (--topic + --partition) or those listed in
//! a JSON file (--path-to-json-file, `{"partitions":[{"topic":"t",
//! "partition":0}]}`), and prints Kafka's lines: `Successfully completed
//! leader election (PREFERRED) for partitions t-0, t-1`, `Valid replica
//! already elected for partitions ...`; failures make exit code 1.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::*;
use serde_json::Value;

use super::admin_client::{
    Admin, ToolError, ToolResult, check, describe_error, emit, read_file, sb,
};

const TIMEOUT_MS: i32 = 30_000;

/// The command line, as kafka-leader-election.sh spells it.
#[derive(clap::Args, Debug)]
pub struct LeaderElectionArgs {
    /// HOST:PORT[,HOST:PORT...] of any broker.
    #[arg(long = "bootstrap-server")]
    pub bootstrap_server: String,
    /// preferred or unclean.
    #[arg(long = "election-type")]
    pub election_type: Option<String>,
    /// Elect leaders for every partition.
    #[arg(long = "all-topic-partitions")]
    pub all_topic_partitions: bool,
    /// The topic of the one partition to elect (with --partition).
    #[arg(long)]
    pub topic: Option<String>,
    /// The partition to elect (with --topic).
    #[arg(long)]
    pub partition: Option<i32>,
    /// A JSON file: {"partitions":[{"topic":"t","partition":0}]}.
    #[arg(long = "path-to-json-file")]
    pub path_to_json_file: Option<String>,
}

/// Runs the tool, writing what kafka-leader-election.sh prints to `out`.
pub fn run(args: &LeaderElectionArgs, out: &mut dyn Write) -> ToolResult<()> {
    let (election_type, label) = match args.election_type.as_deref().map(str::to_lowercase) {
        Some(t) if t == "preferred" => (0i8, "PREFERRED"),
        Some(t) if t == "unclean" => (1i8, "UNCLEAN"),
        Some(other) => {
            return Err(ToolError::Usage(format!(
                "Invalid --election-type '{other}': use preferred or unclean"
            )));
        }
        None => {
            return Err(ToolError::Usage(
                "Missing required option(s) [election-type]: add --election-type preferred (or unclean)"
                    .to_string(),
            ));
        }
    };
    let sources = [
        args.all_topic_partitions,
        args.topic.is_some(),
        args.path_to_json_file.is_some(),
    ];
    if sources.iter().filter(|b| **b).count() != 1 {
        return Err(ToolError::Usage(
            "One and only one of the following options is required: --all-topic-partitions, --topic (with --partition), --path-to-json-file"
                .to_string(),
        ));
    }
    if args.topic.is_some() != args.partition.is_some() {
        return Err(ToolError::Usage(
            "--topic and --partition go together: name one partition, e.g. --topic t --partition 0"
                .to_string(),
        ));
    }
    let selection: Option<Vec<(String, i32)>> = if args.all_topic_partitions {
        None
    } else if let (Some(t), Some(p)) = (&args.topic, args.partition) {
        Some(vec![(t.clone(), p)])
    } else {
        Some(parse_partitions(&read_file(
            args.path_to_json_file.as_deref().unwrap_or_default(),
        )?)?)
    };
    let mut admin = Admin::connect(&args.bootstrap_server)?;
    let version = admin.version::<ElectLeadersRequest>()?;
    if version == 0 && election_type != 0 {
        return Err(ToolError::Usage(
            "this broker only supports preferred leader elections".to_string(),
        ));
    }
    let mut request = ElectLeadersRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topic_partitions(selection.map(|tps| {
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (t, p) in tps {
                by_topic.entry(t).or_default().push(p);
            }
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    TopicPartitions::default()
                        .with_topic(TopicName(sb(&t)))
                        .with_partitions(ps)
                })
                .collect()
        }));
    if version >= 1 {
        request.election_type = election_type;
    }
    let cluster = admin.metadata(Some(&[]))?;
    let response = admin.send_to_controller(&cluster, version, &request)?;
    check(response.error_code, None, "leader election failed")?;
    let mut results: Vec<(String, i32, i16, Option<String>)> = Vec::new();
    for t in &response.replica_election_results {
        for p in &t.partition_result {
            results.push((
                t.topic.0.to_string(),
                p.partition_id,
                p.error_code,
                p.error_message.as_ref().map(|m| m.to_string()),
            ));
        }
    }
    results.sort();
    let name = |(t, p, _, _): &(String, i32, i16, Option<String>)| format!("{t}-{p}");
    let succeeded: Vec<String> = results.iter().filter(|r| r.2 == 0).map(name).collect();
    let noop: Vec<String> = results
        .iter()
        .filter(|r| r.2 == ResponseError::ElectionNotNeeded.code())
        .map(name)
        .collect();
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.2 != 0 && r.2 != ResponseError::ElectionNotNeeded.code())
        .collect();
    let mut text = String::new();
    if !succeeded.is_empty() {
        let _ = writeln!(
            text,
            "Successfully completed leader election ({label}) for partitions {}",
            succeeded.join(", ")
        );
    }
    if !noop.is_empty() {
        let _ = writeln!(
            text,
            "Valid replica already elected for partitions {}",
            noop.join(", ")
        );
    }
    for r in &failed {
        let error = ResponseError::try_from_code(r.2).unwrap_or(ResponseError::UnknownServerError);
        let message =
            r.3.clone()
                .map(kafka_protocol::protocol::StrBytes::from_string);
        let _ = writeln!(
            text,
            "Error completing leader election ({label}) for partition: {}: {}",
            name(r),
            describe_error(error, message.as_ref())
        );
    }
    emit(out, &text)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ToolError::Failed {
            what: "leader election".to_string(),
            message: format!("{} replica(s) could not be elected", failed.len()),
        })
    }
}

/// `{"partitions":[{"topic":"t","partition":0}]}` -> (topic, partition)s.
fn parse_partitions(text: &str) -> ToolResult<Vec<(String, i32)>> {
    let bad = |detail: &str| {
        ToolError::Usage(format!(
            "Invalid --path-to-json-file content: {detail}. Expected {{\"partitions\":[{{\"topic\":\"t\",\"partition\":0}}]}}"
        ))
    };
    let json: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let list = json
        .get("partitions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"partitions\" array"))?;
    let mut out = Vec::with_capacity(list.len());
    for p in list {
        let topic = p.get("topic").and_then(Value::as_str);
        let partition = p
            .get("partition")
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok());
        match (topic, partition) {
            (Some(t), Some(n)) => out.push((t.to_string(), n)),
            _ => return Err(bad("every entry needs \"topic\" and \"partition\"")),
        }
    }
    let mut dedup = out.clone();
    dedup.sort();
    dedup.dedup();
    if dedup.len() != out.len() {
        return Err(bad("a partition is listed twice"));
    }
    Ok(out)
}
