//! What the admin tools (`sluice topics`, `configs`, `reassign-partitions`,
//! `leader-election`) share: [`Admin`] connects to the first reachable
//! bootstrap broker, learns its API versions (ApiVersions) and sends each
//! request at the highest version both sides know, to that broker, to the
//! controller or to a given broker; [`ClusterMetadata`] is one Metadata
//! answer; [`ToolError`] says what went wrong in plain words with the fix.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsResponse, ApiKey, ApiVersionsRequest, ApiVersionsResponse,
    CreatePartitionsResponse, CreateTopicsResponse, DeleteTopicsResponse, ElectLeadersResponse,
    ListPartitionReassignmentsResponse, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use uuid::Uuid;

use crate::client::blocking::{BlockingConnection, BlockingError};
use crate::model::BrokerId;

/// How long to wait for a controller to be elected before giving up.
const CONTROLLER_WAIT: Duration = Duration::from_secs(15);
const CONTROLLER_POLL: Duration = Duration::from_millis(200);

/// Why an admin command failed; printed on stderr, exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The options do not make a command (Kafka's IllegalArgumentException).
    #[error("{0}")]
    Usage(String),
    #[error(
        "cannot reach any broker at {bootstrap} ({detail}). Check --bootstrap-server: it must list HOST:PORT of at least one running broker"
    )]
    Unreachable { bootstrap: String, detail: String },
    #[error(
        "broker {id} at {address} does not answer ({detail}); it may be down or restarting: check it, then retry"
    )]
    BrokerUnreachable {
        id: BrokerId,
        address: String,
        detail: String,
    },
    #[error(
        "Topic '{0}' does not exist as expected. See the existing topics with `sluice topics --bootstrap-server HOST:PORT --list`"
    )]
    UnknownTopic(String),
    /// The cluster answered with an error.
    #[error("{what}: {message}")]
    Failed { what: String, message: String },
    #[error(
        "the broker at {address} does not support {api:?} (it needs versions {ours_min}-{ours_max}); upgrade the broker to a Sluice that serves it"
    )]
    Unsupported {
        address: String,
        api: ApiKey,
        ours_min: i16,
        ours_max: i16,
    },
    #[error("cannot read {path}: {detail}")]
    File { path: String, detail: String },
    /// A request or its answer failed on the wire.
    #[error(transparent)]
    Connection(#[from] BlockingError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type ToolResult<T> = Result<T, ToolError>;

/// Prints a tool's error on stderr and turns its result into the exit code.
pub fn exit_code(result: ToolResult<()>, command: &str) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ToolError::Usage(message)) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("Error while executing {command} command : {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes to stdout, turning an I/O failure (closed pipe) into a ToolError.
pub fn emit(out: &mut dyn Write, text: &str) -> ToolResult<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| ToolError::Other(anyhow::anyhow!("cannot write the output: {e}")))
}

pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// `Err(Failed)` for a non-zero error code, with the broker's message or
/// Kafka's description of the code.
pub fn check(code: i16, message: Option<&StrBytes>, what: &str) -> ToolResult<()> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(e) => Err(ToolError::Failed {
            what: what.to_string(),
            message: describe_error(e, message),
        }),
    }
}

/// "<message or description> (<ErrorName>)".
pub fn describe_error(e: ResponseError, message: Option<&StrBytes>) -> String {
    let text = match message {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => plain_words(e).map_or_else(|| e.to_string(), str::to_string),
    };
    format!("{text} ({e:?})")
}

/// Kafka's description of the errors these tools meet most, with the fix
/// where there is one.
fn plain_words(e: ResponseError) -> Option<&'static str> {
    Some(match e {
        ResponseError::UnknownTopicOrPartition => {
            "This topic or partition does not exist; list them with `sluice topics --list`"
        }
        ResponseError::RequestTimedOut => "The request timed out; the cluster may be busy, retry",
        ResponseError::InvalidTopicException => {
            "The topic name is invalid (use letters, digits, '.', '_' and '-', at most 249)"
        }
        ResponseError::TopicAlreadyExists => "Topic with this name already exists",
        ResponseError::InvalidPartitions => "The number of partitions is invalid",
        ResponseError::InvalidReplicationFactor => {
            "Replication factor is below 1 or larger than the number of available brokers"
        }
        ResponseError::InvalidReplicaAssignment => "Replica assignment is invalid",
        ResponseError::InvalidConfig => "Configuration is invalid",
        ResponseError::NotController => "This is not the correct controller for this cluster",
        ResponseError::ReassignmentInProgress => "A partition reassignment is in progress",
        ResponseError::TopicDeletionDisabled => {
            "Topic deletion is disabled: set delete.topic.enable=true on the brokers"
        }
        ResponseError::PreferredLeaderNotAvailable => {
            "The preferred leader is not available (down or not in the ISR yet); retry once it has caught up"
        }
        ResponseError::EligibleLeadersNotAvailable => {
            "No eligible leader is available: no live replica can take over"
        }
        ResponseError::NoReassignmentInProgress => "No partition reassignment is in progress",
        _ => return None,
    })
}

/// The one option among `flags` that is set, or Kafka's usage complaint.
pub fn one_action(flags: &[(bool, &str)]) -> ToolResult<usize> {
    let chosen: Vec<usize> = (0..flags.len()).filter(|&i| flags[i].0).collect();
    match chosen.as_slice() {
        [one] => Ok(*one),
        _ => {
            let names: Vec<&str> = flags.iter().map(|(_, n)| *n).collect();
            Err(ToolError::Usage(format!(
                "Command must include exactly one action: {}",
                names.join(", ")
            )))
        }
    }
}

/// A connection to one broker plus the API versions the cluster serves.
pub struct Admin {
    bootstrap: String,
    conn: BlockingConnection,
    /// api key -> (min, max) served by the bootstrap broker.
    versions: HashMap<i16, (i16, i16)>,
}

impl Admin {
    /// Connects to the first reachable broker of `bootstrap`
    /// (HOST:PORT[,HOST:PORT...]) and asks for its API versions.
    pub fn connect(bootstrap: &str) -> ToolResult<Admin> {
        let mut last = String::from("no address given");
        for address in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            if !address.contains(':') {
                return Err(ToolError::Usage(format!(
                    "Invalid --bootstrap-server '{address}': expected HOST:PORT, e.g. localhost:9092"
                )));
            }
            match BlockingConnection::connect(address) {
                Ok(mut conn) => {
                    let response: ApiVersionsResponse =
                        conn.send(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default())?;
                    check(response.error_code, None, "ApiVersions")?;
                    let versions = response
                        .api_keys
                        .iter()
                        .map(|k| (k.api_key, (k.min_version, k.max_version)))
                        .collect();
                    return Ok(Admin {
                        bootstrap: bootstrap.to_string(),
                        conn,
                        versions,
                    });
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(ToolError::Unreachable {
            bootstrap: bootstrap.to_string(),
            detail: last,
        })
    }

    /// Whether the cluster serves `R` at a version this tool can send.
    pub fn supports<R: Request>(&self) -> bool {
        self.version::<R>().is_ok()
    }

    /// The highest version of `R` both this tool and the broker know.
    pub fn version<R: Request>(&self) -> ToolResult<i16> {
        let ours = R::VERSIONS;
        let unsupported = || ToolError::Unsupported {
            address: self.conn.address().to_string(),
            api: ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions),
            ours_min: ours.min,
            ours_max: ours.max,
        };
        let &(min, max) = self.versions.get(&R::KEY).ok_or_else(unsupported)?;
        let version = max.min(ours.max);
        if version < min.max(ours.min) {
            return Err(unsupported());
        }
        Ok(version)
    }

    /// Sends `request` (built for `version`) to the bootstrap broker.
    pub fn send<R: Request>(&mut self, version: i16, request: &R) -> ToolResult<R::Response> {
        let key = api_key::<R>();
        Ok(self.conn.send(key, version, request)?)
    }

    /// Sends `request` (built for `version`) to broker `id`.
    pub fn send_to<R: Request>(
        &mut self,
        id: BrokerId,
        cluster: &ClusterMetadata,
        version: i16,
        request: &R,
    ) -> ToolResult<R::Response> {
        let address = cluster.brokers.get(&id).ok_or_else(|| ToolError::Failed {
            what: format!("{:?}", api_key::<R>()),
            message: format!(
                "broker {id} is not alive (live brokers: {}); start it or wait for it to register",
                cluster.broker_list()
            ),
        })?;
        if address == self.conn.address() {
            return self.send(version, request);
        }
        let mut conn =
            BlockingConnection::connect(address).map_err(|e| ToolError::BrokerUnreachable {
                id,
                address: address.clone(),
                detail: e.to_string(),
            })?;
        Ok(conn.send(api_key::<R>(), version, request)?)
    }

    /// Sends `request` to the active controller (CreateTopics, DeleteTopics,
    /// CreatePartitions, ElectLeaders, reassignments must go there). While
    /// there is no controller, it has moved (NOT_CONTROLLER) or it does not
    /// answer, asks Metadata again, for up to [`CONTROLLER_WAIT`].
    pub fn send_to_controller<R: Request>(
        &mut self,
        cluster: &ClusterMetadata,
        version: i16,
        request: &R,
    ) -> ToolResult<R::Response>
    where
        R::Response: ControllerAnswer,
    {
        let deadline = Instant::now() + CONTROLLER_WAIT;
        let mut cluster = cluster.clone();
        loop {
            let last = if !cluster.controller_id.is_valid() {
                Err(ToolError::Failed {
                    what: format!("{:?}", api_key::<R>()),
                    message: format!(
                        "the cluster has had no active controller for {CONTROLLER_WAIT:?}; check that the brokers are connected to ZooKeeper, then retry"
                    ),
                })
            } else {
                match self.send_to(cluster.controller_id, &cluster, version, request) {
                    Ok(response) if response.not_controller() => Err(ToolError::Failed {
                        what: format!("{:?}", api_key::<R>()),
                        message: format!(
                            "broker {} kept answering NOT_CONTROLLER for {CONTROLLER_WAIT:?}; retry when the controller election has settled",
                            cluster.controller_id
                        ),
                    }),
                    Ok(response) => return Ok(response),
                    Err(e @ ToolError::BrokerUnreachable { .. }) => Err(e),
                    Err(e) => return Err(e),
                }
            };
            if Instant::now() >= deadline {
                return last;
            }
            std::thread::sleep(CONTROLLER_POLL);
            cluster = self.metadata(Some(&[]))?;
        }
    }

    /// Metadata for `topics` (all topics when `None`); never auto-creates.
    pub fn metadata(&mut self, topics: Option<&[String]>) -> ToolResult<ClusterMetadata> {
        let (version, request) = self.metadata_request(topics)?;
        let response: MetadataResponse = self.send(version, &request)?;
        Ok(ClusterMetadata::from_response(&response))
    }

    /// Like [`Admin::metadata`], asking the controller (the first broker to
    /// learn about finished moves) instead of the bootstrap broker.
    pub fn controller_metadata(
        &mut self,
        cluster: &ClusterMetadata,
        topics: Option<&[String]>,
    ) -> ToolResult<ClusterMetadata> {
        if !cluster.controller_id.is_valid() {
            return self.metadata(topics);
        }
        let (version, request) = self.metadata_request(topics)?;
        let response: MetadataResponse =
            self.send_to(cluster.controller_id, cluster, version, &request)?;
        Ok(ClusterMetadata::from_response(&response))
    }

    fn metadata_request(&self, topics: Option<&[String]>) -> ToolResult<(i16, MetadataRequest)> {
        let version = self.version::<MetadataRequest>()?;
        let mut request = MetadataRequest::default().with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(sb(t)))))
                .collect()
        }));
        if version >= 4 {
            request.allow_auto_topic_creation = false;
        }
        Ok((version, request))
    }

    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }
}

fn api_key<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions)
}

/// One partition as Metadata describes it.
#[derive(Debug, Clone)]
pub struct PartitionInfo {
    pub leader: BrokerId,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub error_code: i16,
}

/// One topic as Metadata describes it.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub id: Uuid,
    pub internal: bool,
    pub error_code: i16,
    pub partitions: BTreeMap<i32, PartitionInfo>,
}

/// Live brokers, the controller and topics from one Metadata answer.
#[derive(Debug, Clone)]
pub struct ClusterMetadata {
    /// broker id -> HOST:PORT
    pub brokers: BTreeMap<BrokerId, String>,
    pub controller_id: BrokerId,
    /// Topics that exist (error-free in the answer), by name.
    pub topics: BTreeMap<String, TopicInfo>,
}

impl ClusterMetadata {
    fn from_response(response: &MetadataResponse) -> ClusterMetadata {
        let brokers = response
            .brokers
            .iter()
            .map(|b| (BrokerId(b.node_id.0), format!("{}:{}", b.host, b.port)))
            .collect();
        let mut topics = BTreeMap::new();
        for t in &response.topics {
            let Some(name) = &t.name else { continue };
            if t.error_code == ResponseError::UnknownTopicOrPartition.code()
                || t.error_code == ResponseError::InvalidTopicException.code()
            {
                continue;
            }
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    (
                        p.partition_index,
                        PartitionInfo {
                            leader: BrokerId(p.leader_id.0),
                            replicas: p.replica_nodes.iter().map(|b| BrokerId(b.0)).collect(),
                            isr: p.isr_nodes.iter().map(|b| BrokerId(b.0)).collect(),
                            error_code: p.error_code,
                        },
                    )
                })
                .collect();
            topics.insert(
                name.0.to_string(),
                TopicInfo {
                    id: t.topic_id,
                    internal: t.is_internal,
                    error_code: t.error_code,
                    partitions,
                },
            );
        }
        ClusterMetadata {
            brokers,
            controller_id: BrokerId(response.controller_id.0),
            topics,
        }
    }

    /// "1,2,3": the live broker ids.
    pub fn broker_list(&self) -> String {
        join_ids(self.brokers.keys().copied())
    }
}

/// "1,2,3".
pub fn join_ids(ids: impl IntoIterator<Item = BrokerId>) -> String {
    ids.into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads a file named on the command line.
pub fn read_file(path: &str) -> ToolResult<String> {
    std::fs::read_to_string(path).map_err(|e| ToolError::File {
        path: path.to_string(),
        detail: e.to_string(),
    })
}

/// Whether a controller-bound response says the broker is not (or no longer)
/// the controller, so the request must go to the new one.
pub trait ControllerAnswer {
    fn not_controller(&self) -> bool;
}

/// Kafka's NOT_CONTROLLER error code.
const NOT_CONTROLLER: i16 = 41;

impl ControllerAnswer for CreateTopicsResponse {
    fn not_controller(&self) -> bool {
        self.topics.iter().any(|t| t.error_code == NOT_CONTROLLER)
    }
}

impl ControllerAnswer for DeleteTopicsResponse {
    fn not_controller(&self) -> bool {
        self.responses
            .iter()
            .any(|t| t.error_code == NOT_CONTROLLER)
    }
}

impl ControllerAnswer for CreatePartitionsResponse {
    fn not_controller(&self) -> bool {
        self.results.iter().any(|t| t.error_code == NOT_CONTROLLER)
    }
}

impl ControllerAnswer for ElectLeadersResponse {
    fn not_controller(&self) -> bool {
        self.error_code == NOT_CONTROLLER
    }
}

impl ControllerAnswer for AlterPartitionReassignmentsResponse {
    fn not_controller(&self) -> bool {
        self.error_code == NOT_CONTROLLER
    }
}

impl ControllerAnswer for ListPartitionReassignmentsResponse {
    fn not_controller(&self) -> bool {
        self.error_code == NOT_CONTROLLER
    }
}
