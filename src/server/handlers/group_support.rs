//! Small conversions the group handlers share: wire strings to Rust strings
//! and back, and the client host Kafka shows for a member ("/1.2.3.4").

use kafka_protocol::protocol::StrBytes;

use crate::server::request_context::RequestContext;

pub fn sb(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

pub fn client_host(ctx: &RequestContext) -> String {
    ctx.peer
        .map(|p| format!("/{}", p.ip()))
        .unwrap_or_else(|| "/unknown".to_string())
}
