//! One client connection: size-prefixed frames in, one response per request
//! out, in request order. Like Kafka, a connection handles one request at a
//! time (Kafka mutes the channel until the response is sent), so pipelined
//! requests queue in the socket and responses can never reorder; many
//! connections run in parallel on the runtime.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::context::BrokerServices;
use super::dispatch::{self, DispatchError};

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
}

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
    loop {
        let size = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Ok(()),
            size = reader.read_i32() => match size {
                Ok(size) => size,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            },
        };
        if size < 0 {
            return Err(ConnectionError::NegativeFrameSize(size));
        }
        if size as usize > max_frame {
            return Err(ConnectionError::FrameTooLarge {
                size: size as i64,
                max: max_frame,
            });
        }
        let frame = read_frame(&mut reader, size as usize).await?;
        let response = dispatch::handle_request(&services, frame, peer, &listener_name).await?;
        if let Some(frame) = response {
            // In order; large chunks (record data referenced from the log
            // reads) bypass the writer's buffer. The frame, and the Fetch
            // memory it holds, is dropped once written.
            writer.write_u32(frame.len() as u32).await?;
            for chunk in frame.chunks() {
                writer.write_all(chunk).await?;
            }
            writer.flush().await?;
        }
    }
}

async fn read_frame<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    size: usize,
) -> Result<Bytes, std::io::Error> {
    let mut buf = BytesMut::zeroed(size);
    reader.read_exact(&mut buf).await?;
    Ok(buf.freeze())
}
