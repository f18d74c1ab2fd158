//! `ZkError`: every failure the `zk` room reports, each naming the znode (or
//! the connect string) it concerns, and the one mapping from the
//! `zookeeper-client` crate's errors to it.

use zookeeper_client as zkc;

/// A ZooKeeper operation failed. Expected outcomes of Kafka's protocols
/// (a node already there, a lost conditional update) are their own variants so
/// callers can `match` on them.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    #[error("znode {path} already exists")]
    NodeExists { path: String },

    #[error("znode {path} does not exist")]
    NoNode { path: String },

    #[error(
        "conditional update of znode {path} failed: its version changed (someone else wrote it)"
    )]
    BadVersion { path: String },

    #[error("znode {path} still has children")]
    NotEmpty { path: String },

    #[error("ZooKeeper session expired (operation on {path})")]
    SessionExpired { path: String },

    #[error("lost the connection to ZooKeeper (operation on {path})")]
    ConnectionLoss { path: String },

    #[error(
        "timed out after {timeout_ms} ms waiting for a ZooKeeper session (operation on {path})"
    )]
    Timeout { path: String, timeout_ms: u64 },

    #[error("could not connect to ZooKeeper at {connect} within {timeout_ms} ms")]
    ConnectTimeout { connect: String, timeout_ms: u64 },

    #[error("invalid ZooKeeper connect string {connect:?}: {detail}")]
    InvalidConnect { connect: String, detail: String },

    #[error("invalid znode path {path:?}: {detail}")]
    InvalidPath { path: String, detail: String },

    #[error("bad data in znode {path}: {detail}")]
    BadData { path: String, detail: String },

    #[error(
        "controller moved: /controller_epoch no longer has zkVersion {expected_zk_version} (operation on {path})"
    )]
    ControllerMoved {
        path: String,
        expected_zk_version: i32,
    },

    #[error("the ZooKeeper client is closed (operation on {path})")]
    Closed { path: String },

    #[error(
        "an atomic write of {bytes} bytes (operation on {path}) exceeds the {limit}-byte limit of one ZooKeeper request (jute.maxbuffer)"
    )]
    RequestTooLarge {
        path: String,
        bytes: usize,
        limit: usize,
    },

    #[error("ZooKeeper operation on {path} failed: {source}")]
    Other {
        path: String,
        #[source]
        source: zkc::Error,
    },
}

impl ZkError {
    /// Maps a `zookeeper-client` error for an operation on `path`.
    pub(crate) fn from_zk(path: &str, err: zkc::Error) -> ZkError {
        let path = path.to_string();
        match err {
            zkc::Error::NodeExists => ZkError::NodeExists { path },
            zkc::Error::NoNode => ZkError::NoNode { path },
            zkc::Error::BadVersion => ZkError::BadVersion { path },
            zkc::Error::NotEmpty => ZkError::NotEmpty { path },
            zkc::Error::SessionExpired => ZkError::SessionExpired { path },
            zkc::Error::ConnectionLoss => ZkError::ConnectionLoss { path },
            zkc::Error::ClientClosed => ZkError::Closed { path },
            zkc::Error::BadArguments(detail) => ZkError::InvalidPath {
                path,
                detail: detail.to_string(),
            },
            source => ZkError::Other { path, source },
        }
    }

    /// The znode path (or connect string) the error concerns.
    pub fn path(&self) -> &str {
        match self {
            ZkError::NodeExists { path }
            | ZkError::NoNode { path }
            | ZkError::BadVersion { path }
            | ZkError::NotEmpty { path }
            | ZkError::SessionExpired { path }
            | ZkError::ConnectionLoss { path }
            | ZkError::Timeout { path, .. }
            | ZkError::InvalidPath { path, .. }
            | ZkError::BadData { path, .. }
            | ZkError::ControllerMoved { path, .. }
            | ZkError::Closed { path }
            | ZkError::RequestTooLarge { path, .. }
            | ZkError::Other { path, .. } => path,
            ZkError::ConnectTimeout { connect, .. } | ZkError::InvalidConnect { connect, .. } => {
                connect
            }
        }
    }

    /// Whether the error came from losing the session or the connection (as
    /// opposed to the state of a znode); retrying on a new session may succeed.
    pub fn is_session_problem(&self) -> bool {
        matches!(
            self,
            ZkError::SessionExpired { .. }
                | ZkError::ConnectionLoss { .. }
                | ZkError::Timeout { .. }
                | ZkError::ConnectTimeout { .. }
        )
    }

    pub(crate) fn bad_data(path: &str, detail: impl Into<String>) -> ZkError {
        ZkError::BadData {
            path: path.to_string(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_crate_errors_with_the_path() {
        let err = ZkError::from_zk("/brokers/ids/1", zkc::Error::NodeExists);
        assert!(matches!(&err, ZkError::NodeExists { path } if path == "/brokers/ids/1"));
        assert_eq!(err.to_string(), "znode /brokers/ids/1 already exists");
        let err = ZkError::from_zk("/x", zkc::Error::NoAuth);
        assert!(matches!(err, ZkError::Other { .. }));
        assert_eq!(err.path(), "/x");
    }
}
