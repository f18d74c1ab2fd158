//! `sluice reassign-partitions`: Kafka 3.x's kafka-reassign-partitions.sh
//! --execute and --verify over the Kafka protocol. The JSON file is Kafka's
//! (`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],
//! "log_dirs":["any","any"]}]}`). --execute prints the current assignment as
//! rollback JSON and sends AlterPartitionReassignments to the controller;
//! --verify compares ListPartitionReassignments and Metadata with the file
//! and prints `Reassignment of partition t-0 is completed.` or `... is
//! still in progress.`, then clears replication throttles once all are done;
//! --cancel sends AlterPartitionReassignments with no target replicas for the
//! file's partitions that are moving (`Successfully cancelled partition
//! reassignment for: t-0`), then clears the throttles; --generate proposes an
//! assignment (`reassign_generate.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::*;

use super::admin_client::{
    Admin, ClusterMetadata, ToolError, ToolResult, check, emit, join_ids, one_action, read_file, sb,
};
use super::reassign_generate;
use super::reassign_plan::{Plan, format_json, parse_plan};
use crate::model;

const TIMEOUT_MS: i32 = 30_000;

/// The command line, as kafka-reassign-partitions.sh spells it.
#[derive(clap::Args, Debug)]
pub struct ReassignPartitionsArgs {
    /// HOST:PORT[,HOST:PORT...] of any broker.
    #[arg(long = "bootstrap-server")]
    pub bootstrap_server: String,
    /// The reassignment JSON: {"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..]}]}.
    #[arg(long = "reassignment-json-file")]
    pub reassignment_json_file: Option<String>,
    /// Propose an assignment of the topics in --topics-to-move-json-file over --broker-list.
    #[arg(long)]
    pub generate: bool,
    /// Start the reassignment in the file.
    #[arg(long)]
    pub execute: bool,
    /// Check whether the reassignment in the file is done (and clear throttles once it is).
    #[arg(long)]
    pub verify: bool,
    /// Cancel the moves of the file's partitions that are in progress (replicas go back).
    #[arg(long)]
    pub cancel: bool,
    /// With --generate: {"topics":[{"topic":"foo"}],"version":1}.
    #[arg(long = "topics-to-move-json-file")]
    pub topics_to_move_json_file: Option<String>,
    /// With --generate: the brokers to spread the replicas over, e.g. 1,2,3.
    #[arg(long = "broker-list")]
    pub broker_list: Option<String>,
    /// With --generate: ignore racks (Sluice's assignment is rack-unaware already).
    #[arg(long = "disable-rack-aware")]
    pub disable_rack_aware: bool,
    /// With --execute: start even if other reassignments are in progress.
    #[arg(long)]
    pub additional: bool,
    /// With --verify / --cancel: keep the replication throttles.
    #[arg(long = "preserve-throttles")]
    pub preserve_throttles: bool,
}

/// Runs the tool, writing what kafka-reassign-partitions.sh prints to `out`.
pub fn run(args: &ReassignPartitionsArgs, out: &mut dyn Write) -> ToolResult<()> {
    let action = one_action(&[
        (args.generate, "--generate"),
        (args.execute, "--execute"),
        (args.verify, "--verify"),
        (args.cancel, "--cancel"),
    ])?;
    if action == 0 {
        let missing = |name: &str| {
            ToolError::Usage(format!(
                "Missing required argument \"[{name}]\": --generate needs --topics-to-move-json-file FILE and --broker-list 1,2,3"
            ))
        };
        let file = args
            .topics_to_move_json_file
            .as_ref()
            .ok_or_else(|| missing("topics-to-move-json-file"))?;
        let brokers = args
            .broker_list
            .as_ref()
            .ok_or_else(|| missing("broker-list"))?;
        let brokers = reassign_generate::parse_broker_list(brokers)?;
        let topics = reassign_generate::parse_topics_to_move(&read_file(file)?)?;
        let mut admin = Admin::connect(&args.bootstrap_server)?;
        return reassign_generate::generate(&mut admin, &topics, &brokers, out);
    }
    let Some(path) = &args.reassignment_json_file else {
        return Err(ToolError::Usage(
            "Missing required argument \"[reassignment-json-file]\": add --reassignment-json-file FILE"
                .to_string(),
        ));
    };
    let plan = parse_plan(&read_file(path)?)?;
    let mut admin = Admin::connect(&args.bootstrap_server)?;
    match action {
        1 => execute(&mut admin, &plan, args.additional, out),
        2 => verify(&mut admin, &plan, args.preserve_throttles, out),
        _ => cancel(&mut admin, &plan, args.preserve_throttles, out),
    }
}

/// Ongoing reassignments (target replicas) among `plan`'s partitions.
fn ongoing(
    admin: &mut Admin,
    cluster: &ClusterMetadata,
    plan: &Plan,
) -> ToolResult<BTreeMap<(String, i32), Vec<model::BrokerId>>> {
    let version = admin.version::<ListPartitionReassignmentsRequest>()?;
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in plan.keys() {
        by_topic.entry(topic).or_default().push(*partition);
    }
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topics(Some(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    ListPartitionReassignmentsTopics::default()
                        .with_name(TopicName(sb(t)))
                        .with_partition_indexes(ps)
                })
                .collect(),
        ));
    let response = admin.send_to_controller(cluster, version, &request)?;
    check(
        response.error_code,
        response.error_message.as_ref(),
        "cannot list ongoing reassignments",
    )?;
    let mut found = BTreeMap::new();
    for t in response.topics {
        for p in t.partitions {
            found.insert(
                (t.name.0.to_string(), p.partition_index),
                p.replicas.iter().map(|b| model::BrokerId(b.0)).collect(),
            );
        }
    }
    Ok(found)
}

/// The plan's partitions' current replicas; an error naming the first one
/// that does not exist.
fn current_assignment(cluster: &ClusterMetadata, plan: &Plan) -> ToolResult<Plan> {
    let mut current = Plan::new();
    for (topic, partition) in plan.keys() {
        let info = cluster
            .topics
            .get(topic)
            .ok_or_else(|| ToolError::UnknownTopic(topic.clone()))?;
        let part = info
            .partitions
            .get(partition)
            .ok_or_else(|| ToolError::Failed {
                what: "cannot reassign".to_string(),
                message: format!(
                    "partition {topic}-{partition} does not exist (the topic has {} partitions)",
                    info.partitions.len()
                ),
            })?;
        current.insert((topic.clone(), *partition), part.replicas.clone());
    }
    Ok(current)
}

fn tp_list<'a>(keys: impl Iterator<Item = &'a (String, i32)>) -> String {
    keys.map(|(t, p)| format!("{t}-{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn execute(
    admin: &mut Admin,
    plan: &Plan,
    additional: bool,
    out: &mut dyn Write,
) -> ToolResult<()> {
    let topics: Vec<String> = plan.keys().map(|(t, _)| t.clone()).collect();
    let cluster = admin.metadata(Some(&topics))?;
    let current = current_assignment(&cluster, plan)?;
    let unknown: BTreeSet<model::BrokerId> = plan
        .values()
        .flatten()
        .copied()
        .filter(|b| !cluster.brokers.contains_key(b))
        .collect();
    if let Some(b) = unknown.first() {
        return Err(ToolError::Failed {
            what: "cannot reassign".to_string(),
            message: format!(
                "Unknown broker id {b} (live brokers: {})",
                cluster.broker_list()
            ),
        });
    }
    let version = admin.version::<AlterPartitionReassignmentsRequest>()?;
    if !additional && !ongoing(admin, &cluster, plan)?.is_empty() {
        return Err(ToolError::Failed {
            what: "cannot execute".to_string(),
            message: "Cannot execute because there is an existing partition assignment. Use --additional to override this and create a new partition assignment in addition to the existing one.".to_string(),
        });
    }
    let mut text = format!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback\n",
        format_json(&current)
    );
    let moves = plan
        .iter()
        .map(|((topic, partition), replicas)| (topic.as_str(), *partition, Some(replicas)));
    let failures: Vec<String> = alter_reassignments(
        admin,
        &cluster,
        version,
        moves,
        "cannot start the reassignment",
    )?
    .into_iter()
    .map(|(_, e)| e.to_string())
    .collect();
    if !failures.is_empty() {
        emit(out, &text)?;
        return Err(ToolError::Failed {
            what: "Error reassigning partition(s)".to_string(),
            message: failures.join("; "),
        });
    }
    let _ = writeln!(
        text,
        "Successfully started partition reassignment{} for {}",
        if plan.len() == 1 { "" } else { "s" },
        tp_list(plan.keys())
    );
    emit(out, &text)
}

fn verify(
    admin: &mut Admin,
    plan: &Plan,
    preserve_throttles: bool,
    out: &mut dyn Write,
) -> ToolResult<()> {
    let topics: Vec<String> = plan.keys().map(|(t, _)| t.clone()).collect();
    let first = admin.metadata(Some(&topics))?;
    current_assignment(&first, plan)?;
    // Like Kafka: ongoing moves first, then the replica sets, so a move that
    // finishes in between reads as completed, not as a mismatch.
    let moving = ongoing(admin, &first, plan)?;
    let cluster = admin.controller_metadata(&first, Some(&topics))?;
    let current = current_assignment(&cluster, plan)?;
    let mut text = String::from("Status of partition reassignment:\n");
    let mut all_done = true;
    for (tp, target) in plan {
        let (topic, partition) = tp;
        if moving.contains_key(tp) {
            all_done = false;
            let _ = writeln!(
                text,
                "Reassignment of partition {topic}-{partition} is still in progress."
            );
        } else if current.get(tp) == Some(target) {
            let _ = writeln!(
                text,
                "Reassignment of partition {topic}-{partition} is completed."
            );
        } else {
            let _ = writeln!(
                text,
                "There is no active reassignment of partition {topic}-{partition}, but replica set is {} rather than {}.",
                join_ids(current.get(tp).into_iter().flatten().copied()),
                join_ids(target.iter().copied())
            );
        }
    }
    if all_done && !preserve_throttles {
        let distinct: BTreeSet<&String> = topics.iter().collect();
        let _ = write!(
            text,
            "\nClearing broker-level throttles on brokers {}\nClearing topic-level throttles on topic{} {}\n",
            cluster.broker_list(),
            if distinct.len() == 1 { "" } else { "s" },
            distinct
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        clear_throttles(admin, &cluster, &distinct);
    }
    emit(out, &text)
}

/// Sends one AlterPartitionReassignments to the controller: each
/// `(topic, partition, target)` moves to `target`, or with `None` cancels
/// its move. A request-level error is returned as `what`; the result lists
/// the partitions that were refused, each with its error.
fn alter_reassignments<'a>(
    admin: &mut Admin,
    cluster: &ClusterMetadata,
    version: i16,
    moves: impl Iterator<Item = (&'a str, i32, Option<&'a Vec<model::BrokerId>>)>,
    what: &str,
) -> ToolResult<Vec<((String, i32), ToolError)>> {
    let mut by_topic: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
    for (topic, partition, target) in moves {
        let replicas = target.map(|r| r.iter().map(|b| BrokerId(b.0)).collect());
        by_topic.entry(topic).or_default().push(
            ReassignablePartition::default()
                .with_partition_index(partition)
                .with_replicas(replicas),
        );
    }
    let topics = by_topic
        .into_iter()
        .map(|(t, ps)| {
            ReassignableTopic::default()
                .with_name(TopicName(sb(t)))
                .with_partitions(ps)
        })
        .collect();
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topics(topics);
    let response = admin.send_to_controller(cluster, version, &request)?;
    check(response.error_code, response.error_message.as_ref(), what)?;
    let mut refused = Vec::new();
    for t in &response.responses {
        for p in &t.partitions {
            let tp = format!("{}-{}", t.name.0, p.partition_index);
            if let Err(e) = check(p.error_code, p.error_message.as_ref(), &tp) {
                refused.push(((t.name.0.to_string(), p.partition_index), e));
            }
        }
    }
    Ok(refused)
}

/// Cancels the ongoing moves among `plan`'s partitions: each goes back to
/// its replicas from before the move.
fn cancel(
    admin: &mut Admin,
    plan: &Plan,
    preserve_throttles: bool,
    out: &mut dyn Write,
) -> ToolResult<()> {
    let topics: Vec<String> = plan.keys().map(|(t, _)| t.clone()).collect();
    let cluster = admin.metadata(Some(&topics))?;
    current_assignment(&cluster, plan)?;
    let moving = ongoing(admin, &cluster, plan)?;
    let mut text = String::new();
    if moving.is_empty() {
        text.push_str("None of the specified partition reassignments are active.\n");
    } else {
        let version = admin.version::<AlterPartitionReassignmentsRequest>()?;
        let cancels = moving
            .keys()
            .map(|(topic, partition)| (topic.as_str(), *partition, None));
        let failures: BTreeMap<(String, i32), String> = alter_reassignments(
            admin,
            &cluster,
            version,
            cancels,
            "cannot cancel the reassignment",
        )?
        .into_iter()
        .filter_map(|(tp, e)| match e {
            ToolError::Failed { message, .. } => Some((tp, message)),
            _ => None,
        })
        .collect();
        if !failures.is_empty() {
            return Err(ToolError::Failed {
                what: format!(
                    "Error cancelling partition reassignment{} for",
                    if failures.len() == 1 { "" } else { "s" }
                ),
                message: failures
                    .iter()
                    .map(|((t, p), m)| format!("\n{t}-{p}: {m}"))
                    .collect(),
            });
        }
        let _ = writeln!(
            text,
            "Successfully cancelled partition reassignment{} for: {}",
            if moving.len() == 1 { "" } else { "s" },
            tp_list(moving.keys())
        );
    }
    text.push_str("None of the specified partition moves are active.\n");
    if !preserve_throttles {
        let brokers: BTreeSet<model::BrokerId> = cluster
            .brokers
            .keys()
            .chain(plan.values().flatten())
            .copied()
            .collect();
        let distinct: BTreeSet<&String> = topics.iter().collect();
        let _ = write!(
            text,
            "Clearing broker-level throttles on broker{} {}\nClearing topic-level throttles on topic{} {}\n",
            if brokers.len() == 1 { "" } else { "s" },
            join_ids(brokers.iter().copied()),
            if distinct.len() == 1 { "" } else { "s" },
            distinct
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        clear_throttles(admin, &cluster, &distinct);
    }
    emit(out, &text)
}

/// Removes Kafka's replication-throttle configs from every broker and the
/// moved topics (IncrementalAlterConfigs DELETE). Best effort, like the
/// tool's own clean-up: a cluster without these configs has nothing to do.
fn clear_throttles(admin: &mut Admin, cluster: &ClusterMetadata, topics: &BTreeSet<&String>) {
    let Ok(version) = admin.version::<IncrementalAlterConfigsRequest>() else {
        return;
    };
    let deletes = |keys: &[&str]| -> Vec<AlterableConfig> {
        keys.iter()
            .map(|k| {
                AlterableConfig::default()
                    .with_name(sb(k))
                    .with_config_operation(1)
                    .with_value(None)
            })
            .collect()
    };
    for id in cluster.brokers.keys() {
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(sb(&id.to_string()))
                .with_configs(deletes(&[
                    "leader.replication.throttled.rate",
                    "follower.replication.throttled.rate",
                    "replica.alter.log.dirs.io.max.bytes.per.second",
                ])),
        ]);
        if let Err(e) = admin.send_to(*id, cluster, version, &request) {
            tracing::debug!("clearing broker {id} throttles: {e}");
        }
    }
    let request = IncrementalAlterConfigsRequest::default().with_resources(
        topics
            .iter()
            .map(|t| {
                AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(sb(t))
                    .with_configs(deletes(&[
                        "leader.replication.throttled.replicas",
                        "follower.replication.throttled.replicas",
                    ]))
            })
            .collect(),
    );
    if let Err(e) = admin.send(version, &request) {
        tracing::debug!("clearing topic throttles: {e}");
    }
}
