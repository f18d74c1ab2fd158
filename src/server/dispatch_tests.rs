//! Tests of dispatch's request-head check and body decoding, the seams the
//! fuzz test drives (`tests/fuzz.rs`).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, MetadataRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::*;

/// A request frame (no size prefix) of `key` v`version` with `body`.
fn frame<R: Encodable>(key: ApiKey, version: i16, body: &R) -> Bytes {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(42)
        .with_client_id(Some(StrBytes::from_static_str("t")))
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    buf.freeze()
}

fn head(key: i16, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(key);
    buf.put_i16(version);
    buf.put_i32(7);
    buf.freeze()
}

#[test]
fn a_supported_request_leaves_the_frame_at_its_body() {
    let mut f = frame(ApiKey::Metadata, 9, &MetadataRequest::default());
    let Ok(RequestHead::Supported {
        key,
        version,
        header,
    }) = read_request_head(&mut f)
    else {
        panic!("Metadata v9 is supported");
    };
    assert_eq!(
        (key, version, header.correlation_id),
        (ApiKey::Metadata, 9, 42)
    );
    assert_eq!(header.client_id.as_deref(), Some("t"));
    decode_request_body(key, version, &mut f).unwrap();
    assert!(f.is_empty(), "the body was read to its end");
}

#[test]
fn short_unknown_and_unsupported_heads_are_refused() {
    assert!(matches!(
        read_request_head(&mut Bytes::from_static(&[0, 3, 0])),
        Err(DispatchError::Truncated(3))
    ));
    assert!(matches!(
        read_request_head(&mut head(9999, 0)),
        Err(DispatchError::UnknownApiKey(9999))
    ));
    // A key Kafka knows that this broker does not serve (EndTxn).
    assert!(matches!(
        read_request_head(&mut head(26, 0)),
        Err(DispatchError::UnknownApiKey(26))
    ));
    assert!(matches!(
        read_request_head(&mut head(ApiKey::Metadata as i16, 99)),
        Err(DispatchError::UnsupportedVersion {
            key: ApiKey::Metadata,
            version: 99
        })
    ));
    // The header's client id claims more bytes than the frame has.
    let mut cut = BytesMut::from(&head(ApiKey::Metadata as i16, 1)[..]);
    cut.put_i16(10);
    assert!(matches!(
        read_request_head(&mut cut.freeze()),
        Err(DispatchError::Malformed { .. })
    ));
}

#[test]
fn a_too_new_api_versions_is_answered_not_refused() {
    assert!(matches!(
        read_request_head(&mut head(ApiKey::ApiVersions as i16, 99)),
        Ok(RequestHead::ApiVersionsTooNew { correlation_id: 7 })
    ));
}

#[test]
fn a_cut_body_is_malformed() {
    let mut f = frame(
        ApiKey::Metadata,
        4,
        &MetadataRequest::default().with_topics(Some(vec![Default::default()])),
    );
    let Ok(RequestHead::Supported { key, version, .. }) = read_request_head(&mut f) else {
        panic!("Metadata v4 is supported");
    };
    let mut cut = f.slice(..f.len() - 1);
    assert!(matches!(
        decode_request_body(key, version, &mut cut),
        Err(DispatchError::Malformed {
            key: ApiKey::Metadata,
            version: 4,
            ..
        })
    ));
    assert!(matches!(
        decode_request_body(ApiKey::EndTxn, 0, &mut f),
        Err(DispatchError::UnknownApiKey(26))
    ));
}
