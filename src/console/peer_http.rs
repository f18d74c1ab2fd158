//! One HTTP/1.1 GET to another broker's HTTP listener (its
//! `metrics.listener`), as the console's cluster-wide statistics need it:
//! one request per connection (the listener closes after each answer), the
//! whole exchange bounded by [`PEER_TIMEOUT`] and the answer by
//! [`MAX_ANSWER_BYTES`]; the head is parsed by `httparse`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest a peer's answer may take, connecting included.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest answer read.
pub const MAX_ANSWER_BYTES: u64 = 8 * 1024 * 1024;
/// Headers looked at in the answer's head.
const MAX_HEADERS: usize = 32;

/// The body of `GET path` at `address` (`host:port`), when it answers 200.
pub async fn get(address: &str, path: &str) -> Result<Vec<u8>, String> {
    match tokio::time::timeout(PEER_TIMEOUT, exchange(address, path)).await {
        Ok(answer) => answer,
        Err(_) => Err(format!("no answer from {address} within {PEER_TIMEOUT:?}")),
    }
}

async fn exchange(address: &str, path: &str) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect to {address}: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send to {address}: {e}"))?;
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read from {address}: {e}"))?;
    if raw.len() as u64 > MAX_ANSWER_BYTES {
        return Err(format!(
            "answer from {address} over {MAX_ANSWER_BYTES} bytes"
        ));
    }
    body_of(&raw).map_err(|e| format!("{address}: {e}"))
}

/// The body of a complete 200 answer.
fn body_of(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("answer cut short".into()),
        Err(e) => return Err(format!("not an HTTP answer: {e}")),
    };
    let status = response.code.unwrap_or(0);
    let body = &raw[head_len..];
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
    let body = match length {
        Some(n) if n <= body.len() => &body[..n],
        Some(_) => return Err("answer cut short".into()),
        None => body,
    };
    if status != 200 {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        return Err(format!("answered {status}: {text}"));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_of_answers() {
        assert_eq!(
            body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap(),
            b"{}"
        );
        assert_eq!(
            body_of(b"HTTP/1.1 200 OK\r\n\r\n[1]").unwrap(),
            b"[1]".to_vec()
        );
        assert!(
            body_of(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!")
                .unwrap_err()
                .contains("404")
        );
        assert!(body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
        assert!(body_of(b"HTTP/1.1 200 OK\r\nContent").is_err());
        assert!(body_of(b"garbage\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn a_closed_port_is_an_error_not_a_hang() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        assert!(get(&address, "/").await.is_err());
    }
}
