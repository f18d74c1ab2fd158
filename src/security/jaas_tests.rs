//! Unit tests of the JAAS configuration parser.

use super::*;

const PLAIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";

fn option<'a>(module: &'a LoginModule, key: &str) -> &'a str {
    module.options[key].value()
}

#[test]
fn parses_kafkas_plain_example() {
    let config = JaasConfig::parse(
        r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#,
    )
    .unwrap();
    assert_eq!(config.modules.len(), 1);
    let m = &config.modules[0];
    assert_eq!(m.class, PLAIN_MODULE);
    assert_eq!(m.flag, ControlFlag::Required);
    assert_eq!(option(m, "username"), "admin");
    assert_eq!(option(m, "password"), "admin-secret");
    assert_eq!(option(m, "user_admin"), "admin-secret");
    assert_eq!(option(m, "user_alice"), "alice-secret");
    assert_eq!(m.options.len(), 4);
}

#[test]
fn quoting_flags_comments_and_several_modules() {
    let config = JaasConfig::parse(
        "/* a comment */ a.B OPTIONAL k1=bare k2='single \"q\"' k3=\"esc\\\"aped; = x\";\n// line comment\nc.D sufficient;",
    )
    .unwrap();
    assert_eq!(config.modules.len(), 2);
    let m = &config.modules[0];
    assert_eq!(m.flag, ControlFlag::Optional);
    assert_eq!(option(m, "k1"), "bare");
    assert_eq!(option(m, "k2"), "single \"q\"");
    assert_eq!(option(m, "k3"), "esc\"aped; = x");
    assert_eq!(config.modules[1].flag, ControlFlag::Sufficient);
    assert!(config.modules[1].options.is_empty());
}

#[test]
fn refuses_malformed_texts() {
    let cases = [
        ("", JaasError::NoLoginModule),
        ("   ", JaasError::NoLoginModule),
        ("\"quoted.Class\" required;", JaasError::NoLoginModule),
        ("a.B;", JaasError::NoControlFlag("a.B".into())),
        (
            "a.B mandatory;",
            JaasError::InvalidControlFlag("mandatory".into()),
        ),
        ("a.B required user_x=\"s\"", JaasError::NotTerminated),
        ("a.B required user_x;", JaasError::NoValue("user_x".into())),
        ("a.B required user_x=;", JaasError::NoValue("user_x".into())),
        ("a.B required user_x=\"s;", JaasError::UnterminatedQuote),
        ("a.B required /* x", JaasError::UnterminatedComment),
        ("a.B required k=v; <", JaasError::Unexpected('<')),
    ];
    for (text, expected) in cases {
        assert_eq!(JaasConfig::parse(text), Err(expected), "{text}");
    }
}

#[test]
fn errors_and_debug_never_show_a_value() {
    let config = JaasConfig::parse("a.B required user_alice=\"alice-secret\";").unwrap();
    assert!(!format!("{config:?}").contains("alice-secret"));
    let err = JaasConfig::parse("a.B required user_alice=\"alice-secret\" x").unwrap_err();
    assert!(!err.to_string().contains("alice-secret"));
}
