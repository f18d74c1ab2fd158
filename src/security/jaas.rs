//! The JAAS configuration text of a `sasl.jaas.config` value, read as Kafka's
//! `JaasConfig` reads it: one or more `LoginModuleClass flag key=value ... ;`
//! entries, values bare words or quoted (`"..."` or `'...'`, backslash
//! escapes), `//` and `/* */` comments, the control flag one of `required`,
//! `requisite`, `sufficient`, `optional` (any case).
//!
//! Option values may be passwords, so they are kept as [`Password`] and no
//! error message ever quotes a value: errors name the option key only.

use std::collections::BTreeMap;

use super::password::Password;

/// A JAAS login module's control flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlFlag {
    Required,
    Requisite,
    Sufficient,
    Optional,
}

/// One `LoginModuleClass flag options... ;` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginModule {
    /// The login module's class name, e.g.
    /// `org.apache.kafka.common.security.plain.PlainLoginModule`.
    pub class: String,
    pub flag: ControlFlag,
    /// Options by key; every value is hidden when printed.
    pub options: BTreeMap<String, Password>,
}

/// A parsed JAAS configuration: its login modules in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JaasConfig {
    pub modules: Vec<LoginModule>,
}

/// Why a JAAS text does not parse. Never carries an option's value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    #[error("login module not specified in JAAS config")]
    NoLoginModule,
    #[error(
        "invalid control flag {0:?} in JAAS config (expected required, requisite, sufficient or optional)"
    )]
    InvalidControlFlag(String),
    #[error("control flag not specified for login module {0} in JAAS config")]
    NoControlFlag(String),
    #[error("value not specified for key {0:?} in JAAS config")]
    NoValue(String),
    #[error("JAAS config entry not terminated by semi-colon")]
    NotTerminated,
    #[error("unterminated quoted value in JAAS config")]
    UnterminatedQuote,
    #[error("unterminated comment in JAAS config")]
    UnterminatedComment,
    #[error("unexpected character {0:?} in JAAS config")]
    Unexpected(char),
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// A bare word (class names, flags, keys and unquoted values).
    Word(String),
    /// A quoted value.
    Quoted(String),
    Equals,
    Semicolon,
}

impl JaasConfig {
    /// Parses a JAAS configuration text.
    pub fn parse(text: &str) -> Result<JaasConfig, JaasError> {
        let tokens = tokenize(text)?;
        let mut tokens = tokens.into_iter().peekable();
        let mut modules = Vec::new();
        while let Some(token) = tokens.next() {
            let Token::Word(class) = token else {
                return Err(JaasError::NoLoginModule);
            };
            let flag = match tokens.next() {
                Some(Token::Word(flag)) => parse_flag(&flag)?,
                Some(_) | None => return Err(JaasError::NoControlFlag(class)),
            };
            let mut options = BTreeMap::new();
            loop {
                match tokens.next() {
                    Some(Token::Semicolon) => break,
                    Some(Token::Word(key)) => {
                        if tokens.next() != Some(Token::Equals) {
                            return Err(JaasError::NoValue(key));
                        }
                        let value = match tokens.next() {
                            Some(Token::Word(v) | Token::Quoted(v)) => v,
                            _ => return Err(JaasError::NoValue(key)),
                        };
                        options.insert(key, Password::new(value));
                    }
                    Some(_) | None => return Err(JaasError::NotTerminated),
                }
            }
            modules.push(LoginModule {
                class,
                flag,
                options,
            });
        }
        if modules.is_empty() {
            return Err(JaasError::NoLoginModule);
        }
        Ok(JaasConfig { modules })
    }
}

fn parse_flag(flag: &str) -> Result<ControlFlag, JaasError> {
    match flag.to_ascii_lowercase().as_str() {
        "required" => Ok(ControlFlag::Required),
        "requisite" => Ok(ControlFlag::Requisite),
        "sufficient" => Ok(ControlFlag::Sufficient),
        "optional" => Ok(ControlFlag::Optional),
        _ => Err(JaasError::InvalidControlFlag(flag.to_string())),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || "-_$.{}/:@+*#%!?~,[]".contains(c)
}

fn tokenize(text: &str) -> Result<Vec<Token>, JaasError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '=' => tokens.push(Token::Equals),
            ';' => tokens.push(Token::Semicolon),
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = '\0';
                let mut closed = false;
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    last = c;
                }
                if !closed {
                    return Err(JaasError::UnterminatedComment);
                }
            }
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        c if c == quote => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            Some('r') => value.push('\r'),
                            Some(other) => value.push(other),
                            None => break,
                        },
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err(JaasError::UnterminatedQuote);
                }
                tokens.push(Token::Quoted(value));
            }
            c if is_word_char(c) => {
                let mut word = String::from(c);
                while let Some(&c) = chars.peek() {
                    if !is_word_char(c) || (c == '/' && matches!(word.chars().last(), Some('/'))) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            c => return Err(JaasError::Unexpected(c)),
        }
    }
    Ok(tokens)
}

#[cfg(test)]
#[path = "jaas_tests.rs"]
mod tests;
