//! `sluice configs`: Kafka 3.x's kafka-configs.sh for topics and brokers.
//! --describe asks DescribeConfigs (with synonyms) and prints `Dynamic
//! configs for topic T are:` followed by `  k=v sensitive=false
//! synonyms={...}` for each dynamic entry (every entry with --all);
//! --alter sends IncrementalAlterConfigs (SET for --add-config, DELETE for
//! --delete-config) and prints `Completed updating config for topic T.`.

use std::fmt::Write as _;
use std::io::Write;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::*;

use crate::model;
use crate::protocol::config_source::config_source_name;

use super::admin_client::{
    Admin, ClusterMetadata, ToolError, ToolResult, check, emit, one_action, sb,
};

/// DescribeConfigs / AlterConfigs resource types.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// IncrementalAlterConfigs operations.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;

/// The command line, as kafka-configs.sh spells it.
#[derive(clap::Args, Debug)]
pub struct ConfigsArgs {
    /// HOST:PORT[,HOST:PORT...] of any broker.
    #[arg(long = "bootstrap-server")]
    pub bootstrap_server: String,
    /// topics or brokers.
    #[arg(long = "entity-type")]
    pub entity_type: String,
    /// The topic name or broker id (all of them with --describe when left out).
    #[arg(long = "entity-name")]
    pub entity_name: Option<String>,
    /// The cluster-wide default broker configs (with --entity-type brokers).
    #[arg(long = "entity-default")]
    pub entity_default: bool,
    /// List the configs of the entity.
    #[arg(long)]
    pub describe: bool,
    /// Change the configs of the entity.
    #[arg(long)]
    pub alter: bool,
    /// With --describe: every config, not only the dynamic ones.
    #[arg(long)]
    pub all: bool,
    /// k1=v1,k2=[v1,v2,v2],k3=v3: configs to set.
    #[arg(long = "add-config")]
    pub add_config: Option<String>,
    /// k1,k2: configs to remove (back to their default).
    #[arg(long = "delete-config")]
    pub delete_config: Option<String>,
}

/// Which entity the command is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EntityType {
    Topics,
    Brokers,
}

impl EntityType {
    fn resource_type(self) -> i8 {
        match self {
            EntityType::Topics => RESOURCE_TOPIC,
            EntityType::Brokers => RESOURCE_BROKER,
        }
    }

    /// The config source `--describe` shows without --all.
    fn dynamic_source(self, name: &str) -> i8 {
        match (self, name.is_empty()) {
            (EntityType::Topics, _) => 1,
            (EntityType::Brokers, false) => 2,
            (EntityType::Brokers, true) => 3,
        }
    }

    fn singular(self) -> &'static str {
        match self {
            EntityType::Topics => "topic",
            EntityType::Brokers => "broker",
        }
    }
}

/// Runs the tool, writing what kafka-configs.sh prints to `out`.
pub fn run(args: &ConfigsArgs, out: &mut dyn Write) -> ToolResult<()> {
    let action = one_action(&[(args.alter, "--alter"), (args.describe, "--describe")])?;
    let entity_type = match args.entity_type.as_str() {
        "topics" => EntityType::Topics,
        "brokers" => EntityType::Brokers,
        other => {
            return Err(ToolError::Usage(format!(
                "Invalid entity type '{other}': use --entity-type topics or --entity-type brokers"
            )));
        }
    };
    if args.entity_default && entity_type != EntityType::Brokers {
        return Err(ToolError::Usage(
            "--entity-default is only valid with --entity-type brokers".to_string(),
        ));
    }
    if args.entity_default && args.entity_name.is_some() {
        return Err(ToolError::Usage(
            "Give either --entity-name or --entity-default, not both".to_string(),
        ));
    }
    let name = if args.entity_default {
        Some(String::new())
    } else {
        args.entity_name.clone()
    };
    if let (EntityType::Brokers, Some(n)) = (entity_type, &name)
        && !n.is_empty()
        && n.parse::<i32>().is_err()
    {
        return Err(ToolError::Usage(format!(
            "The entity name for brokers must be a valid integer broker id, found: {n}"
        )));
    }
    let mut admin = Admin::connect(&args.bootstrap_server)?;
    if action == 0 {
        let Some(name) = name else {
            return Err(ToolError::Usage(
                "--alter needs --entity-name NAME (or --entity-default for brokers)".to_string(),
            ));
        };
        alter(&mut admin, args, entity_type, &name, out)
    } else {
        if args.add_config.is_some() || args.delete_config.is_some() {
            return Err(ToolError::Usage(
                "--add-config and --delete-config only go with --alter".to_string(),
            ));
        }
        describe(&mut admin, entity_type, name, args.all, out)
    }
}

/// `k1=v1,k2=[a,b],k3=v3` -> pairs; commas inside brackets belong to the value.
pub fn parse_add_config(text: &str) -> ToolResult<Vec<(String, String)>> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                let v = v.trim();
                let v = v
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .unwrap_or(v);
                Ok((k.trim().to_string(), v.to_string()))
            }
            _ => Err(ToolError::Usage(format!(
                "Invalid entity config: all configs to be added must be in the format \"key=val\" (got '{item}')"
            ))),
        })
        .collect()
}

fn describe_one(
    admin: &mut Admin,
    entity_type: EntityType,
    name: &str,
    cluster: &ClusterMetadata,
) -> ToolResult<Vec<DescribeConfigsResourceResult>> {
    let version = admin.version::<DescribeConfigsRequest>()?;
    let mut request = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(entity_type.resource_type())
            .with_resource_name(sb(name))
            .with_configuration_keys(None),
    ]);
    if version >= 1 {
        request.include_synonyms = true;
    }
    let response = match (entity_type, name.parse::<i32>()) {
        (EntityType::Brokers, Ok(id)) => {
            admin.send_to(model::BrokerId(id), cluster, version, &request)?
        }
        _ => admin.send(version, &request)?,
    };
    let mut entries = Vec::new();
    for result in response.results {
        check(
            result.error_code,
            result.error_message.as_ref(),
            &format!(
                "cannot describe the configs of {} '{name}'",
                entity_type.singular()
            ),
        )?;
        entries.extend(result.configs);
    }
    Ok(entries)
}

fn value_text(v: Option<&kafka_protocol::protocol::StrBytes>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

fn describe(
    admin: &mut Admin,
    entity_type: EntityType,
    name: Option<String>,
    all: bool,
    out: &mut dyn Write,
) -> ToolResult<()> {
    let cluster = admin.metadata(None)?;
    let names: Vec<String> = match (&name, entity_type) {
        (Some(n), EntityType::Topics) => {
            if !cluster.topics.contains_key(n) {
                return Err(ToolError::UnknownTopic(n.clone()));
            }
            vec![n.clone()]
        }
        (Some(n), EntityType::Brokers) => vec![n.clone()],
        (None, EntityType::Topics) => cluster.topics.keys().cloned().collect(),
        (None, EntityType::Brokers) => cluster
            .brokers
            .keys()
            .map(model::BrokerId::to_string)
            .chain([String::new()])
            .collect(),
    };
    let mut text = String::new();
    for entity in names {
        if entity.is_empty() {
            text.push_str("Default configs for brokers in the cluster are:\n");
        } else {
            let which = if all { "All" } else { "Dynamic" };
            let _ = writeln!(
                text,
                "{which} configs for {} {entity} are:",
                entity_type.singular()
            );
        }
        let dynamic = entity_type.dynamic_source(&entity);
        for entry in describe_one(admin, entity_type, &entity, &cluster)? {
            if !all && entry.config_source != dynamic {
                continue;
            }
            let synonyms: Vec<String> = entry
                .synonyms
                .iter()
                .map(|s| {
                    format!(
                        "{}:{}={}",
                        config_source_name(s.source),
                        s.name,
                        value_text(s.value.as_ref())
                    )
                })
                .collect();
            let _ = writeln!(
                text,
                "  {}={} sensitive={} synonyms={{{}}}",
                entry.name,
                value_text(entry.value.as_ref()),
                entry.is_sensitive,
                synonyms.join(", ")
            );
        }
    }
    emit(out, &text)
}

fn alter(
    admin: &mut Admin,
    args: &ConfigsArgs,
    entity_type: EntityType,
    name: &str,
    out: &mut dyn Write,
) -> ToolResult<()> {
    let to_add = parse_add_config(args.add_config.as_deref().unwrap_or_default())?;
    let to_delete: Vec<String> = args
        .delete_config
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if to_add.is_empty() && to_delete.is_empty() {
        return Err(ToolError::Usage(
            "--alter needs --add-config k=v[,k=v...] and/or --delete-config k[,k...]".to_string(),
        ));
    }
    let cluster = admin.metadata(None)?;
    if entity_type == EntityType::Topics && !cluster.topics.contains_key(name) {
        return Err(ToolError::UnknownTopic(name.to_string()));
    }
    if !to_delete.is_empty() {
        // Like Kafka: every config to delete must currently be set dynamically.
        let dynamic = entity_type.dynamic_source(name);
        let current: Vec<String> = describe_one(admin, entity_type, name, &cluster)?
            .into_iter()
            .filter(|e| e.config_source == dynamic)
            .map(|e| e.name.to_string())
            .collect();
        let missing: Vec<&str> = to_delete
            .iter()
            .filter(|k| !current.contains(k))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(ToolError::Failed {
                what: format!(
                    "cannot delete configs of {} '{name}'",
                    entity_type.singular()
                ),
                message: format!(
                    "Invalid config(s): {} (not set on this {}; see them with --describe)",
                    missing.join(","),
                    entity_type.singular()
                ),
            });
        }
    }
    let version = admin.version::<IncrementalAlterConfigsRequest>()?;
    let configs = to_add
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(sb(k))
                .with_config_operation(OP_SET)
                .with_value(Some(sb(v)))
        })
        .chain(to_delete.iter().map(|k| {
            AlterableConfig::default()
                .with_name(sb(k))
                .with_config_operation(OP_DELETE)
                .with_value(None)
        }))
        .collect();
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(entity_type.resource_type())
            .with_resource_name(sb(name))
            .with_configs(configs),
    ]);
    let response = match (entity_type, name.parse::<i32>()) {
        (EntityType::Brokers, Ok(id)) => {
            admin.send_to(model::BrokerId(id), &cluster, version, &request)?
        }
        _ => admin.send(version, &request)?,
    };
    for result in &response.responses {
        check(
            result.error_code,
            result.error_message.as_ref(),
            &format!(
                "cannot update the configs of {} '{name}'",
                entity_type.singular()
            ),
        )?;
    }
    let text = if name.is_empty() {
        "Completed updating default config for brokers in the cluster.\n".to_string()
    } else {
        format!(
            "Completed updating config for {} {name}.\n",
            entity_type.singular()
        )
    };
    emit(out, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_keeps_bracketed_lists_together() {
        let parsed = parse_add_config("a=1,b=[x,y],c=3").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x,y".to_string()),
                ("c".to_string(), "3".to_string())
            ]
        );
        assert!(parse_add_config("novalue").is_err());
    }
}
