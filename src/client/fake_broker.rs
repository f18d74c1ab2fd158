//! A fake broker for the unit tests of outbound connections (test builds
//! only): a real TCP listener that reads request frames and writes back
//! whatever its answer function returns for each, counting connections and
//! requests. The connection code under test is real; only the peer is not.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ResponseHeader;
use kafka_protocol::protocol::Encodable;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A listening fake broker; it lives until the test's runtime ends.
pub struct FakeBroker {
    pub address: String,
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<AtomicUsize>,
}

impl FakeBroker {
    /// Listens on a free local port. `answer` gets each request frame
    /// (header and body, without the size) and returns the bytes to write
    /// back, size prefix included (see [`response_frame`]), or `None` to
    /// stay silent.
    pub async fn start<F, Fut>(answer: F) -> FakeBroker
    where
        F: Fn(Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Bytes>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (c, r) = (connections.clone(), requests.clone());
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (r, answer) = (r.clone(), answer.clone());
                tokio::spawn(async move {
                    while let Ok(size) = stream.read_i32().await {
                        let mut frame = BytesMut::zeroed(size as usize);
                        if stream.read_exact(&mut frame).await.is_err() {
                            return;
                        }
                        r.fetch_add(1, Ordering::SeqCst);
                        let Some(out) = answer(frame.freeze()).await else {
                            continue;
                        };
                        if stream.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeBroker {
            address: local.to_string(),
            port: local.port(),
            connections,
            requests,
        }
    }
}

/// A whole response frame: size, a response header with `correlation_id`
/// (in `header_version`), and `body` encoded in `version`.
pub fn response_frame(
    correlation_id: i32,
    header_version: i16,
    body: &impl Encodable,
    version: i16,
) -> Bytes {
    let mut payload = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut payload, header_version)
        .unwrap();
    body.encode(&mut payload, version).unwrap();
    let mut out = BytesMut::new();
    out.put_i32(payload.len() as i32);
    out.extend_from_slice(&payload);
    out.freeze()
}
