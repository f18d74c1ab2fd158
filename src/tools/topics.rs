//! `sluice topics`: Kafka 3.x's kafka-topics.sh over the Kafka protocol.
//! --create sends CreateTopics to the controller and prints `Created topic
//! T.`; --list prints topic names from Metadata; --describe prints Kafka's
//! `Topic: T\tTopicId: ...` header (configs from DescribeConfigs, ongoing
//! moves from ListPartitionReassignments when served) and one tab-separated
//! line per partition, or only the under-replicated / unavailable ones;
//! --alter --partitions sends CreatePartitions; --delete sends DeleteTopics.
//! Like Kafka 3.x, --alter and --delete print nothing on success, and --topic
//! is a regular expression matching whole names (`topic_pattern`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::*;
use uuid::Uuid;

use crate::model;

use super::admin_client::{
    Admin, ClusterMetadata, ToolError, ToolResult, check, emit, join_ids, one_action, sb,
};

const TIMEOUT_MS: i32 = 30_000;
/// DescribeConfigs resource type of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// ConfigSource DEFAULT_CONFIG: Kafka's `ConfigEntry.isDefault()`.
const SOURCE_DEFAULT_CONFIG: i8 = 5;

/// The command line, as kafka-topics.sh spells it.
#[derive(clap::Args, Debug)]
pub struct TopicsArgs {
    /// HOST:PORT[,HOST:PORT...] of any broker.
    #[arg(long = "bootstrap-server")]
    pub bootstrap_server: String,
    /// Create a new topic.
    #[arg(long)]
    pub create: bool,
    /// List all available topics.
    #[arg(long)]
    pub list: bool,
    /// List details for the given topics (all topics without --topic).
    #[arg(long)]
    pub describe: bool,
    /// Increase the number of partitions of a topic.
    #[arg(long)]
    pub alter: bool,
    /// Delete a topic.
    #[arg(long)]
    pub delete: bool,
    /// The topic to create, alter, describe or delete.
    #[arg(long)]
    pub topic: Option<String>,
    /// The number of partitions (create: default num.partitions; alter: the new count).
    #[arg(long)]
    pub partitions: Option<i32>,
    /// The replication factor of a new topic (default default.replication.factor).
    #[arg(long = "replication-factor")]
    pub replication_factor: Option<i32>,
    /// A topic config override for the new topic: --config key=value (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Manual assignment: 1:2,2:3,3:1 (partition 0 on 1,2 ...); with --alter
    /// the entries past the current partition count place the new partitions.
    #[arg(long = "replica-assignment")]
    pub replica_assignment: Option<String>,
    /// With --describe: only partitions whose ISR is smaller than their replicas.
    #[arg(long = "under-replicated-partitions")]
    pub under_replicated_partitions: bool,
    /// With --describe: only partitions whose leader is not available.
    #[arg(long = "unavailable-partitions")]
    pub unavailable_partitions: bool,
    /// With --describe: only partitions whose ISR is smaller than min.insync.replicas.
    #[arg(long = "under-min-isr-partitions")]
    pub under_min_isr_partitions: bool,
    /// With --describe: only partitions whose ISR is exactly min.insync.replicas.
    #[arg(long = "at-min-isr-partitions")]
    pub at_min_isr_partitions: bool,
    /// With --describe: only topics that have config overrides, no partitions.
    #[arg(long = "topics-with-overrides")]
    pub topics_with_overrides: bool,
    /// With --list / --describe: leave out internal topics.
    #[arg(long = "exclude-internal")]
    pub exclude_internal: bool,
    /// With --create: no error if the topic exists.
    #[arg(long = "if-not-exists")]
    pub if_not_exists: bool,
    /// With --alter / --delete / --describe: no error if the topic does not exist.
    #[arg(long = "if-exists")]
    pub if_exists: bool,
}

/// Runs the tool, writing what kafka-topics.sh prints to `out`.
pub fn run(args: &TopicsArgs, out: &mut dyn Write) -> ToolResult<()> {
    let action = one_action(&[
        (args.list, "--list"),
        (args.describe, "--describe"),
        (args.create, "--create"),
        (args.alter, "--alter"),
        (args.delete, "--delete"),
    ])?;
    let needs_topic = matches!(action, 2..=4);
    if needs_topic && args.topic.is_none() {
        return Err(ToolError::Usage(
            "Missing required argument \"[topic]\": add --topic NAME".to_string(),
        ));
    }
    if action == 3 && args.partitions.is_none() {
        return Err(ToolError::Usage(
            "--alter needs --partitions N (the new, larger partition count)".to_string(),
        ));
    }
    if action == 2 {
        validate_create(args)?;
    }
    let mut admin = Admin::connect(&args.bootstrap_server)?;
    match action {
        0 => list(&mut admin, args, out),
        1 => describe(&mut admin, args, out),
        2 => create(&mut admin, args, out),
        3 => alter(&mut admin, args),
        _ => delete(&mut admin, args),
    }
}

/// Kafka's `TopicFilter.IncludeList` of --topic: a regular expression that
/// must match a whole topic name (an exact name matches itself; `,` separates
/// alternatives, spaces and surrounding quotes are dropped).
pub fn topic_pattern(topic: &str) -> ToolResult<regex::Regex> {
    let raw: String = topic.trim().replace(',', "|").replace(' ', "");
    let raw = raw
        .trim_start_matches(['"', '\''])
        .trim_end_matches(['"', '\'']);
    regex::Regex::new(&format!("^(?:{raw})$")).map_err(|e| {
        ToolError::Usage(format!(
            "Invalid --topic '{topic}': it is not a valid regular expression ({}). Give a topic name or a pattern such as 'orders.*'",
            e.to_string().lines().last().unwrap_or_default().trim()
        ))
    })
}

/// Topics matched by --topic (a name or a regular expression; all topics
/// without it), sorted; internal ones left out with --exclude-internal.
fn selected_topics(cluster: &ClusterMetadata, args: &TopicsArgs) -> ToolResult<Vec<String>> {
    let pattern = args.topic.as_deref().map(topic_pattern).transpose()?;
    Ok(cluster
        .topics
        .iter()
        .filter(|(name, info)| {
            pattern.as_ref().is_none_or(|p| p.is_match(name))
                && !(args.exclude_internal && info.internal)
        })
        .map(|(name, _)| name.clone())
        .collect())
}

fn ensure_exists(found: &[String], args: &TopicsArgs) -> ToolResult<()> {
    match &args.topic {
        Some(t) if found.is_empty() && !args.if_exists => Err(ToolError::UnknownTopic(t.clone())),
        _ => Ok(()),
    }
}

fn list(admin: &mut Admin, args: &TopicsArgs, out: &mut dyn Write) -> ToolResult<()> {
    let cluster = admin.metadata(None)?;
    let topics = selected_topics(&cluster, args)?;
    emit(out, &format!("{}\n", topics.join("\n")))
}

fn parse_configs(configs: &[String]) -> ToolResult<Vec<(String, String)>> {
    configs
        .iter()
        .map(|c| match c.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.contains('=') => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(ToolError::Usage(format!(
                "Invalid topic config '{c}': all configs to be added must be in the format \"key=val\""
            ))),
        })
        .collect()
}

fn parse_assignment(text: &str) -> ToolResult<Vec<Vec<i32>>> {
    let bad = || {
        ToolError::Usage(format!(
            "Invalid --replica-assignment '{text}': expected broker ids like 1:2,2:3 (replicas of partition 0, then 1, ...)"
        ))
    };
    let parsed: Vec<Vec<i32>> = text
        .split(',')
        .map(|p| {
            p.split(':')
                .map(|b| b.trim().parse::<i32>().map_err(|_| bad()))
                .collect()
        })
        .collect::<ToolResult<_>>()?;
    if parsed.iter().any(|r| r.len() != parsed[0].len()) {
        return Err(bad());
    }
    Ok(parsed)
}

/// The checks Kafka makes before talking to the cluster.
fn validate_create(args: &TopicsArgs) -> ToolResult<()> {
    if let Some(rf) = args.replication_factor
        && !(1..=i16::MAX as i32).contains(&rf)
    {
        return Err(ToolError::Usage(format!(
            "The replication factor must be between 1 and {} inclusive",
            i16::MAX
        )));
    }
    if args.partitions.is_some_and(|p| p < 1) {
        return Err(ToolError::Usage(
            "The partitions must be greater than 0".to_string(),
        ));
    }
    parse_configs(&args.config)?;
    if let Some(text) = &args.replica_assignment {
        parse_assignment(text)?;
    }
    Ok(())
}

fn create(admin: &mut Admin, args: &TopicsArgs, out: &mut dyn Write) -> ToolResult<()> {
    let name = args.topic.clone().unwrap_or_default();
    let configs = parse_configs(&args.config)?;
    let mut topic = CreatableTopic::default()
        .with_name(TopicName(sb(&name)))
        .with_num_partitions(args.partitions.unwrap_or(-1))
        .with_replication_factor(args.replication_factor.unwrap_or(-1) as i16)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(sb(k))
                        .with_value(Some(sb(v)))
                })
                .collect(),
        );
    if let Some(text) = &args.replica_assignment {
        topic.num_partitions = -1;
        topic.replication_factor = -1;
        topic.assignments = parse_assignment(text)?
            .into_iter()
            .enumerate()
            .map(|(i, brokers)| {
                create_topics_request::CreatableReplicaAssignment::default()
                    .with_partition_index(i as i32)
                    .with_broker_ids(brokers.into_iter().map(BrokerId).collect())
            })
            .collect();
    }
    let mut text = String::new();
    if name.contains('.') || name.contains('_') {
        text.push_str(
            "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n",
        );
    }
    let version = admin.version::<CreateTopicsRequest>()?;
    let cluster = admin.metadata(Some(&[]))?;
    let request = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(TIMEOUT_MS);
    let response = admin.send_to_controller(&cluster, version, &request)?;
    for result in &response.topics {
        if result.error_code == kafka_protocol::ResponseError::TopicAlreadyExists.code()
            && args.if_not_exists
        {
            return emit(out, &text);
        }
        check(
            result.error_code,
            result.error_message.as_ref(),
            &format!("cannot create topic '{name}'"),
        )?;
    }
    let _ = writeln!(text, "Created topic {name}.");
    emit(out, &text)
}

fn alter(admin: &mut Admin, args: &TopicsArgs) -> ToolResult<()> {
    let cluster = admin.metadata(None)?;
    let topics = selected_topics(&cluster, args)?;
    ensure_exists(&topics, args)?;
    if topics.is_empty() {
        return Ok(());
    }
    let version = admin.version::<CreatePartitionsRequest>()?;
    let count = args.partitions.unwrap_or_default();
    // Like Kafka: --replica-assignment lists every partition; the entries
    // past the current count place the new ones.
    let assignment = args
        .replica_assignment
        .as_deref()
        .map(parse_assignment)
        .transpose()?;
    let request = CreatePartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    let existing = cluster.topics[t].partitions.len();
                    let assignments = assignment.as_ref().map(|all| {
                        all.iter()
                            .skip(existing)
                            .map(|brokers| {
                                create_partitions_request::CreatePartitionsAssignment::default()
                                    .with_broker_ids(
                                        brokers.iter().copied().map(BrokerId).collect(),
                                    )
                            })
                            .collect()
                    });
                    CreatePartitionsTopic::default()
                        .with_name(TopicName(sb(t)))
                        .with_count(count)
                        .with_assignments(assignments)
                })
                .collect(),
        )
        .with_timeout_ms(TIMEOUT_MS);
    let response = admin.send_to_controller(&cluster, version, &request)?;
    for result in &response.results {
        check(
            result.error_code,
            result.error_message.as_ref(),
            &format!("cannot change the partition count of '{}'", result.name.0),
        )?;
    }
    Ok(())
}

fn delete(admin: &mut Admin, args: &TopicsArgs) -> ToolResult<()> {
    let cluster = admin.metadata(None)?;
    let topics = selected_topics(&cluster, args)?;
    ensure_exists(&topics, args)?;
    if topics.is_empty() {
        return Ok(());
    }
    let version = admin.version::<DeleteTopicsRequest>()?;
    let mut request = DeleteTopicsRequest::default().with_timeout_ms(TIMEOUT_MS);
    if version >= 6 {
        request.topics = topics
            .iter()
            .map(|t| DeleteTopicState::default().with_name(Some(TopicName(sb(t)))))
            .collect();
    } else {
        request.topic_names = topics.iter().map(|t| TopicName(sb(t))).collect();
    }
    let response = admin.send_to_controller(&cluster, version, &request)?;
    for result in &response.responses {
        let name = result
            .name
            .as_ref()
            .map(|n| n.0.to_string())
            .unwrap_or_default();
        check(
            result.error_code,
            result.error_message.as_ref(),
            &format!("cannot delete topic '{name}'"),
        )?;
    }
    Ok(())
}

/// An ongoing move: (target replicas, adding, removing).
type Moves = BTreeMap<
    (String, i32),
    (
        Vec<model::BrokerId>,
        Vec<model::BrokerId>,
        Vec<model::BrokerId>,
    ),
>;

/// Ongoing reassignments of `topics`; empty when the cluster does not serve
/// ListPartitionReassignments (Kafka's tool ignores that case too).
fn ongoing_moves(admin: &mut Admin, cluster: &ClusterMetadata, topics: &[String]) -> Moves {
    let Ok(version) = admin.version::<ListPartitionReassignmentsRequest>() else {
        return Moves::new();
    };
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(TIMEOUT_MS)
        .with_topics(Some(
            topics
                .iter()
                .filter_map(|t| cluster.topics.get(t).map(|info| (t, info)))
                .map(|(t, info)| {
                    ListPartitionReassignmentsTopics::default()
                        .with_name(TopicName(sb(t)))
                        .with_partition_indexes(info.partitions.keys().copied().collect())
                })
                .collect(),
        ));
    let Ok(response) = admin.send_to_controller(cluster, version, &request) else {
        return Moves::new();
    };
    let mut moves = Moves::new();
    for t in &response.topics {
        for p in &t.partitions {
            let ids = |v: &[BrokerId]| v.iter().map(|b| model::BrokerId(b.0)).collect::<Vec<_>>();
            moves.insert(
                (t.name.0.to_string(), p.partition_index),
                (
                    ids(&p.replicas),
                    ids(&p.adding_replicas),
                    ids(&p.removing_replicas),
                ),
            );
        }
    }
    moves
}

/// Per topic: (name, value, is_default) of every config DescribeConfigs lists.
type TopicConfigs = BTreeMap<String, Vec<(String, String, bool)>>;

fn topic_configs(admin: &mut Admin, topics: &[String]) -> ToolResult<TopicConfigs> {
    let version = admin.version::<DescribeConfigsRequest>()?;
    let request = DescribeConfigsRequest::default().with_resources(
        topics
            .iter()
            .map(|t| {
                DescribeConfigsResource::default()
                    .with_resource_type(RESOURCE_TOPIC)
                    .with_resource_name(sb(t))
                    .with_configuration_keys(None)
            })
            .collect(),
    );
    let response = admin.send(version, &request)?;
    let mut configs = BTreeMap::new();
    for result in &response.results {
        check(
            result.error_code,
            result.error_message.as_ref(),
            &format!("cannot describe the configs of '{}'", result.resource_name),
        )?;
        let entries = result
            .configs
            .iter()
            .map(|c| {
                let is_default = if version == 0 {
                    c.is_default
                } else {
                    c.config_source == SOURCE_DEFAULT_CONFIG
                };
                let value = c
                    .value
                    .as_ref()
                    .map_or_else(|| "null".to_string(), |v| v.to_string());
                (c.name.to_string(), value, is_default)
            })
            .collect();
        configs.insert(result.resource_name.to_string(), entries);
    }
    Ok(configs)
}

fn describe(admin: &mut Admin, args: &TopicsArgs, out: &mut dyn Write) -> ToolResult<()> {
    let cluster = admin.metadata(None)?;
    let topics = selected_topics(&cluster, args)?;
    ensure_exists(&topics, args)?;
    if topics.is_empty() {
        return Ok(());
    }
    let configs = topic_configs(admin, &topics)?;
    let moves = ongoing_moves(admin, &cluster, &topics);
    let filtered = args.under_replicated_partitions
        || args.unavailable_partitions
        || args.under_min_isr_partitions
        || args.at_min_isr_partitions;
    let describe_configs = !filtered;
    let describe_partitions = !args.topics_with_overrides;
    let mut text = String::new();
    for name in &topics {
        let info = &cluster.topics[name];
        let entries = configs.get(name).map(Vec::as_slice).unwrap_or_default();
        let min_isr: usize = entries
            .iter()
            .find(|(k, _, _)| k == "min.insync.replicas")
            .and_then(|(_, v, _)| v.parse().ok())
            .unwrap_or(1);
        let has_override = entries.iter().any(|(_, _, default)| !default);
        let first = info.partitions.iter().next();
        if describe_configs && (!args.topics_with_overrides || has_override) {
            let rf = first.map_or(0, |(&p, part)| {
                replication_factor(&part.replicas, moves.get(&(name.clone(), p)))
            });
            let _ = write!(text, "Topic: {name}");
            if info.id != Uuid::nil() {
                let _ = write!(text, "\tTopicId: {}", topic_id_string(info.id));
            }
            let overrides: Vec<String> = entries
                .iter()
                .filter(|(_, _, default)| !default)
                .map(|(k, v, _)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(
                text,
                "\tPartitionCount: {}\tReplicationFactor: {rf}\tConfigs: {}",
                info.partitions.len(),
                overrides.join(",")
            );
        }
        if !describe_partitions {
            continue;
        }
        for (&partition, part) in &info.partitions {
            let moving = moves.get(&(name.clone(), partition));
            let rf = replication_factor(&part.replicas, moving);
            let has_leader = part.leader.is_valid();
            let under_replicated = rf as usize > part.isr.len();
            let unavailable = !has_leader || !cluster.brokers.contains_key(&part.leader);
            let show = describe_configs
                || (args.under_replicated_partitions && under_replicated)
                || (args.unavailable_partitions && unavailable)
                || (args.under_min_isr_partitions && (!has_leader || part.isr.len() < min_isr))
                || (args.at_min_isr_partitions && part.isr.len() == min_isr);
            if !show {
                continue;
            }
            let leader = if has_leader {
                part.leader.to_string()
            } else {
                "none".to_string()
            };
            let _ = write!(
                text,
                "\tTopic: {name}\tPartition: {partition}\tLeader: {leader}\tReplicas: {}\tIsr: {}",
                join_ids(part.replicas.iter().copied()),
                join_ids(part.isr.iter().copied())
            );
            if let Some((_, adding, removing)) = moving {
                let _ = write!(
                    text,
                    "\tAdding Replicas: {}\tRemoving Replicas: {}",
                    join_ids(adding.iter().copied()),
                    join_ids(removing.iter().copied())
                );
            }
            text.push('\n');
        }
    }
    emit(out, &text)
}

/// The replication factor Kafka shows: while a move is in progress, the
/// target set minus the replicas being added.
fn replication_factor(
    replicas: &[model::BrokerId],
    moving: Option<&(
        Vec<model::BrokerId>,
        Vec<model::BrokerId>,
        Vec<model::BrokerId>,
    )>,
) -> i32 {
    match moving {
        Some((target, adding, removing))
            if replicas
                .iter()
                .any(|r| adding.contains(r) || removing.contains(r)) =>
        {
            (target.len() - adding.len()) as i32
        }
        _ => replicas.len() as i32,
    }
}

/// Kafka's `Uuid.toString()`: URL-safe base64 of the 16 bytes, no padding.
pub fn topic_id_string(id: Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut s = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            s.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_ids_print_as_kafka_base64() {
        // Kafka prints Uuid(0x1234.., ..) as URL-safe base64 without padding.
        let id = Uuid::from_bytes([
            0x0c, 0x35, 0x2f, 0x4b, 0x6a, 0x1e, 0x4d, 0x3c, 0x9a, 0x1b, 0x11, 0x22, 0x33, 0x44,
            0x55, 0x66,
        ]);
        let s = topic_id_string(id);
        assert_eq!(s.len(), 22);
        assert_eq!(s, "DDUvS2oeTTyaGxEiM0RVZg");
    }

    #[test]
    fn replica_assignment_parses_and_checks_lengths() {
        assert_eq!(
            parse_assignment("1:2,2:3").unwrap(),
            vec![vec![1, 2], vec![2, 3]]
        );
        assert!(parse_assignment("1:2,3").is_err());
        assert!(parse_assignment("1:x").is_err());
    }

    #[test]
    fn topic_patterns_match_whole_names_like_kafkas_include_list() {
        let p = topic_pattern("orders.*").unwrap();
        assert!(p.is_match("orders") && p.is_match("orders-eu"));
        assert!(!p.is_match("old-orders"));
        let exact = topic_pattern("orders").unwrap();
        assert!(exact.is_match("orders") && !exact.is_match("orders2"));
        let list = topic_pattern("a, b").unwrap();
        assert!(list.is_match("a") && list.is_match("b") && !list.is_match("ab"));
        assert!(topic_pattern("'x.*'").unwrap().is_match("xy"));
        assert!(topic_pattern("(").is_err());
    }
}
