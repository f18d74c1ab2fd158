//! `ConfigError`: every way loading the broker configuration can fail. Each
//! variant names what is at fault (the file, the line, the override argument or
//! the configuration key) so a broker that refuses to start says why.

use std::path::PathBuf;

/// A configuration that cannot be read or does not validate.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The properties file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The properties file is not valid `.properties` syntax (only a malformed
    /// `\uXXXX` escape can make it so).
    #[error("{}:{line}: {reason}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    /// A `--override` argument that is not `key=value`.
    #[error("invalid override {arg:?}: {reason}")]
    Override { arg: String, reason: String },

    /// A required key (only `zookeeper.connect`) is absent.
    #[error("missing required configuration key \"{key}\"")]
    Missing { key: String },

    /// A key whose value does not parse or is out of range.
    #[error("invalid value {value:?} for configuration key \"{key}\": {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

impl ConfigError {
    /// The configuration key at fault, for `Missing` and `Invalid`.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Missing { key } | Self::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Shorthand for [`ConfigError::Invalid`].
pub(super) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}
