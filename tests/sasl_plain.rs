//! SASL_PLAINTEXT listeners with SASL/PLAIN, seen from real clients: a broker
//! with `PLAINTEXT://` (inter-broker) and `SASL_PLAINTEXT://` listeners;
//! kcat (librdkafka), confluent-kafka and kafka-python produce and consume
//! over SASL/PLAIN; a wrong password and an unknown user are refused with an
//! authentication error and the broker keeps serving; raw requests: Metadata
//! before authentication closes the connection, SaslHandshake on the
//! PLAINTEXT listener gets ILLEGAL_SASL_STATE, an unknown mechanism gets
//! UNSUPPORTED_SASL_MECHANISM; the passwords never reach the broker's log.

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#;
const ILLEGAL_SASL_STATE: i16 = 34;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

/// A broker with PLAINTEXT (inter-broker, the harness's port) and
/// SASL_PLAINTEXT listeners; returns it and the SASL port.
fn sasl_broker(name: &str) -> (Broker, u16) {
    let (plain, sasl) = (free_port(), free_port());
    let listeners = format!("PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl}");
    let mut spec = BrokerSpec::new(1, zk_connect(&unique_chroot(name)))
        .set("listeners", &listeners)
        .set("sasl.enabled.mechanisms", "PLAIN")
        .set("listener.name.sasl_plaintext.plain.sasl.jaas.config", JAAS);
    spec.port = Some(plain);
    (Broker::start(spec), sasl)
}

fn kcat_sasl(
    port: u16,
    user: &str,
    password: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> std::process::Output {
    let bootstrap = format!("127.0.0.1:{port}");
    let user = format!("sasl.username={user}");
    let password = format!("sasl.password={password}");
    let mut all = vec![
        "-b",
        &bootstrap,
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=PLAIN",
        "-X",
        &user,
        "-X",
        &password,
        "-X",
        "broker.address.family=v4",
    ];
    all.extend_from_slice(args);
    kcat(&all, stdin)
}

fn kcat_round_trip(port: u16, topic: &str) {
    let out = kcat_sasl(
        port,
        "alice",
        "alice-secret",
        &["-t", topic, "-P"],
        Some(b"one\ntwo\nthree\n"),
    );
    assert_success(&out, "kcat produce over SASL/PLAIN");
    let out = kcat_sasl(
        port,
        "alice",
        "alice-secret",
        &["-t", topic, "-C", "-o", "beginning", "-e", "-q"],
        None,
    );
    assert_success(&out, "kcat consume over SASL/PLAIN");
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got, ["one", "two", "three"]);
}

/// SaslHandshake `version` for `mechanism` on `conn`.
fn handshake(conn: &mut RawConn, version: i16, mechanism: &str) -> SaslHandshakeResponse {
    conn.send(
        ApiKey::SaslHandshake,
        version,
        &SaslHandshakeRequest::default().with_mechanism(str_bytes(mechanism)),
    )
    .unwrap()
}

/// SaslAuthenticate `version` with the PLAIN `token` on `conn`.
fn authenticate(
    conn: &mut RawConn,
    version: i16,
    token: &'static [u8],
) -> SaslAuthenticateResponse {
    conn.send(
        ApiKey::SaslAuthenticate,
        version,
        &SaslAuthenticateRequest::default().with_auth_bytes(bytes::Bytes::from_static(token)),
    )
    .unwrap()
}

#[test]
fn kcat_produces_and_consumes_and_bad_credentials_are_refused() {
    let (broker, port) = sasl_broker("sasl-kcat");
    kcat_round_trip(port, "sasl-kcat");
    for (user, password) in [("alice", "wrong-password"), ("mallory", "alice-secret")] {
        let out = kcat_sasl(port, user, password, &["-L"], None);
        assert!(!out.status.success(), "{user} listed metadata");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("Authentication failed") || stderr.contains("SASL authentication"),
            "kcat as {user}: {stderr}"
        );
    }
    // The broker keeps serving: a good client works afterwards.
    kcat_round_trip(port, "sasl-kcat-after");
    broker.wait_for_log(
        "authentication failed for user \"mallory\": invalid username or password",
        Duration::from_secs(10),
    );
    broker.wait_for_log(
        "authentication failed for user \"alice\": invalid username or password",
        Duration::from_secs(10),
    );
    let log = broker.log_text();
    for secret in ["alice-secret", "admin-secret", "wrong-password"] {
        assert!(!log.contains(secret), "the broker's log shows {secret}");
    }
}

#[test]
fn python_clients_produce_and_consume() {
    let (_broker, port) = sasl_broker("sasl-python");
    let bootstrap = format!("127.0.0.1:{port}");
    let confluent = r#"
import sys
from confluent_kafka import Producer, Consumer
conf = {"bootstrap.servers": sys.argv[1], "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "PLAIN", "sasl.username": "alice", "sasl.password": sys.argv[2],
        "broker.address.family": "v4"}
p = Producer(conf)
for i in range(3):
    p.produce("sasl-confluent", value=b"m%d" % i)
assert p.flush(30) == 0
c = Consumer(dict(conf, **{"group.id": "g", "auto.offset.reset": "earliest"}))
c.subscribe(["sasl-confluent"])
got = []
while len(got) < 3:
    m = c.poll(30)
    assert m is not None, "no message"
    if m.error():
        raise SystemExit(str(m.error()))
    got.append(m.value())
c.close()
assert got == [b"m0", b"m1", b"m2"], got
errors = []
bad = Consumer(dict(conf, **{"sasl.password": "nope", "group.id": "h", "error_cb": errors.append}))
bad.poll(5)
bad.close()
assert any("Authentication failed" in str(e) for e in errors), errors
print("ok")
"#;
    let out = run_python(confluent, &[&bootstrap, "alice-secret"]);
    assert_success(&out, "confluent-kafka over SASL/PLAIN");
    let kafka_python = r#"
import sys
from kafka import KafkaProducer, KafkaConsumer
from kafka.errors import KafkaError
conf = dict(bootstrap_servers=sys.argv[1], security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN", sasl_plain_username="alice", sasl_plain_password="alice-secret")
p = KafkaProducer(**conf)
for i in range(3):
    p.send("sasl-kafka-python", b"k%d" % i).get(timeout=30)
p.close()
c = KafkaConsumer("sasl-kafka-python", auto_offset_reset="earliest", consumer_timeout_ms=20000, **conf)
got = [m.value for m in c]
c.close()
assert got == [b"k0", b"k1", b"k2"], got
# kafka-python connects in the background: the refusal shows as a send
# that cannot complete (its log says AuthenticationFailedError).
try:
    bad = KafkaProducer(max_block_ms=5000, **dict(conf, sasl_plain_password="nope"))
    bad.send("sasl-kafka-python", b"x").get(timeout=10)
    raise SystemExit("a wrong password was accepted")
except KafkaError as e:
    print("refused:", type(e).__name__, e)
print("ok")
"#;
    let out = run_python(kafka_python, &[&bootstrap]);
    assert_success(&out, "kafka-python over SASL/PLAIN");
}

/// Reads until the broker closes the connection; true if it did.
fn closed_by_broker(conn: &RawConn) -> bool {
    let mut stream = conn.stream();
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn raw_requests_before_and_outside_authentication() {
    let (broker, port) = sasl_broker("sasl-raw");
    let timeout = Duration::from_secs(10);

    // Metadata before authentication: the connection is closed.
    let mut conn = RawConn::open(port, timeout).unwrap();
    conn.write_request(ApiKey::Metadata, 1, &MetadataRequest::default())
        .unwrap();
    assert!(
        closed_by_broker(&conn),
        "Metadata before authentication was served"
    );

    // SaslHandshake on the PLAINTEXT listener: ILLEGAL_SASL_STATE.
    let mut conn = RawConn::open(broker.port(), timeout).unwrap();
    let response = handshake(&mut conn, 1, "PLAIN");
    assert_eq!(response.error_code, ILLEGAL_SASL_STATE);

    // An unknown mechanism: UNSUPPORTED_SASL_MECHANISM with the enabled list, then closed.
    let mut conn = RawConn::open(port, timeout).unwrap();
    let response = handshake(&mut conn, 1, "SCRAM-SHA-256");
    assert_eq!(response.error_code, UNSUPPORTED_SASL_MECHANISM);
    assert_eq!(response.mechanisms, vec![str_bytes("PLAIN")]);
    assert!(closed_by_broker(&conn));

    // A wrong password in SaslAuthenticate: SASL_AUTHENTICATION_FAILED with Kafka's message, then closed.
    let mut conn = RawConn::open(port, timeout).unwrap();
    let response = handshake(&mut conn, 1, "PLAIN");
    assert_eq!(response.error_code, 0);
    let response = authenticate(&mut conn, 1, b"\0alice\0bad");
    assert_eq!(response.error_code, SASL_AUTHENTICATION_FAILED);
    assert_eq!(
        response.error_message.as_deref(),
        Some("Authentication failed: Invalid username or password")
    );
    assert!(closed_by_broker(&conn));

    // A good one, then Metadata is served and a second SaslAuthenticate is ILLEGAL_SASL_STATE.
    let mut conn = RawConn::open(port, timeout).unwrap();
    handshake(&mut conn, 1, "PLAIN");
    let response = authenticate(&mut conn, 2, b"\0alice\0alice-secret");
    assert_eq!(response.error_code, 0);
    let metadata: kafka_protocol::messages::MetadataResponse = conn
        .send(ApiKey::Metadata, 1, &MetadataRequest::default())
        .unwrap();
    assert_eq!(metadata.brokers.len(), 1);
    let response: SaslAuthenticateResponse = conn
        .send(
            ApiKey::SaslAuthenticate,
            1,
            &SaslAuthenticateRequest::default(),
        )
        .unwrap();
    assert_eq!(response.error_code, ILLEGAL_SASL_STATE);
}

#[test]
fn handshake_v0_takes_bare_tokens() {
    use std::io::Write;
    let (_broker, port) = sasl_broker("sasl-v0");
    let timeout = Duration::from_secs(10);
    let handshake_v0 = |token: &[u8]| {
        let mut conn = RawConn::open(port, timeout).unwrap();
        let response = handshake(&mut conn, 0, "PLAIN");
        assert_eq!(response.error_code, 0);
        let mut stream = conn.stream();
        stream
            .write_all(&(token.len() as u32).to_be_bytes())
            .unwrap();
        stream.write_all(token).unwrap();
        conn
    };
    // A good token: an empty bare token back, then requests are served.
    let mut conn = handshake_v0(b"\0alice\0alice-secret");
    let mut size = [0u8; 4];
    conn.stream().read_exact(&mut size).unwrap();
    assert_eq!(u32::from_be_bytes(size), 0);
    let metadata: kafka_protocol::messages::MetadataResponse = conn
        .send(ApiKey::Metadata, 1, &MetadataRequest::default())
        .unwrap();
    assert_eq!(metadata.brokers.len(), 1);
    // A bad one: the connection is closed without an answer.
    let conn = handshake_v0(b"\0alice\0wrong");
    assert!(closed_by_broker(&conn));
}
