//! Request dispatch: reads the request header, checks the API key and version
//! against the handler table, decodes the body, runs the handler and encodes
//! the response. The handler table below is the one source of truth: the
//! ApiVersions answer is built from it (`supported_api_versions`), here, so
//! no handler needs dispatch (handlers take `RequestContext` from
//! `request_context.rs`).
//!
//! Kafka's behaviour on bad input, which clients rely on: an unknown API key,
//! an unsupported version (except ApiVersions) or an undecodable body closes
//! the connection with a log line; an unsupported ApiVersions version gets a
//! v0 body with UNSUPPORTED_VERSION so the client can retry with one we know.
//!
//! Responses are encoded into a `ChunkedBuf` (`response_frame.rs`): record
//! payloads a handler registered (Fetch) are referenced, not copied, so a
//! Fetch response holds its record data once, as read from the log.
//!
//! A Produce request that waits for its replicas (acks=all) comes back as
//! [`Handled::Replicating`] once its records are appended: the rest (the
//! wait and the response) is a future the connection awaits in order while
//! it appends the Produce requests that follow (`connection.rs`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};

use super::context::BrokerServices;
use super::handlers;
use super::request_context::{RequestContext, ResponseExtras};
use super::response_frame::{ChunkedBuf, ResponseFrame};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("request of {0} bytes is too short for a request header")]
    Truncated(usize),
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("unsupported version {version} of {key:?}")]
    UnsupportedVersion { key: ApiKey, version: i16 },
    #[error("malformed {key:?} v{version} request: {detail}")]
    Malformed {
        key: ApiKey,
        version: i16,
        detail: String,
    },
    #[error("cannot encode {key:?} v{version} response: {detail}")]
    Encode {
        key: ApiKey,
        version: i16,
        detail: String,
    },
}

macro_rules! handler_table {
    ($( $key:ident => $module:ident, $request:ty; )*) => {
        /// (api key, min version, max version) of every API this broker serves.
        pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
            (ApiKey::ApiVersions, API_VERSIONS_VERSIONS.0, API_VERSIONS_VERSIONS.1),
            $( (ApiKey::$key, handlers::$module::VERSIONS.0, handlers::$module::VERSIONS.1), )*
        ];

        async fn route(
            services: &Arc<BrokerServices>,
            ctx: RequestContext,
            body: &mut Bytes,
        ) -> Result<Option<ResponseFrame>, DispatchError> {
            let (key, version) = (ctx.api_key, ctx.version);
            let correlation_id = ctx.header.correlation_id;
            match key {
                ApiKey::ApiVersions => {
                    decode_body::<ApiVersionsRequest>(key, version, body)?;
                    let response = ApiVersionsResponse::default().with_api_keys(supported_api_versions());
                    encode_frame(key, version, correlation_id, &response, ResponseExtras::default()).map(Some)
                }
                $( ApiKey::$key => {
                    let request = decode_body::<$request>(key, version, body)?;
                    match handlers::$module::handle(services, &ctx, request).await {
                        Some(response) => {
                            let extras = ctx.take_extras();
                            encode_frame(key, version, correlation_id, &response, extras).map(Some)
                        }
                        None => Ok(None),
                    }
                } )*
                _ => Err(DispatchError::UnknownApiKey(key as i16)),
            }
        }

        /// Decodes a request body exactly as dispatch does before running
        /// its handler, and drops it: the seam the fuzz test
        /// (`tests/fuzz.rs`) drives without a broker.
        pub fn decode_request_body(
            key: ApiKey,
            version: i16,
            body: &mut Bytes,
        ) -> Result<(), DispatchError> {
            match key {
                ApiKey::ApiVersions => decode_body::<ApiVersionsRequest>(key, version, body).map(drop),
                $( ApiKey::$key => decode_body::<$request>(key, version, body).map(drop), )*
                _ => Err(DispatchError::UnknownApiKey(key as i16)),
            }
        }
    };
}

/// The request body of `key` v`version` at the front of `body`.
fn decode_body<R: Decodable>(
    key: ApiKey,
    version: i16,
    body: &mut Bytes,
) -> Result<R, DispatchError> {
    R::decode(body, version).map_err(|e| DispatchError::Malformed {
        key,
        version,
        detail: e.to_string(),
    })
}

handler_table! {
    Produce => produce, ProduceRequest;
    Fetch => fetch, FetchRequest;
    ListOffsets => list_offsets, ListOffsetsRequest;
    Metadata => metadata, MetadataRequest;
    LeaderAndIsr => leader_and_isr, LeaderAndIsrRequest;
    StopReplica => stop_replica, StopReplicaRequest;
    UpdateMetadata => update_metadata, UpdateMetadataRequest;
    ControlledShutdown => controlled_shutdown, ControlledShutdownRequest;
    FindCoordinator => find_coordinator, FindCoordinatorRequest;
    CreateTopics => create_topics, CreateTopicsRequest;
    DeleteTopics => delete_topics, DeleteTopicsRequest;
    InitProducerId => init_producer_id, InitProducerIdRequest;
    DescribeConfigs => describe_configs, DescribeConfigsRequest;
    AlterConfigs => alter_configs, AlterConfigsRequest;
    IncrementalAlterConfigs => incremental_alter_configs, IncrementalAlterConfigsRequest;
    OffsetForLeaderEpoch => offsets_for_leader_epoch, OffsetForLeaderEpochRequest;
    ElectLeaders => elect_leaders, ElectLeadersRequest;
    AlterPartitionReassignments => alter_partition_reassignments, AlterPartitionReassignmentsRequest;
    ListPartitionReassignments => list_partition_reassignments, ListPartitionReassignmentsRequest;
    OffsetCommit => offset_commit, OffsetCommitRequest;
    OffsetFetch => offset_fetch, OffsetFetchRequest;
    JoinGroup => join_group, JoinGroupRequest;
    Heartbeat => heartbeat, HeartbeatRequest;
    LeaveGroup => leave_group, LeaveGroupRequest;
    SyncGroup => sync_group, SyncGroupRequest;
    DescribeGroups => describe_groups, DescribeGroupsRequest;
    ListGroups => list_groups, ListGroupsRequest;
    DeleteGroups => delete_groups, DeleteGroupsRequest;
    OffsetDelete => offset_delete, OffsetDeleteRequest;
    CreatePartitions => create_partitions, CreatePartitionsRequest;
    DeleteRecords => delete_records, DeleteRecordsRequest;
    DescribeLogDirs => describe_log_dirs, DescribeLogDirsRequest;
    DescribeCluster => describe_cluster, DescribeClusterRequest;
    SaslHandshake => sasl_handshake, SaslHandshakeRequest;
    SaslAuthenticate => sasl_authenticate, SaslAuthenticateRequest;
}

/// ApiVersions (key 18), versions 0-3, answered here from the handler
/// table. Optional tagged fields (features) stay empty: older librdkafka
/// trips on some.
const API_VERSIONS_VERSIONS: (i16, i16) = (0, 3);

/// The ApiVersions answer's ranges: exactly the handler table, so what we
/// advertise is what we serve.
pub fn supported_api_versions() -> Vec<ApiVersion> {
    SUPPORTED_APIS
        .iter()
        .map(|&(key, min, max)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect()
}

/// A client asked with an ApiVersions version newer than ours: answer in v0
/// with UNSUPPORTED_VERSION and our ranges, so it retries with one we know.
fn unsupported_version_response(correlation_id: i32) -> Result<BytesMut, DispatchError> {
    let body = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(supported_api_versions());
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &body)
}

pub fn supported_range(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED_APIS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, min, max)| (min, max))
}

/// What the first bytes of a request frame say, checked against the
/// handler table.
#[derive(Debug)]
pub enum RequestHead {
    /// A key and version this broker serves; the frame is left at the body.
    Supported {
        key: ApiKey,
        version: i16,
        header: RequestHeader,
    },
    /// ApiVersions in a version newer than ours: answered in v0 with
    /// UNSUPPORTED_VERSION and our ranges.
    ApiVersionsTooNew { correlation_id: i32 },
}

/// Reads the request header at the front of `frame` (Kafka's
/// `RequestHeader`), after checking its key and version against the handler
/// table; on success `frame` is left at the request body.
pub fn read_request_head(frame: &mut Bytes) -> Result<RequestHead, DispatchError> {
    if frame.len() < 8 {
        return Err(DispatchError::Truncated(frame.len()));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(raw_key).map_err(|_| DispatchError::UnknownApiKey(raw_key))?;
    let Some((min, max)) = supported_range(key) else {
        return Err(DispatchError::UnknownApiKey(raw_key));
    };
    if version < min || version > max {
        if key == ApiKey::ApiVersions {
            return Ok(RequestHead::ApiVersionsTooNew { correlation_id });
        }
        return Err(DispatchError::UnsupportedVersion { key, version });
    }
    let header =
        RequestHeader::decode(frame, key.request_header_version(version)).map_err(|e| {
            DispatchError::Malformed {
                key,
                version,
                detail: format!("header: {e}"),
            }
        })?;
    Ok(RequestHead::Supported {
        key,
        version,
        header,
    })
}

/// A response still waiting for the replicas (see [`Handled`]).
pub type ReplicatingResponse =
    Pin<Box<dyn Future<Output = Result<Option<ResponseFrame>, DispatchError>> + Send>>;

/// What handling a request left: its response (`None`: no response, acks=0),
/// or an acks=all Produce whose records are appended and whose response
/// comes once the in-sync replicas have them.
pub enum Handled {
    Done(Option<ResponseFrame>),
    Replicating(ReplicatingResponse),
}

/// Handles one request frame, waiting for any acks=all replication before
/// it returns; `Ok(None)` means no response is sent (acks=0).
pub async fn handle_request(
    services: &Arc<BrokerServices>,
    frame: Bytes,
    peer: Option<SocketAddr>,
    listener_name: &Arc<str>,
) -> Result<Option<ResponseFrame>, DispatchError> {
    match start_request(services, frame, peer, listener_name).await? {
        Handled::Done(response) => Ok(response),
        Handled::Replicating(rest) => rest.await,
    }
}

/// Handles one request frame up to an acks=all Produce's wait for its
/// replicas, which is left in [`Handled::Replicating`].
pub async fn start_request(
    services: &Arc<BrokerServices>,
    mut frame: Bytes,
    peer: Option<SocketAddr>,
    listener_name: &Arc<str>,
) -> Result<Handled, DispatchError> {
    let (key, version, header) = match read_request_head(&mut frame) {
        Ok(RequestHead::Supported {
            key,
            version,
            header,
        }) => (key, version, header),
        Ok(RequestHead::ApiVersionsTooNew { correlation_id }) => {
            crate::metrics::global().record_request(
                ApiKey::ApiVersions,
                std::time::Duration::ZERO,
                false,
            );
            return unsupported_version_response(correlation_id)
                .map(|bytes| Handled::Done(Some(bytes.into())));
        }
        Err(e) => {
            // A known key this broker does not serve, or an unsupported
            // version, counts as a failed request of that key.
            let refused_key = match &e {
                DispatchError::UnknownApiKey(raw) => ApiKey::try_from(*raw).ok(),
                DispatchError::UnsupportedVersion { key, .. } => Some(*key),
                _ => None,
            };
            if let Some(key) = refused_key {
                crate::metrics::global().record_request(key, std::time::Duration::ZERO, true);
            }
            return Err(e);
        }
    };
    let correlation_id = header.correlation_id;
    let ctx = RequestContext {
        api_key: key,
        version,
        header,
        peer,
        listener_name: listener_name.clone(),
        extras: Default::default(),
    };
    let started = std::time::Instant::now();
    if key == ApiKey::Produce {
        let request =
            ProduceRequest::decode(&mut frame, version).map_err(|e| DispatchError::Malformed {
                key,
                version,
                detail: e.to_string(),
            })?;
        note_trailing_bytes(key, version, &frame);
        let pending = handlers::produce::append(services, &ctx, request).await;
        let waits = pending.awaits_replicas();
        let rest = async move {
            let response = pending
                .finish()
                .await
                .map(|r| encode_frame(key, version, correlation_id, &r, ctx.take_extras()))
                .transpose();
            record_request(key, version, correlation_id, started, &response);
            response
        };
        return Ok(if waits {
            Handled::Replicating(Box::pin(rest))
        } else {
            Handled::Done(rest.await?)
        });
    }
    let response = route(services, ctx, &mut frame).await;
    record_request(key, version, correlation_id, started, &response);
    let response = response?;
    note_trailing_bytes(key, version, &frame);
    Ok(Handled::Done(response))
}

fn record_request<T>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    started: std::time::Instant,
    response: &Result<T, DispatchError>,
) {
    let elapsed = started.elapsed();
    crate::metrics::global().record_request(key, elapsed, response.is_err());
    tracing::debug!(api = ?key, version, correlation_id, elapsed_us = elapsed.as_micros() as u64, ok = response.is_ok(), "request");
}

fn note_trailing_bytes(key: ApiKey, version: i16, frame: &Bytes) {
    if frame.has_remaining() {
        tracing::debug!(
            ?key,
            version,
            left = frame.remaining(),
            "request had trailing bytes"
        );
    }
}

/// Encodes header and body into a frame that references `extras.payloads`
/// wherever the body holds them, and holds `extras.memory` until written.
pub fn encode_frame<R: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
    extras: ResponseExtras,
) -> Result<ResponseFrame, DispatchError> {
    let encode_error = |detail: String| DispatchError::Encode {
        key,
        version,
        detail,
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = key.response_header_version(version);
    let size = header
        .compute_size(header_version)
        .and_then(|h| Ok(h + body.compute_size(version)?))
        .map_err(|e| encode_error(e.to_string()))?;
    if size > i32::MAX as usize {
        return Err(encode_error(format!(
            "{size} bytes is over a frame's limit"
        )));
    }
    let shared: usize = extras.payloads.iter().map(Bytes::len).sum();
    let shared = shared + extras.files.bytes();
    let mut buf = ChunkedBuf::new(size.saturating_sub(shared).min(1 << 20), extras.payloads)
        .with_files(extras.files);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| encode_error(e.to_string()))?;
    body.encode(&mut buf, version)
        .map_err(|e| encode_error(e.to_string()))?;
    let mut frame = buf
        .try_finish()
        .map_err(|e| encode_error(format!("file records: {e}")))?;
    debug_assert_eq!(frame.len(), size, "compute_size and encode agree");
    if let Some(memory) = extras.memory {
        frame.hold(memory);
    }
    Ok(frame)
}

/// Encodes a small response into one buffer (the ApiVersions fallback).
pub fn encode_response<R: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<BytesMut, DispatchError> {
    let encode_error = |e: anyhow::Error| DispatchError::Encode {
        key,
        version,
        detail: e.to_string(),
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = key.response_header_version(version);
    let size = header
        .compute_size(header_version)
        .and_then(|h| Ok(h + body.compute_size(version)?))
        .map_err(encode_error)?;
    let mut buf = BytesMut::with_capacity(size);
    header
        .encode(&mut buf, header_version)
        .map_err(encode_error)?;
    body.encode(&mut buf, version).map_err(encode_error)?;
    Ok(buf)
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
