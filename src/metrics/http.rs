//! The metrics endpoint: a minimal HTTP/1.1 server on its own listener
//! (`metrics.listener`). `GET /metrics` (a query string is ignored) answers
//! 200 with the Prometheus text format; any other method or path 404; a
//! request head over 8 KiB 431, one that is not HTTP 400. Every response
//! closes the connection. A client has 10 s to send its request head and to
//! read the answer; at most 16 scrapes run at once (more wait in the accept
//! queue).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::exposition::CONTENT_TYPE;
use super::state::StateSource;

/// The largest request head accepted.
pub const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request and to read the answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Scrapes served at once.
pub const MAX_CONCURRENT_SCRAPES: usize = 16;

/// Accepts scrapes until `shutdown`; connections are tracked by `tracker`.
pub async fn run_metrics_server(
    listener: TcpListener,
    source: Arc<dyn StateSource>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_SCRAPES));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "metrics: accept failed");
                    continue;
                }
            },
        };
        let source = source.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = serve_one(stream, source.as_ref()) => {}
            }
            drop(permit);
        });
    }
}

/// What the request head asked for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    NotFound,
    BadRequest,
    TooLarge,
}

async fn serve_one(mut stream: TcpStream, source: &dyn StateSource) {
    let route = match tokio::time::timeout(CLIENT_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(route)) => route,
        Ok(Err(_)) | Err(_) => return,
    };
    let (status, body) = match route {
        Route::Metrics => ("200 OK", super::render(source).await),
        Route::NotFound => ("404 Not Found", "not found; try /metrics\n".to_owned()),
        Route::BadRequest => ("400 Bad Request", "bad request\n".to_owned()),
        Route::TooLarge => (
            "431 Request Header Fields Too Large",
            "request head too large\n".to_owned(),
        ),
    };
    let content_type = if route == Route::Metrics {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(CLIENT_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Reads until the blank line ending the request head.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Route> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = find_head_end(&head) {
            return Ok(route(&head[..end]));
        }
        if head.len() >= MAX_REQUEST_HEAD_BYTES {
            return Ok(Route::TooLarge);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Route::BadRequest);
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

fn route(head: &[u8]) -> Route {
    let Ok(text) = std::str::from_utf8(head) else {
        return Route::BadRequest;
    };
    let request_line = text.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or("");
    if method == "GET" && path == "/metrics" {
        Route::Metrics
    } else {
        Route::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x"), Route::Metrics);
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0"), Route::Metrics);
        assert_eq!(route(b"GET / HTTP/1.1"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1"), Route::NotFound);
        assert_eq!(route(b"GET /metrics"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe"), Route::BadRequest);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(14));
    }
}
