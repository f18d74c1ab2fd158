//! `KafkaPrincipal`: who a connection authenticated as, Kafka's
//! `KafkaPrincipal` (`type:name`; SASL's are `User:<name>`, unauthenticated
//! connections `User:ANONYMOUS`).

use std::fmt;

/// An authenticated (or anonymous) identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KafkaPrincipal {
    /// `User` for every principal Sluice builds.
    pub principal_type: String,
    pub name: String,
}

impl KafkaPrincipal {
    /// Kafka's `KafkaPrincipal.USER_TYPE`.
    pub const USER_TYPE: &'static str = "User";

    /// `User:<name>`.
    pub fn user(name: impl Into<String>) -> Self {
        Self {
            principal_type: Self::USER_TYPE.to_string(),
            name: name.into(),
        }
    }

    /// `User:ANONYMOUS`, the principal of a connection that did not authenticate.
    pub fn anonymous() -> Self {
        Self::user("ANONYMOUS")
    }
}

impl fmt::Display for KafkaPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_type_colon_name() {
        assert_eq!(KafkaPrincipal::user("alice").to_string(), "User:alice");
        assert_eq!(KafkaPrincipal::anonymous().to_string(), "User:ANONYMOUS");
    }
}
