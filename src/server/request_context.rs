//! `RequestContext`: what a handler learns about its request besides the
//! body (API key and version, header, peer, listener), and what it leaves
//! for the response encoder (`ResponseExtras`). Handlers and dispatch both
//! use it; it uses neither.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};

use super::fetch_budget::FetchGrant;
use super::response_frame::FileSlots;

/// What a handler learns about its request besides the body.
pub struct RequestContext {
    pub api_key: ApiKey,
    pub version: i16,
    pub header: RequestHeader,
    pub peer: Option<SocketAddr>,
    /// The listener the connection came in on (e.g. `PLAINTEXT`, `EXTERNAL`).
    pub listener_name: Arc<str>,
    /// What the handler leaves for the encoder (see [`ResponseExtras`]).
    pub(super) extras: parking_lot::Mutex<ResponseExtras>,
}

/// What a handler leaves for the encoder besides its response: record
/// payloads to reference rather than copy, file regions whose stand-ins
/// the body holds, and the Fetch memory reservation to hold until the
/// response is written.
#[derive(Debug, Default)]
pub struct ResponseExtras {
    pub payloads: Vec<Bytes>,
    pub files: FileSlots,
    pub memory: Option<FetchGrant>,
}

impl RequestContext {
    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or("")
    }

    /// Record data of the response, to be sent without a copy, and the
    /// memory reservation to hold until it is written.
    pub fn send_records_with(&self, payloads: Vec<Bytes>, memory: FetchGrant) {
        let mut extras = self.extras.lock();
        extras.payloads = payloads;
        extras.memory = Some(memory);
    }

    /// File regions of the response, put in place of their stand-ins (see
    /// `response_frame.rs`) and written with sendfile(2).
    pub fn send_file_records(&self, files: FileSlots) {
        self.extras.lock().files = files;
    }

    pub(super) fn take_extras(&self) -> ResponseExtras {
        std::mem::take(&mut *self.extras.lock())
    }
}
