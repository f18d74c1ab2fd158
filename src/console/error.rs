//! What can go wrong answering a console request, and the HTTP status and
//! JSON body (`{"error": "..."}`) each is answered with.

use crate::metrics::HttpResponse;

/// The Content-Type of the API's answers.
pub const JSON: &str = "application/json";

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("the console's write actions are off (console.writes.enable=false)")]
    WritesDisabled,
    #[error("send the body as Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("refused: {0}")]
    Conflict(String),
    #[error("broker {broker} did not answer: {reason}")]
    BrokerUnavailable {
        broker: crate::model::BrokerId,
        reason: String,
    },
    #[error("ZooKeeper: {0}")]
    ZooKeeper(String),
}

impl ConsoleError {
    pub fn status(&self) -> u16 {
        match self {
            ConsoleError::NotFound(_) => 404,
            ConsoleError::BadRequest(_) => 400,
            ConsoleError::MethodNotAllowed => 405,
            ConsoleError::WritesDisabled => 403,
            ConsoleError::UnsupportedMediaType => 415,
            ConsoleError::Conflict(_) => 409,
            ConsoleError::BrokerUnavailable { .. } => 502,
            ConsoleError::ZooKeeper(_) => 503,
        }
    }

    /// The JSON answer.
    pub fn to_response(&self) -> HttpResponse {
        let body = serde_json::json!({ "error": self.to_string() }).to_string();
        HttpResponse::new(self.status(), JSON, body)
    }
}

impl From<crate::zk::ZkError> for ConsoleError {
    fn from(e: crate::zk::ZkError) -> Self {
        ConsoleError::ZooKeeper(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_a_json_body() {
        let cases = [
            (ConsoleError::NotFound("topic x".into()), 404),
            (ConsoleError::BadRequest("offset".into()), 400),
            (ConsoleError::MethodNotAllowed, 405),
            (ConsoleError::WritesDisabled, 403),
            (ConsoleError::UnsupportedMediaType, 415),
            (ConsoleError::Conflict("group is Stable".into()), 409),
            (
                ConsoleError::BrokerUnavailable {
                    broker: crate::model::BrokerId(2),
                    reason: "timeout".into(),
                },
                502,
            ),
            (ConsoleError::ZooKeeper("lost".into()), 503),
        ];
        for (error, status) in cases {
            let response = error.to_response();
            assert_eq!(response.status, status, "{error}");
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            assert_eq!(body["error"], error.to_string());
        }
    }
}
