//! `sluice consumer-groups`: Kafka's kafka-consumer-groups.sh over the Kafka
//! protocol. --list asks every broker (ListGroups); --describe finds the
//! coordinator (FindCoordinator), reads members (DescribeGroups), committed
//! offsets (OffsetFetch) and log end offsets (ListOffsets from each leader)
//! and prints Kafka's table; --delete sends DeleteGroups; --reset-offsets
//! computes new offsets (--to-earliest, --to-latest, --to-offset, --shift-by,
//! --to-datetime, --by-duration; the last two through ListOffsets by
//! timestamp, formats in `reset_time.rs`) and, with --execute, commits them
//! (OffsetCommit with no generation, which only an inactive group accepts).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use anyhow::{Context, bail};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::reset_time;
use crate::client::blocking::BlockingConnection;
use crate::group::consumer_protocol::assignment_partitions;
use crate::model;

/// The command line, as kafka-consumer-groups.sh spells it.
#[derive(clap::Args, Debug)]
pub struct ConsumerGroupsArgs {
    /// HOST:PORT[,HOST:PORT...] of any broker.
    #[arg(long = "bootstrap-server")]
    pub bootstrap_server: String,
    /// List every consumer group.
    #[arg(long)]
    pub list: bool,
    /// Describe a group: partitions, offsets, lag, owners.
    #[arg(long)]
    pub describe: bool,
    /// Delete an empty group and its committed offsets.
    #[arg(long)]
    pub delete: bool,
    /// Reset the committed offsets of an inactive group (dry run without --execute).
    #[arg(long = "reset-offsets")]
    pub reset_offsets: bool,
    #[arg(long)]
    pub group: Option<String>,
    #[arg(long)]
    pub topic: Option<String>,
    #[arg(long = "to-earliest")]
    pub to_earliest: bool,
    #[arg(long = "to-latest")]
    pub to_latest: bool,
    #[arg(long = "to-offset")]
    pub to_offset: Option<i64>,
    /// Move each committed offset by N (negative: back), kept within the log.
    #[arg(long = "shift-by", allow_negative_numbers = true)]
    pub shift_by: Option<i64>,
    /// The first offset at or after YYYY-MM-DDTHH:mm:SS.sss[Z|+HH:MM] (UTC without a zone).
    #[arg(long = "to-datetime")]
    pub to_datetime: Option<String>,
    /// The first offset at or after now minus a duration: PnDTnHnMnS, e.g. PT1H.
    #[arg(long = "by-duration")]
    pub by_duration: Option<String>,
    /// Apply the reset (otherwise it is only shown).
    #[arg(long)]
    pub execute: bool,
    /// Only show the reset (the default).
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

impl ConsumerGroupsArgs {
    /// The one action the options ask for, or what is wrong with them.
    pub fn action(&self) -> anyhow::Result<Action> {
        let chosen = [self.list, self.describe, self.delete, self.reset_offsets]
            .iter()
            .filter(|b| **b)
            .count();
        if chosen != 1 {
            bail!(
                "Command must include exactly one action: --list, --describe, --delete, --reset-offsets"
            );
        }
        let group = || {
            self.group
                .clone()
                .context("Option [--group] is required with this action")
        };
        if self.list {
            return Ok(Action::List);
        }
        if self.describe {
            return Ok(Action::Describe { group: group()? });
        }
        if self.delete {
            return Ok(Action::Delete { group: group()? });
        }
        if self.execute && self.dry_run {
            bail!("Option [reset-offsets] only accepts one of [execute] and [dry-run]");
        }
        if !self.execute && !self.dry_run {
            // Kafka's own words (stderr), before the dry run's table.
            eprintln!(
                "WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting."
            );
        }
        let scenarios = [
            self.to_earliest,
            self.to_latest,
            self.to_offset.is_some(),
            self.shift_by.is_some(),
            self.to_datetime.is_some(),
            self.by_duration.is_some(),
        ];
        if scenarios.iter().filter(|b| **b).count() != 1 {
            bail!(
                "Option [--reset-offsets] takes exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration"
            );
        }
        let to = if self.to_earliest {
            ResetTo::Earliest
        } else if self.to_latest {
            ResetTo::Latest
        } else if let Some(n) = self.to_offset {
            ResetTo::Offset(n)
        } else if let Some(n) = self.shift_by {
            ResetTo::ShiftBy(n)
        } else if let Some(text) = &self.to_datetime {
            ResetTo::DateTime(reset_time::parse_datetime_ms(text).with_context(|| {
                format!(
                    "Invalid --to-datetime '{text}': expected YYYY-MM-DDTHH:mm:SS.sss with an optional zone (Z, +HH:MM, -HHMM), e.g. 2024-05-01T12:00:00.000Z"
                )
            })?)
        } else {
            let text = self.by_duration.as_deref().unwrap_or_default();
            let ms = reset_time::parse_duration_ms(text).with_context(|| {
                format!(
                    "Invalid --by-duration '{text}': expected PnDTnHnMnS, e.g. PT1H (one hour) or P1DT12H"
                )
            })?;
            ResetTo::ByDuration(ms)
        };
        Ok(Action::ResetOffsets {
            group: group()?,
            topic: self
                .topic
                .clone()
                .context("Option [--reset-offsets] needs --topic")?,
            to,
            execute: self.execute,
        })
    }
}

/// What to do, from the command line.
pub enum Action {
    List,
    Describe {
        group: String,
    },
    Delete {
        group: String,
    },
    ResetOffsets {
        group: String,
        topic: String,
        to: ResetTo,
        execute: bool,
    },
}

#[derive(Clone, Copy)]
pub enum ResetTo {
    Earliest,
    Latest,
    Offset(i64),
    /// Committed offset plus N.
    ShiftBy(i64),
    /// Milliseconds since the epoch.
    DateTime(i64),
    /// Milliseconds before now.
    ByDuration(i64),
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn check(code: i16, what: &str) -> anyhow::Result<()> {
    if code == 0 {
        return Ok(());
    }
    match kafka_protocol::error::ParseResponseErrorCode::err(code) {
        Some(e) => bail!("{what}: {e:?} (error code {code})"),
        None => Ok(()),
    }
}

/// Runs the tool; returns what to print on stdout.
pub fn run(bootstrap: &str, action: Action) -> anyhow::Result<String> {
    let first = bootstrap.split(',').next().unwrap_or(bootstrap).trim();
    let mut conn = BlockingConnection::connect(first)?;
    let cluster = Cluster::load(&mut conn, None)?;
    match action {
        Action::List => list(&cluster),
        Action::Describe { group } => describe(&cluster, &group),
        Action::Delete { group } => delete(&cluster, &group),
        Action::ResetOffsets {
            group,
            topic,
            to,
            execute,
        } => reset_offsets(&mut conn, &group, &topic, to, execute),
    }
}

/// Brokers and partition leaders from one Metadata request.
struct Cluster {
    brokers: BTreeMap<model::BrokerId, String>,
    /// topic -> partition -> leader
    leaders: BTreeMap<String, BTreeMap<i32, model::BrokerId>>,
}

impl Cluster {
    fn load(conn: &mut BlockingConnection, topics: Option<&[String]>) -> anyhow::Result<Cluster> {
        let request = MetadataRequest::default().with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(sb(t)))))
                .collect()
        }));
        let response: MetadataResponse = conn.send(ApiKey::Metadata, 1, &request)?;
        let brokers = response
            .brokers
            .iter()
            .map(|b| {
                (
                    model::BrokerId(b.node_id.0),
                    format!("{}:{}", b.host, b.port),
                )
            })
            .collect();
        let mut leaders: BTreeMap<String, BTreeMap<i32, model::BrokerId>> = BTreeMap::new();
        for t in &response.topics {
            let Some(name) = &t.name else { continue };
            leaders.insert(
                name.0.to_string(),
                t.partitions
                    .iter()
                    .map(|p| (p.partition_index, model::BrokerId(p.leader_id.0)))
                    .collect(),
            );
        }
        Ok(Cluster { brokers, leaders })
    }

    fn connect(&self, broker: model::BrokerId) -> anyhow::Result<BlockingConnection> {
        let address = self
            .brokers
            .get(&broker)
            .with_context(|| format!("broker {broker} is not in the metadata"))?;
        Ok(BlockingConnection::connect(address)?)
    }

    fn coordinator(&self, group: &str) -> anyhow::Result<BlockingConnection> {
        let any = *self
            .brokers
            .keys()
            .next()
            .context("no brokers in the metadata")?;
        let mut conn = self.connect(any)?;
        let response: FindCoordinatorResponse = conn.send(
            ApiKey::FindCoordinator,
            3,
            &FindCoordinatorRequest::default().with_key(sb(group)),
        )?;
        check(response.error_code, "FindCoordinator")?;
        Ok(BlockingConnection::connect(&format!(
            "{}:{}",
            response.host, response.port
        ))?)
    }

    /// Log end (`timestamp` -1) or start (-2) offsets of partitions.
    fn list_offsets(
        &self,
        partitions: &BTreeSet<(String, i32)>,
        timestamp: i64,
    ) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
        let mut by_leader: BTreeMap<model::BrokerId, Vec<&(String, i32)>> = BTreeMap::new();
        for tp in partitions {
            if let Some(leader) = self.leaders.get(&tp.0).and_then(|ps| ps.get(&tp.1))
                && leader.is_valid()
            {
                by_leader.entry(*leader).or_default().push(tp);
            }
        }
        let mut out = BTreeMap::new();
        for (leader, tps) in by_leader {
            let mut topics: Vec<ListOffsetsTopic> = Vec::new();
            for (topic, partition) in tps {
                let entry = ListOffsetsPartition::default()
                    .with_partition_index(*partition)
                    .with_timestamp(timestamp);
                match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
                    Some(t) => t.partitions.push(entry),
                    None => topics.push(
                        ListOffsetsTopic::default()
                            .with_name(TopicName(sb(topic)))
                            .with_partitions(vec![entry]),
                    ),
                }
            }
            let mut conn = self.connect(leader)?;
            let response: ListOffsetsResponse = conn.send(
                ApiKey::ListOffsets,
                1,
                &ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_topics(topics),
            )?;
            for t in response.topics {
                for p in t.partitions {
                    if p.error_code == 0 {
                        out.insert((t.name.0.to_string(), p.partition_index), p.offset);
                    }
                }
            }
        }
        Ok(out)
    }
}

fn list(cluster: &Cluster) -> anyhow::Result<String> {
    let mut groups = BTreeSet::new();
    for &broker in cluster.brokers.keys() {
        let mut conn = cluster.connect(broker)?;
        let response: ListGroupsResponse =
            conn.send(ApiKey::ListGroups, 3, &ListGroupsRequest::default())?;
        check(response.error_code, "ListGroups")?;
        groups.extend(
            response
                .groups
                .into_iter()
                .map(|g| g.group_id.0.to_string()),
        );
    }
    Ok(groups.into_iter().map(|g| g + "\n").collect())
}

/// Committed offsets of every partition of `group`.
fn committed(
    conn: &mut BlockingConnection,
    group: &str,
) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let response: OffsetFetchResponse = conn.send(
        ApiKey::OffsetFetch,
        7,
        &OffsetFetchRequest::default()
            .with_group_id(GroupId(sb(group)))
            .with_topics(None),
    )?;
    check(response.error_code, "OffsetFetch")?;
    let mut out = BTreeMap::new();
    for t in response.topics {
        for p in t.partitions {
            if p.committed_offset >= 0 {
                out.insert(
                    (t.name.0.to_string(), p.partition_index),
                    p.committed_offset,
                );
            }
        }
    }
    Ok(out)
}

struct Row {
    topic: String,
    partition: i32,
    current: Option<i64>,
    log_end: Option<i64>,
    consumer_id: String,
    host: String,
    client_id: String,
}

fn describe(cluster: &Cluster, group: &str) -> anyhow::Result<String> {
    let mut conn = cluster.coordinator(group)?;
    let response: DescribeGroupsResponse = conn.send(
        ApiKey::DescribeGroups,
        5,
        &DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))]),
    )?;
    let described = response
        .groups
        .into_iter()
        .next()
        .context("no group in the answer")?;
    check(described.error_code, "DescribeGroups")?;
    let offsets = committed(&mut conn, group)?;
    if described.group_state.as_str() == "Dead" && offsets.is_empty() {
        bail!("Consumer group '{group}' does not exist.");
    }
    let mut owners: HashMap<(String, i32), (String, String, String)> = HashMap::new();
    for m in &described.members {
        for (topic, partitions) in assignment_partitions(&m.member_assignment).unwrap_or_default() {
            for p in partitions {
                owners.insert(
                    (topic.clone(), p),
                    (
                        m.member_id.to_string(),
                        m.client_host.to_string(),
                        m.client_id.to_string(),
                    ),
                );
            }
        }
    }
    let mut partitions: BTreeSet<(String, i32)> = offsets.keys().cloned().collect();
    partitions.extend(owners.keys().cloned());
    let topics: Vec<String> = partitions
        .iter()
        .map(|(t, _)| t.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let log_ends = if topics.is_empty() {
        BTreeMap::new()
    } else {
        let mut any = cluster.connect(*cluster.brokers.keys().next().context("no brokers")?)?;
        Cluster::load(&mut any, Some(&topics))?.list_offsets(&partitions, -1)?
    };
    let rows: Vec<Row> = partitions
        .into_iter()
        .map(|(topic, partition)| {
            let key = (topic.clone(), partition);
            let (consumer_id, host, client_id) = owners
                .get(&key)
                .cloned()
                .unwrap_or_else(|| ("-".into(), "-".into(), "-".into()));
            Row {
                current: offsets.get(&key).copied(),
                log_end: log_ends.get(&key).copied(),
                topic,
                partition,
                consumer_id,
                host,
                client_id,
            }
        })
        .collect();
    let mut out = String::new();
    if described.members.is_empty() {
        let _ = writeln!(out, "\nConsumer group '{group}' has no active members.");
    }
    out.push_str(&format_describe(group, &rows));
    Ok(out)
}

fn dash(v: Option<i64>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

/// Kafka's table: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
/// CONSUMER-ID HOST CLIENT-ID, columns padded as ConsumerGroupCommand does.
fn format_describe(group: &str, rows: &[Row]) -> String {
    let width = |header: &str, values: &mut dyn Iterator<Item = usize>| {
        values.max().unwrap_or(0).max(header.len())
    };
    let group_w = group.len().max(5);
    let topic_w = width("TOPIC", &mut rows.iter().map(|r| r.topic.len()));
    let consumer_w = width("CONSUMER-ID", &mut rows.iter().map(|r| r.consumer_id.len()));
    let host_w = width("HOST", &mut rows.iter().map(|r| r.host.len()));
    let mut out = String::new();
    let mut line = |cols: [&str; 9]| {
        let _ = writeln!(
            out,
            "{:<group_w$} {:<topic_w$} {:<10} {:<15} {:<15} {:<15} {:<consumer_w$} {:<host_w$} {}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]
        );
    };
    out_header(&mut line);
    for r in rows {
        let lag = match (r.current, r.log_end) {
            (Some(c), Some(e)) => Some((e - c).max(0)),
            _ => None,
        };
        line([
            group,
            &r.topic,
            &r.partition.to_string(),
            &dash(r.current),
            &dash(r.log_end),
            &dash(lag),
            &r.consumer_id,
            &r.host,
            &r.client_id,
        ]);
    }
    format!("\n{out}")
}

fn out_header(line: &mut dyn FnMut([&str; 9])) {
    line([
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
}

fn delete(cluster: &Cluster, group: &str) -> anyhow::Result<String> {
    let mut conn = cluster.coordinator(group)?;
    let response: DeleteGroupsResponse = conn.send(
        ApiKey::DeleteGroups,
        2,
        &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(group))]),
    )?;
    let result = response.results.first().context("no result")?;
    if result.error_code == ResponseError::GroupIdNotFound.code() {
        bail!(
            "Deletion of some consumer groups failed:\n* Group '{group}' could not be deleted due to: GroupIdNotFoundException: The group id does not exist."
        );
    }
    if result.error_code == ResponseError::NonEmptyGroup.code() {
        bail!(
            "Deletion of some consumer groups failed:\n* Group '{group}' could not be deleted due to: GroupNotEmptyException: The group is not empty."
        );
    }
    check(result.error_code, "DeleteGroups")?;
    Ok(format!(
        "Deletion of requested consumer groups ('{group}') was successful.\n"
    ))
}

fn reset_offsets(
    conn: &mut BlockingConnection,
    group: &str,
    topic: &str,
    to: ResetTo,
    execute: bool,
) -> anyhow::Result<String> {
    let cluster = Cluster::load(conn, Some(&[topic.to_string()]))?;
    let Some(partitions) = cluster.leaders.get(topic).filter(|p| !p.is_empty()) else {
        bail!("Topic '{topic}' does not exist.");
    };
    let tps: BTreeSet<(String, i32)> = partitions.keys().map(|p| (topic.to_string(), *p)).collect();
    let mut coordinator = cluster.coordinator(group)?;
    let described: DescribeGroupsResponse = coordinator.send(
        ApiKey::DescribeGroups,
        5,
        &DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))]),
    )?;
    if let Some(g) = described.groups.first()
        && !matches!(g.group_state.as_str(), "Empty" | "Dead")
    {
        bail!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
            g.group_state
        );
    }
    let mut out = String::new();
    let new_offsets = new_offsets(&cluster, &mut coordinator, group, &tps, to, &mut out)?;
    if execute {
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(sb(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(sb(""))
            .with_topics(vec![
                OffsetCommitRequestTopic::default()
                    .with_name(TopicName(sb(topic)))
                    .with_partitions(
                        new_offsets
                            .iter()
                            .map(|((_, p), o)| {
                                OffsetCommitRequestPartition::default()
                                    .with_partition_index(*p)
                                    .with_committed_offset(*o)
                                    .with_committed_metadata(Some(sb("")))
                            })
                            .collect(),
                    ),
            ]);
        let response: OffsetCommitResponse = coordinator.send(ApiKey::OffsetCommit, 2, &request)?;
        for t in &response.topics {
            for p in &t.partitions {
                check(
                    p.error_code,
                    &format!("OffsetCommit {}-{}", t.name.0, p.partition_index),
                )?;
            }
        }
    }
    let group_w = group.len().max(5);
    let topic_w = topic.len().max(5);
    out.push('\n');
    let _ = writeln!(
        out,
        "{:<group_w$} {:<topic_w$} {:<10} NEW-OFFSET",
        "GROUP", "TOPIC", "PARTITION"
    );
    for ((t, p), o) in &new_offsets {
        let _ = writeln!(out, "{:<group_w$} {:<topic_w$} {:<10} {}", group, t, p, o);
    }
    Ok(out)
}

/// Kafka's `checkOffsetsRange`: a requested offset past the log end becomes
/// the log end, one before the log start becomes the log start.
fn clamp_to_log(
    cluster: &Cluster,
    requested: BTreeMap<(String, i32), i64>,
) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let tps: BTreeSet<(String, i32)> = requested.keys().cloned().collect();
    let start = cluster.list_offsets(&tps, -2)?;
    let end = cluster.list_offsets(&tps, -1)?;
    Ok(requested
        .into_iter()
        .map(|(tp, n)| {
            let lo = start.get(&tp).copied().unwrap_or(0);
            let hi = end.get(&tp).copied().unwrap_or(n).max(lo);
            if n > hi {
                tracing::warn!(
                    "New offset ({n}) is higher than latest offset for topic partition {}-{}. Value will be set to {hi}",
                    tp.0,
                    tp.1
                );
            } else if n < lo {
                tracing::warn!(
                    "New offset ({n}) is lower than earliest offset for topic partition {}-{}. Value will be set to {lo}",
                    tp.0,
                    tp.1
                );
            }
            (tp, n.clamp(lo, hi))
        })
        .collect())
}

/// The first offset at or after `timestamp_ms` of each partition; like
/// Kafka, a partition with no such record falls back to its log end, with
/// a warning in `out`.
fn offsets_for_time(
    cluster: &Cluster,
    tps: &BTreeSet<(String, i32)>,
    timestamp_ms: i64,
    out: &mut String,
) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let found = cluster.list_offsets(tps, timestamp_ms.max(0))?;
    let (mut offsets, missing): (BTreeMap<_, _>, BTreeMap<_, _>) = tps
        .iter()
        .map(|tp| (tp.clone(), found.get(tp).copied().unwrap_or(-1)))
        .partition(|(_, offset)| *offset >= 0);
    for (topic, partition) in missing.keys() {
        let _ = writeln!(
            out,
            "\nWarn: Partition {partition} from topic {topic} is empty. Falling back to latest known offset."
        );
    }
    if !missing.is_empty() {
        let missing: BTreeSet<(String, i32)> = missing.into_keys().collect();
        offsets.extend(cluster.list_offsets(&missing, -1)?);
    }
    Ok(offsets)
}

/// The offsets a reset moves `tps` to.
fn new_offsets(
    cluster: &Cluster,
    coordinator: &mut BlockingConnection,
    group: &str,
    tps: &BTreeSet<(String, i32)>,
    to: ResetTo,
    out: &mut String,
) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    match to {
        ResetTo::Earliest => cluster.list_offsets(tps, -2),
        ResetTo::Latest => cluster.list_offsets(tps, -1),
        ResetTo::Offset(n) => clamp_to_log(cluster, tps.iter().map(|tp| (tp.clone(), n)).collect()),
        ResetTo::ShiftBy(n) => {
            let current = committed(coordinator, group)?;
            let requested = tps
                .iter()
                .map(|tp| match current.get(tp) {
                    Some(offset) => Ok((tp.clone(), offset.saturating_add(n))),
                    None => bail!(
                        "Cannot shift offset for partition {}-{} since there is no current committed offset",
                        tp.0,
                        tp.1
                    ),
                })
                .collect::<anyhow::Result<_>>()?;
            clamp_to_log(cluster, requested)
        }
        ResetTo::DateTime(ms) => offsets_for_time(cluster, tps, ms, out),
        ResetTo::ByDuration(ms) => {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            offsets_for_time(cluster, tps, now_ms.saturating_sub(ms), out)
        }
    }
}
