//! Unit tests of the PLAIN mechanism: token parsing, credentials from JAAS,
//! and every outcome of an exchange.

use super::*;

fn credentials() -> PlainCredentials {
    let jaas = JaasConfig::parse(
        r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#,
    )
    .unwrap();
    PlainCredentials::from_jaas(&jaas).unwrap()
}

#[test]
fn parses_tokens() {
    assert_eq!(
        parse_token(b"\0alice\0pw").unwrap(),
        PlainToken {
            authzid: "",
            username: "alice",
            password: "pw"
        }
    );
    assert_eq!(parse_token(b"alice\0alice\0pw").unwrap().authzid, "alice");
    assert_eq!(parse_token(b"alice"), Err(PlainError::Malformed(1)));
    assert_eq!(parse_token(b"alice\0pw"), Err(PlainError::Malformed(2)));
    assert_eq!(parse_token(b"a\0b\0c\0d"), Err(PlainError::Malformed(4)));
    assert_eq!(parse_token(b""), Err(PlainError::Malformed(1)));
    assert_eq!(parse_token(b"\0\xff\0pw"), Err(PlainError::NotUtf8));
}

#[test]
fn evaluates_every_outcome() {
    let creds = credentials();
    let server = PlainServer::new(&creds);
    assert_eq!(
        server.evaluate(b"\0alice\0alice-secret").unwrap(),
        KafkaPrincipal::user("alice")
    );
    assert_eq!(
        server.evaluate(b"admin\0admin\0admin-secret").unwrap(),
        KafkaPrincipal::user("admin")
    );
    let err = |m: &[u8]| server.evaluate(m).unwrap_err();
    assert_eq!(
        err(b"\0alice\0wrong"),
        (PlainError::BadCredentials, Some("alice".into()))
    );
    assert_eq!(
        err(b"\0alice\0alice-secretX"),
        (PlainError::BadCredentials, Some("alice".into()))
    );
    assert_eq!(
        err(b"\0mallory\0alice-secret"),
        (PlainError::BadCredentials, Some("mallory".into()))
    );
    // `username`/`password` are the broker's own client credentials, not a user.
    assert_eq!(err(b"\0username\0admin").0, PlainError::BadCredentials);
    assert_eq!(err(b"\0\0pw"), (PlainError::NoUsername, None));
    assert_eq!(err(b"\0alice\0").0, PlainError::NoPassword);
    assert_eq!(
        err(b"admin\0alice\0alice-secret").0,
        PlainError::AuthorizationId
    );
    assert_eq!(err(b"no nuls").0, PlainError::Malformed(1));
}

#[test]
fn client_messages_are_kafkas_and_hold_no_password() {
    assert_eq!(
        PlainError::BadCredentials.client_message(),
        "Authentication failed: Invalid username or password"
    );
    for e in [
        PlainError::Malformed(2),
        PlainError::NotUtf8,
        PlainError::NoUsername,
        PlainError::NoPassword,
        PlainError::AuthorizationId,
        PlainError::BadCredentials,
    ] {
        assert!(e.client_message().starts_with("Authentication failed"));
    }
}

#[test]
fn credentials_need_exactly_one_plain_module() {
    let two = JaasConfig::parse("a.B required; c.D required;").unwrap();
    assert_eq!(
        PlainCredentials::from_jaas(&two),
        Err(PlainConfigError::ModuleCount(2))
    );
    let other = JaasConfig::parse("org.example.Other required user_a=b;").unwrap();
    assert!(matches!(
        PlainCredentials::from_jaas(&other),
        Err(PlainConfigError::WrongModule(_))
    ));
}

#[test]
fn constant_time_eq_compares() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(constant_time_eq(b"", b""));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(!constant_time_eq(b"ab\0", b"ab"));
}
