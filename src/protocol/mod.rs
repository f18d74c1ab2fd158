//! The thin, I/O-free layer over the `kafka-protocol` crate for the client
//! side of inter-broker traffic (controller requests now, follower fetches
//! later): encode a request frame, decode a response frame; and the names
//! of Kafka's wire enums and error codes the tools and the console print
//! (`config_source.rs`, `error_name.rs`).

pub mod config_source;
pub mod error_name;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("cannot encode {key:?} v{version}: {detail}")]
    Encode {
        key: ApiKey,
        version: i16,
        detail: String,
    },
    #[error("cannot decode {key:?} v{version} response: {detail}")]
    Decode {
        key: ApiKey,
        version: i16,
        detail: String,
    },
    #[error("response correlation id {got} does not match request {expected}")]
    CorrelationMismatch { expected: i32, got: i32 },
}

/// A size-prefixed request frame, ready to write to a socket.
pub fn encode_request<R: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: &str,
    body: &R,
) -> Result<BytesMut, ProtocolError> {
    let err = |e: anyhow::Error| ProtocolError::Encode {
        key,
        version,
        detail: e.to_string(),
    };
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_owned())));
    let header_version = key.request_header_version(version);
    let size = header.compute_size(header_version).map_err(err)?
        + body.compute_size(version).map_err(err)?;
    let mut buf = BytesMut::with_capacity(4 + size);
    buf.put_u32(size as u32);
    header.encode(&mut buf, header_version).map_err(err)?;
    body.encode(&mut buf, version).map_err(err)?;
    Ok(buf)
}

/// Decodes a response frame (without its size prefix) and checks the correlation id.
pub fn decode_response<R: Decodable>(
    key: ApiKey,
    version: i16,
    expected_correlation_id: i32,
    mut frame: Bytes,
) -> Result<R, ProtocolError> {
    let err = |e: anyhow::Error| ProtocolError::Decode {
        key,
        version,
        detail: e.to_string(),
    };
    let header =
        ResponseHeader::decode(&mut frame, key.response_header_version(version)).map_err(err)?;
    if header.correlation_id != expected_correlation_id {
        return Err(ProtocolError::CorrelationMismatch {
            expected: expected_correlation_id,
            got: header.correlation_id,
        });
    }
    let body = R::decode(&mut frame, version).map_err(err)?;
    if frame.has_remaining() {
        tracing::debug!(
            ?key,
            version,
            left = frame.remaining(),
            "response had trailing bytes"
        );
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

    #[test]
    fn request_frames_carry_size_header_and_body() {
        let frame = encode_request(
            ApiKey::ApiVersions,
            3,
            7,
            "sluice",
            &ApiVersionsRequest::default(),
        )
        .unwrap();
        let size = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(size, frame.len() - 4);
        assert_eq!(
            i16::from_be_bytes([frame[4], frame[5]]),
            ApiKey::ApiVersions as i16
        );
        assert_eq!(i32::from_be_bytes(frame[8..12].try_into().unwrap()), 7);
    }

    #[test]
    fn responses_decode_and_check_correlation() {
        let mut buf = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(9)
            .encode(&mut buf, 0)
            .unwrap();
        ApiVersionsResponse::default().encode(&mut buf, 3).unwrap();
        let frame = buf.freeze();
        let ok: Result<ApiVersionsResponse, _> =
            decode_response(ApiKey::ApiVersions, 3, 9, frame.clone());
        assert!(ok.is_ok());
        let bad: Result<ApiVersionsResponse, _> = decode_response(ApiKey::ApiVersions, 3, 8, frame);
        assert!(matches!(
            bad,
            Err(ProtocolError::CorrelationMismatch { .. })
        ));
    }
}
