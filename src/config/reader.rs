//! Typed reads of raw property values by the rules of Kafka's `ConfigDef`:
//! values are trimmed; INT, SHORT and LONG are decimal integers of that width;
//! BOOLEAN is exactly `true` or `false` in any case; LIST is comma separated
//! with blanks around commas ignored. The reader records every key it was
//! asked for, so the keys nobody read can be classed as ignored or unknown,
//! with the type and default the read used (the broker key catalogue that
//! DescribeConfigs lists, `broker_keys.rs`). Also Kafka's `ConfigType`, the
//! value types DescribeConfigs reports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::num::{IntErrorKind, ParseIntError};
use std::str::FromStr;

use super::enums::Named;
use super::error::{ConfigError, invalid};

/// Kafka's `ConfigDef.Type`, numbered as DescribeConfigs v3+ `config_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

/// Kafka's value types, used to check keys Sluice accepts but ignores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    Short,
    Int,
    Long,
    Double,
    /// STRING: any text is accepted (as for the three below).
    Text,
    List,
    Password,
    Class,
}

impl Kind {
    /// The DescribeConfigs type.
    pub(super) fn config_type(self) -> ConfigType {
        match self {
            Kind::Bool => ConfigType::Boolean,
            Kind::Short => ConfigType::Short,
            Kind::Int => ConfigType::Int,
            Kind::Long => ConfigType::Long,
            Kind::Double => ConfigType::Double,
            Kind::Text => ConfigType::String,
            Kind::List => ConfigType::List,
            Kind::Password => ConfigType::Password,
            Kind::Class => ConfigType::Class,
        }
    }
}

/// Checks that `value` parses as `kind`, naming `key` if not.
pub(super) fn check_kind(key: &str, value: &str, kind: Kind) -> Result<(), ConfigError> {
    let value = value.trim();
    match kind {
        Kind::Bool => parse_bool(key, value).map(drop),
        Kind::Short => parse_int::<i16>(key, value, "16-bit").map(drop),
        Kind::Int => parse_int::<i32>(key, value, "32-bit").map(drop),
        Kind::Long => parse_int::<i64>(key, value, "64-bit").map(drop),
        Kind::Double => parse_double(key, value).map(drop),
        Kind::Text | Kind::List | Kind::Password | Kind::Class => Ok(()),
    }
}

/// Reads typed values out of the raw properties, remembering which keys it read.
pub(super) struct Reader<'a> {
    props: &'a BTreeMap<String, String>,
    read: BTreeSet<&'static str>,
    /// Each key read, with its type and default (`None`: no default).
    catalogue: BTreeMap<&'static str, (ConfigType, Option<String>)>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(props: &'a BTreeMap<String, String>) -> Self {
        Self {
            props,
            read: BTreeSet::new(),
            catalogue: BTreeMap::new(),
        }
    }

    /// Every key read, with its type and default.
    pub(super) fn into_catalogue(self) -> BTreeMap<&'static str, (ConfigType, Option<String>)> {
        self.catalogue
    }

    /// Records the type and default of `key` (a later record wins).
    fn note(&mut self, key: &'static str, config_type: ConfigType, default: Option<String>) {
        self.catalogue.insert(key, (config_type, default));
    }

    /// Whether `key` was read by one of the typed reads.
    pub(super) fn was_read(&self, key: &str) -> bool {
        self.read.contains(key)
    }

    /// The trimmed raw value, if the key is set.
    pub(super) fn raw(&mut self, key: &'static str) -> Option<&'a str> {
        self.read.insert(key);
        self.catalogue
            .entry(key)
            .or_insert((ConfigType::String, None));
        self.props.get(key).map(|v| v.trim())
    }

    /// A STRING with a default.
    pub(super) fn string(&mut self, key: &'static str, default: &str) -> String {
        let value = self.raw(key).unwrap_or(default).to_string();
        self.note(key, ConfigType::String, Some(default.to_string()));
        value
    }

    /// A STRING with no default; an empty value counts as unset.
    pub(super) fn opt_string(&mut self, key: &'static str) -> Option<String> {
        self.raw(key).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// A LIST with no default; `None` when unset, empty entries dropped.
    pub(super) fn opt_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        let value = self.raw(key).map(split_list);
        self.note(key, ConfigType::List, None);
        value
    }

    pub(super) fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.note(key, ConfigType::Boolean, Some(default.to_string()));
        self.raw(key)
            .map_or(Ok(default), |value| parse_bool(key, value))
    }

    /// An INT of at least `min`.
    pub(super) fn int(
        &mut self,
        key: &'static str,
        default: i32,
        min: i32,
    ) -> Result<i32, ConfigError> {
        let value = self.opt_int(key, min)?.unwrap_or(default);
        self.note(key, ConfigType::Int, Some(default.to_string()));
        Ok(value)
    }

    /// An INT of at least `min`, with no default.
    pub(super) fn opt_int(
        &mut self,
        key: &'static str,
        min: i32,
    ) -> Result<Option<i32>, ConfigError> {
        self.note(key, ConfigType::Int, None);
        self.number(key, min, "32-bit")
    }

    /// A LONG of at least `min`.
    pub(super) fn long(
        &mut self,
        key: &'static str,
        default: i64,
        min: i64,
    ) -> Result<i64, ConfigError> {
        let value = self.opt_long(key, min)?.unwrap_or(default);
        self.note(key, ConfigType::Long, Some(default.to_string()));
        Ok(value)
    }

    /// A LONG of at least `min`, with no default.
    pub(super) fn opt_long(
        &mut self,
        key: &'static str,
        min: i64,
    ) -> Result<Option<i64>, ConfigError> {
        self.note(key, ConfigType::Long, None);
        self.number(key, min, "64-bit")
    }

    /// A DOUBLE in `[low, high]`.
    pub(super) fn double_between(
        &mut self,
        key: &'static str,
        default: f64,
        low: f64,
        high: f64,
    ) -> Result<f64, ConfigError> {
        self.note(key, ConfigType::Double, Some(default.to_string()));
        let Some(value) = self.raw(key) else {
            return Ok(default);
        };
        let parsed = parse_double(key, value)?;
        if !(low..=high).contains(&parsed) {
            return Err(invalid(
                key,
                value,
                format!("must be between {low} and {high}"),
            ));
        }
        Ok(parsed)
    }

    /// One of an enumeration's values, spelled exactly.
    pub(super) fn choice<T: Named>(
        &mut self,
        key: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        self.note(key, ConfigType::String, Some(default.name().to_string()));
        match self.raw(key) {
            None => Ok(default),
            Some(value) => find::<T>(key, value, value),
        }
    }

    /// A non-empty list of an enumeration's values, duplicates dropped.
    pub(super) fn choices<T: Named + PartialEq>(
        &mut self,
        key: &'static str,
        default: &[T],
    ) -> Result<Vec<T>, ConfigError> {
        let default_names: Vec<&str> = default.iter().map(|d| d.name()).collect();
        self.note(key, ConfigType::List, Some(default_names.join(",")));
        let Some(value) = self.raw(key) else {
            return Ok(default.to_vec());
        };
        let mut chosen = Vec::new();
        for item in split_list(value) {
            let one = find::<T>(key, value, &item)?;
            if !chosen.contains(&one) {
                chosen.push(one);
            }
        }
        if chosen.is_empty() {
            return Err(invalid(
                key,
                value,
                format!("must list at least one of: {}", names::<T>()),
            ));
        }
        Ok(chosen)
    }

    fn number<T>(
        &mut self,
        key: &'static str,
        min: T,
        width: &str,
    ) -> Result<Option<T>, ConfigError>
    where
        T: FromStr<Err = ParseIntError> + PartialOrd + Display + Copy,
    {
        let Some(value) = self.raw(key) else {
            return Ok(None);
        };
        let parsed = parse_int::<T>(key, value, width)?;
        if parsed < min {
            return Err(invalid(key, value, format!("must be at least {min}")));
        }
        Ok(Some(parsed))
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(invalid(
            key,
            value,
            "not a boolean (expected true or false)",
        ))
    }
}

fn parse_int<T: FromStr<Err = ParseIntError>>(
    key: &str,
    value: &str,
    width: &str,
) -> Result<T, ConfigError> {
    value.parse::<T>().map_err(|err| {
        let reason = match err.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                format!("out of range for a {width} integer")
            }
            _ => "not a number".to_string(),
        };
        invalid(key, value, reason)
    })
}

fn parse_double(key: &str, value: &str) -> Result<f64, ConfigError> {
    match value.parse::<f64>() {
        Ok(parsed) if parsed.is_finite() => Ok(parsed),
        _ => Err(invalid(key, value, "not a number")),
    }
}

fn find<T: Named>(key: &str, value: &str, item: &str) -> Result<T, ConfigError> {
    T::ALL
        .iter()
        .copied()
        .find(|candidate| candidate.name() == item)
        .ok_or_else(|| invalid(key, value, format!("must be one of: {}", names::<T>())))
}

fn names<T: Named>() -> String {
    T::ALL
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::enums::CleanupPolicy;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn numbers_are_trimmed_ranged_and_sized() {
        let props = map(&[
            ("a", " 42 "),
            ("b", "+7"),
            ("c", "3000000000"),
            ("d", "1x"),
            ("e", ""),
        ]);
        let mut r = Reader::new(&props);
        assert_eq!(r.int("a", 0, 0).unwrap(), 42);
        assert_eq!(r.int("b", 0, 0).unwrap(), 7);
        assert_eq!(r.long("c", 0, 0).unwrap(), 3_000_000_000);
        let err = r.int("c", 0, 0).unwrap_err().to_string();
        assert!(err.contains("out of range for a 32-bit integer"), "{err}");
        let err = r.int("d", 0, 0).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid value \"1x\" for configuration key \"d\": not a number"
        );
        assert!(
            r.long("e", 0, 0).is_err(),
            "empty is not a number, as in Kafka"
        );
        let err = r.int("a", 0, 100).unwrap_err().to_string();
        assert!(err.ends_with("must be at least 100"), "{err}");
        assert_eq!(r.int("unset", 9, 0).unwrap(), 9);
        assert!(r.was_read("unset") && !r.was_read("never"));
    }

    #[test]
    fn booleans_are_true_or_false_in_any_case() {
        let props = map(&[("t", "TRUE"), ("f", " False "), ("y", "yes"), ("one", "1")]);
        let mut r = Reader::new(&props);
        assert!(r.bool("t", false).unwrap());
        assert!(!r.bool("f", true).unwrap());
        for key in ["y", "one"] {
            let err = r.bool(key, true).unwrap_err();
            assert_eq!(err.key(), Some(key));
            assert!(err.to_string().contains("not a boolean"));
        }
    }

    #[test]
    fn doubles_and_lists_and_choices() {
        let props = map(&[
            ("ratio", "0.75"),
            ("big", "1.5"),
            ("nan", "NaN"),
            ("list", " a , ,b,"),
            ("policy", "compact, delete,compact"),
            ("empty", " , "),
            ("upper", "DELETE"),
        ]);
        let mut r = Reader::new(&props);
        assert_eq!(r.double_between("ratio", 0.5, 0.0, 1.0).unwrap(), 0.75);
        assert!(r.double_between("big", 0.5, 0.0, 1.0).is_err());
        assert!(r.double_between("nan", 0.5, 0.0, 1.0).is_err());
        assert_eq!(r.opt_list("list").unwrap(), vec!["a", "b"]);
        let policy = r.choices("policy", &[CleanupPolicy::Delete]).unwrap();
        assert_eq!(policy, vec![CleanupPolicy::Compact, CleanupPolicy::Delete]);
        assert!(r.choices("empty", &[CleanupPolicy::Delete]).is_err());
        let err = r
            .choice("upper", CleanupPolicy::Delete)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("must be one of: compact, delete"), "{err}");
    }

    #[test]
    fn kinds_check_ignored_values() {
        assert!(check_kind("k", " 12 ", Kind::Short).is_ok());
        assert!(check_kind("k", "40000", Kind::Short).is_err());
        assert!(check_kind("k", "many", Kind::Int).is_err());
        assert!(check_kind("k", "1e3", Kind::Double).is_ok());
        assert!(check_kind("k", "maybe", Kind::Bool).is_err());
        assert!(check_kind("k", "anything", Kind::Text).is_ok());
    }
}
