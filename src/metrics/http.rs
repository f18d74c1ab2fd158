//! The broker's HTTP listener (`metrics.listener`): a minimal HTTP/1.1
//! server. `GET /metrics` (a query string is ignored) answers 200 with the
//! Prometheus text format; every other request goes to the [`HttpApp`] the
//! server was started with (the web console), or is answered 404 without
//! one; a request head over 8 KiB 431, one that is not HTTP 400. A request
//! body is never read (only GET is served). Every response closes the
//! connection. A client has 10 s to send its request head and to read the
//! answer; at most 16 requests are served at once (more wait in the accept
//! queue).

use std::future::Future;
use std::pin::Pin;
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
/// Requests served at once.
pub const MAX_CONCURRENT_SCRAPES: usize = 16;

/// A request for something other than `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// What follows `?` in the target (empty when none), still encoded.
    pub query: String,
}

/// An answer: status code, Content-Type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            content_type,
            body: body.into(),
        }
    }

    fn text(status: u16, body: &str) -> Self {
        HttpResponse::new(status, "text/plain; charset=utf-8", body)
    }
}

pub type HttpFuture<'a> = Pin<Box<dyn Future<Output = HttpResponse> + Send + 'a>>;

/// What answers the listener's other paths (the console, `console/`).
pub trait HttpApp: Send + Sync + 'static {
    fn handle(&self, request: HttpRequest) -> HttpFuture<'_>;
}

/// The reason phrase of the status codes the listener's answers use.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Internal Server Error",
    }
}

/// Accepts scrapes until `shutdown`; connections are tracked by `tracker`.
pub async fn run_metrics_server(
    listener: TcpListener,
    source: Arc<dyn StateSource>,
    app: Option<Arc<dyn HttpApp>>,
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
        let app = app.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = serve_one(stream, source.as_ref(), app.as_deref()) => {}
            }
            drop(permit);
        });
    }
}

/// What the request head asked for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    Other(HttpRequest),
    BadRequest,
    TooLarge,
}

async fn serve_one(mut stream: TcpStream, source: &dyn StateSource, app: Option<&dyn HttpApp>) {
    let route = match tokio::time::timeout(CLIENT_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(route)) => route,
        Ok(Err(_)) | Err(_) => return,
    };
    let response = match route {
        Route::Metrics => {
            HttpResponse::new(200, CONTENT_TYPE, super::render(source).await.into_bytes())
        }
        Route::Other(request) => match app {
            Some(app) => app.handle(request).await,
            None => HttpResponse::text(404, "not found; try /metrics\n"),
        },
        Route::BadRequest => HttpResponse::text(400, "bad request\n"),
        Route::TooLarge => HttpResponse::text(431, "request head too large\n"),
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    let _ = tokio::time::timeout(CLIENT_TIMEOUT, async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&response.body).await?;
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
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method == "GET" && path == "/metrics" {
        Route::Metrics
    } else {
        Route::Other(HttpRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x"), Route::Metrics);
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0"), Route::Metrics);
        let other = |method: &str, path: &str, query: &str| {
            Route::Other(HttpRequest {
                method: method.into(),
                path: path.into(),
                query: query.into(),
            })
        };
        assert_eq!(route(b"GET / HTTP/1.1"), other("GET", "/", ""));
        assert_eq!(
            route(b"POST /metrics HTTP/1.1"),
            other("POST", "/metrics", "")
        );
        assert_eq!(
            route(b"GET /api/v1/znodes?path=%2Fbrokers HTTP/1.1"),
            other("GET", "/api/v1/znodes", "path=%2Fbrokers")
        );
        assert_eq!(route(b"GET /metrics"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe"), Route::BadRequest);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n"), Some(14));
    }

    #[test]
    fn every_status_has_its_reason() {
        for (status, phrase) in [
            (200, "OK"),
            (404, "Not Found"),
            (431, "Request Header Fields Too Large"),
        ] {
            assert_eq!(reason(status), phrase);
        }
        assert_eq!(reason(599), "Internal Server Error");
    }
}
