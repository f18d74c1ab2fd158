//! The broker's HTTP listener (`metrics.listener`): a minimal HTTP/1.1
//! server. `GET /metrics` (a query string is ignored) answers 200 with the
//! Prometheus text format; every other request goes to the [`HttpApp`] the
//! server was started with (the web console), or is answered 404 without
//! one; a request head over 8 KiB 431, one that is not HTTP 400 (heads are
//! parsed by `httparse`). A body is read when `Content-Length` announces one,
//! up to 64 KiB (more: 413; chunked bodies: 411). Every response closes the
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
/// The largest request body accepted.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;
/// Headers looked at in a request head.
const MAX_HEADERS: usize = 32;
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
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// The body (empty when none was announced).
    pub body: Vec<u8>,
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
        403 => "Forbidden",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
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
    BodyTooLarge,
    LengthRequired,
}

async fn serve_one(mut stream: TcpStream, source: &dyn StateSource, app: Option<&dyn HttpApp>) {
    let route = match tokio::time::timeout(CLIENT_TIMEOUT, read_request(&mut stream)).await {
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
        Route::BodyTooLarge => HttpResponse::text(413, "request body over 64 KiB\n"),
        Route::LengthRequired => HttpResponse::text(411, "send a Content-Length\n"),
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

/// Reads the request head, then the body it announces.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Route> {
    let mut bytes = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (mut route, head_len, body_len) = loop {
        match parse_head(&bytes) {
            Head::Complete {
                route,
                head_len,
                body_len,
            } => break (route, head_len, body_len),
            Head::Done(route) => return Ok(route),
            Head::Partial if bytes.len() >= MAX_REQUEST_HEAD_BYTES => {
                return Ok(Route::TooLarge);
            }
            Head::Partial => {}
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Route::BadRequest);
        }
        bytes.extend_from_slice(&chunk[..n]);
    };
    let mut body = bytes.split_off(head_len);
    while body.len() < body_len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Route::BadRequest);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(body_len);
    if let Route::Other(request) = &mut route {
        request.body = body;
    }
    Ok(route)
}

/// How far a request head has arrived.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// More bytes needed.
    Partial,
    /// The whole head: the route, the head's length and the body's.
    Complete {
        route: Route,
        head_len: usize,
        body_len: usize,
    },
    /// Answered without reading further.
    Done(Route),
}

fn parse_head(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(httparse::Error::TooManyHeaders) => return Head::Done(Route::TooLarge),
        Err(_) => return Head::Done(Route::BadRequest),
    };
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return Head::Done(Route::BadRequest);
    };
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
    };
    if header("transfer-encoding").is_some() {
        return Head::Done(Route::LengthRequired);
    }
    let body_len = match header("content-length").map(|v| v.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) if n <= MAX_REQUEST_BODY_BYTES => n,
        Some(Ok(_)) => return Head::Done(Route::BodyTooLarge),
        Some(Err(_)) => return Head::Done(Route::BadRequest),
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let route = if method == "GET" && path == "/metrics" {
        Route::Metrics
    } else {
        Route::Other(HttpRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            content_type: header("content-type"),
            body: Vec::new(),
        })
    };
    Head::Complete {
        route,
        head_len,
        body_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(head: &[u8]) -> Route {
        match parse_head(head) {
            Head::Complete { route, .. } | Head::Done(route) => route,
            Head::Partial => panic!("partial head"),
        }
    }

    #[test]
    fn routes() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Route::Metrics);
        let other = |method: &str, path: &str, query: &str| {
            Route::Other(HttpRequest {
                method: method.into(),
                path: path.into(),
                query: query.into(),
                content_type: None,
                body: Vec::new(),
            })
        };
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), other("GET", "/", ""));
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\n\r\n"),
            other("POST", "/metrics", "")
        );
        assert_eq!(
            route(b"GET /api/v1/znodes?path=%2Fbrokers HTTP/1.1\r\n\r\n"),
            other("GET", "/api/v1/znodes", "path=%2Fbrokers")
        );
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe\r\n\r\n"), Route::BadRequest);
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: x"), Head::Partial);
    }

    #[test]
    fn bodies_are_announced_and_bounded() {
        let head = b"POST /api/v1/topics HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
        let Head::Complete {
            route: Route::Other(request),
            head_len,
            body_len,
        } = parse_head(head)
        else {
            panic!("not complete");
        };
        assert_eq!((head_len, body_len), (head.len() - 7, 7));
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            route(b"POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n"),
            Route::BodyTooLarge
        );
        assert_eq!(
            route(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Route::BadRequest
        );
        assert_eq!(
            route(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Route::LengthRequired
        );
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
