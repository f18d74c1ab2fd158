//! The ApiVersions answer, built from the dispatch table so what we advertise
//! is exactly what we serve.

use bytes::BytesMut;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

use super::dispatch::{DispatchError, SUPPORTED_APIS, encode_response};

pub fn supported_api_versions() -> Vec<ApiVersion> {
    SUPPORTED_APIS
        .iter()
        .map(|&(key, min, max)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect()
}

/// A client asked with an ApiVersions version newer than ours: answer in v0
/// with UNSUPPORTED_VERSION and our ranges, so it retries with one we know.
pub fn unsupported_version_response(correlation_id: i32) -> Result<BytesMut, DispatchError> {
    let body = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(supported_api_versions());
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &body)
}
