//! The security room: authentication, as Kafka's `org.apache.kafka.common.security`
//! does it, without the wire. Owns the JAAS configuration text
//! (`jaas.rs`, Kafka's `JaasConfig` parser), values that must never be
//! printed (`password.rs`, Kafka's `Password` type), the SASL/PLAIN server
//! mechanism (`plain.rs`, Kafka's `PlainSaslServer` with the credentials of
//! `PlainLoginModule`'s `user_<name>` options) and the authenticated
//! identity (`principal.rs`, `KafkaPrincipal`).
//!
//! Uses nothing internal: `config/` parses its JAAS values with it at start,
//! and `server/` runs the mechanisms on a connection's SaslAuthenticate
//! tokens. The SASL handshake state of a connection is wire handling and
//! lives in `server/`.

mod jaas;
mod password;
mod plain;
mod principal;

pub use jaas::{ControlFlag, JaasConfig, JaasError, LoginModule};
pub use password::{HIDDEN, Password};
pub use plain::{PLAIN, PlainConfigError, PlainCredentials, PlainError, PlainServer};
pub use principal::KafkaPrincipal;
