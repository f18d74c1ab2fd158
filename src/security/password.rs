//! `Password`: a secret configuration value, Kafka's `Password` type. Its
//! `Debug` and `Display` print `[hidden]`, so a secret can never reach a log
//! line or a config dump by formatting; only [`Password::value`] reads it.

use std::fmt;

/// A secret; printing it shows `[hidden]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// What a hidden value prints as (Kafka's `Password.HIDDEN`).
pub const HIDDEN: &str = "[hidden]";

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: for comparison only, never for printing.
    pub fn value(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HIDDEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let p = Password::new("alice-secret");
        assert_eq!(format!("{p:?} {p}"), "[hidden] [hidden]");
        assert_eq!(p.value(), "alice-secret");
    }
}
