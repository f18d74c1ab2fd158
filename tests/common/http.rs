//! Plain HTTP/1.1 requests to a broker's HTTP listener (`metrics.listener`:
//! the Prometheus endpoint and the web console), one per connection, as the
//! listener serves them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `method path` to 127.0.0.1:`port`: (status line, headers, body).
pub fn http_request(port: u16, method: &str, path: &str) -> (String, String, String) {
    http_send(port, method, path, None, "")
}

/// `POST path` with a JSON `body`: (status line, headers, body).
pub fn http_post_json(port: u16, path: &str, body: &str) -> (String, String, String) {
    http_send(port, "POST", path, Some("application/json"), body)
}

/// `method path` with `body` (announced by Content-Length when not empty)
/// and an optional Content-Type: (status line, headers, body).
pub fn http_send(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (String, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\n");
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    write!(stream, "{head}\r\n{body}").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read HTTP response");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {raw:?}"));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_owned(), body.to_owned())
}

/// GET `path` from 127.0.0.1:`port`: (status line, headers, body).
pub fn http_get(port: u16, path: &str) -> (String, String, String) {
    http_request(port, "GET", path)
}
