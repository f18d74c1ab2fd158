//! The SASL/PLAIN server mechanism (RFC 4616), as Kafka's `PlainSaslServer`
//! with its `PlainServerCallbackHandler`: the client's one message is
//! `[authzid] NUL authcid NUL passwd`; the user's password is the JAAS option
//! `user_<authcid>` of `PlainLoginModule`; an authzid, if given, must equal
//! the authcid. Passwords are compared in constant time (a loop over every
//! byte that never exits early, [`constant_time_eq`]).
//!
//! The failure messages are Kafka's, because clients show them to their
//! users; none of them carries the password.

use std::collections::BTreeMap;

use super::jaas::JaasConfig;
use super::password::Password;
use super::principal::KafkaPrincipal;

/// The mechanism's name in SaslHandshake and `sasl.enabled.mechanisms`.
pub const PLAIN: &str = "PLAIN";

/// The login module whose `user_<name>` options hold PLAIN's users.
pub const PLAIN_LOGIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";

const USER_PREFIX: &str = "user_";

/// The users a PLAIN listener accepts, with their passwords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainCredentials {
    users: BTreeMap<String, Password>,
}

/// Why a JAAS configuration cannot serve PLAIN.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlainConfigError {
    #[error("the JAAS config has {0} login modules; a listener's takes exactly one")]
    ModuleCount(usize),
    #[error("login module {0} is not {PLAIN_LOGIN_MODULE}")]
    WrongModule(String),
}

impl PlainCredentials {
    /// The `user_<name>` options of a JAAS configuration with exactly one
    /// login module, `PlainLoginModule` (Kafka refuses a listener's JAAS
    /// config with more than one).
    pub fn from_jaas(config: &JaasConfig) -> Result<Self, PlainConfigError> {
        let [module] = config.modules.as_slice() else {
            return Err(PlainConfigError::ModuleCount(config.modules.len()));
        };
        if module.class != PLAIN_LOGIN_MODULE {
            return Err(PlainConfigError::WrongModule(module.class.clone()));
        }
        let users = module
            .options
            .iter()
            .filter_map(|(key, value)| {
                key.strip_prefix(USER_PREFIX)
                    .map(|user| (user.to_string(), value.clone()))
            })
            .collect();
        Ok(Self { users })
    }

    /// Whether `user` exists and `password` is its password, in time that
    /// does not depend on where the password differs.
    fn check(&self, user: &str, password: &str) -> bool {
        match self.users.get(user) {
            Some(expected) => constant_time_eq(expected.value().as_bytes(), password.as_bytes()),
            None => {
                // Spend the same work on an unknown user as on a known one.
                let _ = constant_time_eq(password.as_bytes(), password.as_bytes());
                false
            }
        }
    }
}

/// Why a PLAIN exchange failed. [`PlainError::client_message`] is what the
/// client is told (Kafka's text).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlainError {
    #[error("invalid SASL/PLAIN response: expected 3 tokens, got {0}")]
    Malformed(usize),
    #[error("invalid SASL/PLAIN response: not UTF-8")]
    NotUtf8,
    #[error("username not specified")]
    NoUsername,
    #[error("password not specified")]
    NoPassword,
    #[error("client requested an authorization id that is different from username")]
    AuthorizationId,
    #[error("invalid username or password")]
    BadCredentials,
}

impl PlainError {
    /// The SaslAuthenticate error message Kafka sends for this failure: its
    /// `SaslAuthenticationException` messages, and for a response it cannot
    /// read, the generic text that names no user.
    pub fn client_message(&self) -> String {
        match self {
            Self::Malformed(_) | Self::NotUtf8 => format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {PLAIN}"
            ),
            Self::NoUsername => "Authentication failed: username not specified".to_string(),
            Self::NoPassword => "Authentication failed: password not specified".to_string(),
            Self::AuthorizationId => "Authentication failed: Client requested an authorization id that is different from username".to_string(),
            Self::BadCredentials => "Authentication failed: Invalid username or password".to_string(),
        }
    }
}

/// One PLAIN exchange on one connection (a single client message).
pub struct PlainServer<'c> {
    credentials: &'c PlainCredentials,
}

/// The three parts of a PLAIN message.
#[derive(Debug, PartialEq, Eq)]
pub struct PlainToken<'t> {
    pub authzid: &'t str,
    pub username: &'t str,
    pub password: &'t str,
}

impl<'c> PlainServer<'c> {
    pub fn new(credentials: &'c PlainCredentials) -> Self {
        Self { credentials }
    }

    /// Evaluates the client's message: the principal on success. On failure
    /// the username (if the message had one) is returned for the log line.
    pub fn evaluate(&self, message: &[u8]) -> Result<KafkaPrincipal, (PlainError, Option<String>)> {
        let token = parse_token(message).map_err(|e| (e, None))?;
        let name = Some(token.username.to_string());
        if token.username.is_empty() {
            return Err((PlainError::NoUsername, None));
        }
        if token.password.is_empty() {
            return Err((PlainError::NoPassword, name));
        }
        if !token.authzid.is_empty() && token.authzid != token.username {
            return Err((PlainError::AuthorizationId, name));
        }
        if !self.credentials.check(token.username, token.password) {
            return Err((PlainError::BadCredentials, name));
        }
        Ok(KafkaPrincipal::user(token.username))
    }
}

/// Splits `[authzid] NUL authcid NUL passwd` into its three parts.
pub fn parse_token(message: &[u8]) -> Result<PlainToken<'_>, PlainError> {
    let text = std::str::from_utf8(message).map_err(|_| PlainError::NotUtf8)?;
    let parts: Vec<&str> = text.split('\u{0}').collect();
    let [authzid, username, password] = parts.as_slice() else {
        return Err(PlainError::Malformed(parts.len()));
    };
    Ok(PlainToken {
        authzid,
        username,
        password,
    })
}

/// Equality of two byte strings in time that depends only on their lengths:
/// every byte of the longer one is visited, differences are OR-ed together,
/// and nothing returns early.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
