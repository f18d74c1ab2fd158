//! One client connection: size-prefixed frames in, one response per request
//! out, in request order. Like Kafka, a connection handles one request at a
//! time (Kafka mutes the channel until the response is sent), so pipelined
//! requests queue in the socket and responses can never reorder; many
//! connections run in parallel on the runtime.
//!
//! One exception, for acks=all Produce: once such a request's records are
//! appended, its wait for the in-sync replicas is set aside
//! ([`dispatch::Handled::Replicating`]) and the connection reads on. A
//! following Produce request is appended at once (appends stay in request
//! order) and waits alongside; any other request first waits until every
//! earlier response is written, so it sees what Kafka would show it. The
//! responses still go out strictly in request order. Without this, a
//! producer that sends a request per linger.ms gets one request served per
//! replication round trip, and its queue grows without bound whenever a
//! round trip takes longer than its linger (see the latency bench).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;

use super::context::BrokerServices;
use super::dispatch::{self, DispatchError, Handled, ReplicatingResponse};
use super::response_frame::{Chunk, ResponseFrame};
use super::sasl_authenticator::{self, SaslAuthenticator, SaslError};
use super::sendfile::send_file_records;

/// acks=all Produce requests a connection may have waiting for their
/// replicas at once; beyond that it reads no further until the oldest is
/// answered.
const MAX_REPLICATING: usize = 32;

/// Why a connection ended, for the log line.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {size} bytes is larger than socket.request.max.bytes ({max})")]
    FrameTooLarge { size: i64, max: usize },
    #[error("negative frame size {0}")]
    NegativeFrameSize(i32),
    #[error("{0}")]
    Dispatch(#[from] DispatchError),
    #[error("{0}")]
    Sasl(#[from] SaslError),
}

type Writer = BufWriter<OwnedWriteHalf>;

pub async fn serve(
    stream: TcpStream,
    listener_name: Arc<str>,
    services: Arc<BrokerServices>,
    shutdown: CancellationToken,
) -> Result<(), ConnectionError> {
    stream.set_nodelay(true)?;
    let (read_half, write_half) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut writer = BufWriter::with_capacity(64 * 1024, write_half);
    let max_frame = services.config.socket_request_max_bytes.max(0) as usize;
    let peer = reader.get_ref().peer_addr().ok();
    // acks=all Produce responses waiting for their replicas, oldest first.
    let mut replicating: VecDeque<ReplicatingResponse> = VecDeque::new();
    // On a SASL listener: the authentication state (`sasl_authenticator.rs`).
    let mut sasl = SaslAuthenticator::for_listener(&services.config, &listener_name);
    loop {
        // The oldest waiting response, or the next request's first bytes
        // (`fill_buf` consumes nothing, so dropping it loses no bytes).
        let replicated = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Ok(()),
            response = async { replicating.front_mut().expect("not empty").await },
                if !replicating.is_empty() => Some(response),
            readable = reader.fill_buf(), if replicating.len() < MAX_REPLICATING => {
                if readable?.is_empty() {
                    // The client closed its side: answer what it sent first.
                    write_all_replicated(&mut writer, &mut replicating).await?;
                    return Ok(());
                }
                None
            }
        };
        if let Some(response) = replicated {
            replicating.pop_front();
            write_response(&mut writer, response?).await?;
            continue;
        }
        let size = match reader.read_i32().await {
            Ok(size) => size,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if size < 0 {
            return Err(ConnectionError::NegativeFrameSize(size));
        }
        let authenticating = sasl.as_ref().is_some_and(|s| !s.is_complete());
        let max = if authenticating {
            sasl_authenticator::MAX_RECEIVE_SIZE
        } else {
            max_frame
        };
        if size as usize > max {
            return Err(ConnectionError::FrameTooLarge {
                size: size as i64,
                max,
            });
        }
        let frame = read_frame(&mut reader, size as usize).await?;
        if let Some(auth) = sasl.as_mut().filter(|_| authenticating) {
            match auth.handle(&services, frame, peer).await {
                Ok(response) => write_response(&mut writer, response).await?,
                Err(refused) => {
                    write_response(&mut writer, refused.response).await?;
                    return Err(refused.error.into());
                }
            }
            continue;
        }
        if !is_produce(&frame) {
            // Only Produce requests overtake a waiting Produce.
            write_all_replicated(&mut writer, &mut replicating).await?;
        }
        match dispatch::start_request(&services, frame, peer, &listener_name).await? {
            Handled::Replicating(rest) => replicating.push_back(rest),
            Handled::Done(response) => {
                write_all_replicated(&mut writer, &mut replicating).await?;
                write_response(&mut writer, response).await?;
            }
        }
    }
}

/// Whether `frame` is a Produce request (API key 0).
fn is_produce(frame: &[u8]) -> bool {
    frame.len() >= 2 && i16::from_be_bytes([frame[0], frame[1]]) == 0
}

/// Waits for every waiting Produce response and writes them, in order.
async fn write_all_replicated(
    writer: &mut Writer,
    replicating: &mut VecDeque<ReplicatingResponse>,
) -> Result<(), ConnectionError> {
    while let Some(rest) = replicating.pop_front() {
        write_response(writer, rest.await?).await?;
    }
    Ok(())
}

/// Writes one response (none for acks=0): in order; large chunks (record
/// data referenced from the log reads) bypass the writer's buffer, and
/// file regions go from the segment file to the socket by sendfile(2)
/// after the bytes before them. The frame, and the Fetch memory it holds,
/// is dropped once written.
async fn write_response(
    writer: &mut Writer,
    frame: Option<ResponseFrame>,
) -> Result<(), std::io::Error> {
    let Some(frame) = frame else {
        return Ok(());
    };
    writer.write_u32(frame.len() as u32).await?;
    for chunk in frame.chunks() {
        match chunk {
            Chunk::Bytes(bytes) => writer.write_all(bytes).await?,
            Chunk::File(records) => {
                writer.flush().await?;
                let metrics = crate::metrics::global();
                send_file_records(writer.get_ref().as_ref(), records, |n| {
                    metrics.record_fetch_zero_copy(n)
                })
                .await?;
            }
        }
    }
    writer.flush().await
}

async fn read_frame<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    size: usize,
) -> Result<Bytes, std::io::Error> {
    let mut buf = BytesMut::zeroed(size);
    reader.read_exact(&mut buf).await?;
    Ok(buf.freeze())
}
