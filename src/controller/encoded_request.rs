//! A controller request encoded once, when the controller queues it, and
//! shared (`Arc`) by the queues of every broker it goes to. Only the broker
//! epoch differs between those brokers: it is written into the frame when
//! the request is sent. A queued UpdateMetadata of 10,000 partitions is then
//! one buffer of a few hundred kilobytes for the whole cluster instead of a
//! tree of small allocations per broker (which fragmented the controller's
//! heap; README, "Partitions at scale").

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, LeaderAndIsrResponse, StopReplicaResponse, UpdateMetadataResponse,
};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::control_request::{
    Answer, ControllerRequest, LEADER_AND_ISR_VERSION, STOP_REPLICA_VERSION,
    UPDATE_METADATA_VERSION,
};
use crate::client::{BrokerConnection, ConnectionError};
use crate::model::TopicPartition;

/// Where the broker epoch (int64) sits in the body of every request this
/// controller sends (controller id and epoch, two int32s, come first in
/// LeaderAndIsr v5, UpdateMetadata v7 and StopReplica v3).
const BROKER_EPOCH_AT: usize = 8;
const BROKER_EPOCH_END: usize = BROKER_EPOCH_AT + 8;

/// Why a request could not be encoded (a field its version cannot carry).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {request} v{version}: {detail}")]
pub struct EncodeError {
    request: &'static str,
    version: i16,
    detail: String,
}

/// A controller request as it goes on the wire, for any broker.
#[derive(Debug)]
pub struct EncodedRequest {
    name: &'static str,
    key: ApiKey,
    version: i16,
    /// The body, encoded with broker epoch -1.
    body: Bytes,
    /// StopReplica: the partitions asked, in request order (each is
    /// reported with its error code); empty otherwise.
    stop_replica_partitions: Vec<TopicPartition>,
}

impl EncodedRequest {
    /// Encodes `request` (built with broker epoch -1, as `requests.rs` does).
    pub fn new(request: &ControllerRequest) -> Result<EncodedRequest, EncodeError> {
        let name = request.name();
        let (key, version) = match request {
            ControllerRequest::LeaderAndIsr(_) => (ApiKey::LeaderAndIsr, LEADER_AND_ISR_VERSION),
            ControllerRequest::UpdateMetadata(_) => {
                (ApiKey::UpdateMetadata, UPDATE_METADATA_VERSION)
            }
            ControllerRequest::StopReplica(_) => (ApiKey::StopReplica, STOP_REPLICA_VERSION),
        };
        let err = |e: anyhow::Error| EncodeError {
            request: name,
            version,
            detail: e.to_string(),
        };
        let body = match request {
            ControllerRequest::LeaderAndIsr(r) => encode(r, version),
            ControllerRequest::UpdateMetadata(r) => encode(r, version),
            ControllerRequest::StopReplica(r) => encode(r, version),
        }
        .map_err(err)?;
        assert!(
            body.get(BROKER_EPOCH_AT..BROKER_EPOCH_END) == Some(&(-1i64).to_be_bytes()[..]),
            "{name} v{version}: the broker epoch is not where the controller writes it"
        );
        let stop_replica_partitions = match request {
            ControllerRequest::StopReplica(r) => r
                .topic_states
                .iter()
                .flat_map(|t| {
                    t.partition_states
                        .iter()
                        .map(|p| TopicPartition::new(t.topic_name.0.to_string(), p.partition_index))
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(EncodedRequest {
            name,
            key,
            version,
            body,
            stop_replica_partitions,
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn is_stop_replica(&self) -> bool {
        self.key == ApiKey::StopReplica
    }

    /// StopReplica: the partitions asked, in request order.
    pub fn stop_replica_partitions(&self) -> &[TopicPartition] {
        &self.stop_replica_partitions
    }

    /// Bytes held for the body (shared by every queue holding this request).
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The body addressed to a broker registered with `broker_epoch`.
    fn addressed(&self, broker_epoch: i64) -> AddressedBody<'_> {
        AddressedBody {
            body: &self.body,
            broker_epoch,
        }
    }

    /// The body as a broker registered with `broker_epoch` receives it.
    #[cfg(test)]
    pub fn body_for(&self, broker_epoch: i64) -> Bytes {
        let mut buf = BytesMut::new();
        self.addressed(broker_epoch)
            .encode(&mut buf, self.version)
            .expect("raw bytes encode");
        buf.freeze()
    }

    /// Sends the request, addressed to a broker registered with
    /// `broker_epoch`, on `connection` and decodes the answer: its top-level
    /// error code (and StopReplica's per-partition ones).
    pub(super) async fn send_on(
        &self,
        connection: &mut BrokerConnection,
        broker_epoch: i64,
    ) -> Result<Answer, ConnectionError> {
        let body = self.addressed(broker_epoch);
        Ok(match self.key {
            ApiKey::LeaderAndIsr => Answer {
                error_code: connection
                    .send::<_, LeaderAndIsrResponse>(self.key, self.version, &body)
                    .await?
                    .error_code,
                ..Default::default()
            },
            ApiKey::UpdateMetadata => Answer {
                error_code: connection
                    .send::<_, UpdateMetadataResponse>(self.key, self.version, &body)
                    .await?
                    .error_code,
                ..Default::default()
            },
            _ => {
                let response: StopReplicaResponse =
                    connection.send(self.key, self.version, &body).await?;
                Answer {
                    error_code: response.error_code,
                    partition_errors: response
                        .partition_errors
                        .iter()
                        .map(|p| {
                            (
                                TopicPartition::new(
                                    StrBytes::to_string(&p.topic_name.0),
                                    p.partition_index,
                                ),
                                p.error_code,
                            )
                        })
                        .collect(),
                }
            }
        })
    }
}

fn encode<R: Encodable>(request: &R, version: i16) -> anyhow::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(request.compute_size(version)?);
    request.encode(&mut buf, version)?;
    Ok(buf.freeze())
}

/// An encoded body with one broker's epoch written in: what
/// `BrokerConnection::send` frames.
struct AddressedBody<'a> {
    body: &'a Bytes,
    broker_epoch: i64,
}

impl Encodable for AddressedBody<'_> {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, _version: i16) -> anyhow::Result<()> {
        buf.put_slice(&self.body[..BROKER_EPOCH_AT]);
        buf.put_i64(self.broker_epoch);
        buf.put_slice(&self.body[BROKER_EPOCH_END..]);
        Ok(())
    }

    fn compute_size(&self, _version: i16) -> anyhow::Result<usize> {
        Ok(self.body.len())
    }
}

#[cfg(test)]
#[path = "encoded_request_tests.rs"]
mod tests;
