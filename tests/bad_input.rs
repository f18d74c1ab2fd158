//! Wire-protocol robustness against real `sluice broker` processes: raw TCP
//! connections (requests built with the kafka-protocol crate, or bytes by
//! hand) abuse the broker, and after each abuse a fresh connection, a
//! connection opened before the abuse, and finally kcat must still be served.
//!
//! Covered: pipelined requests answered one each in request order;
//! ApiVersions v0-v3, and an unsupported ApiVersions version answered in v0
//! with UNSUPPORTED_VERSION and the API list; unknown API keys, unsupported
//! versions, oversized, negative, truncated and garbage frames closing the
//! connection (Kafka's behaviour) with a log line; invalid and colliding topic
//! names in CreateTopics, Metadata (auto-creation) and Produce; record batches
//! above message.max.bytes and with a bad CRC rejected with nothing appended.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use common::*;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

// Kafka error codes (org.apache.kafka.common.protocol.Errors).
const NONE: i16 = 0;
const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const LEADER_NOT_AVAILABLE: i16 = 5;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const UNSUPPORTED_VERSION: i16 = 35;

const CLIENT_ID: &str = "bad-input-test";
/// How long a read on a raw connection may block before the test gives up.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ helpers

/// `payload` with its 4-byte big-endian size prefix.
fn size_prefixed(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// A complete, valid request frame.
fn frame<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, body: &R) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, key.request_header_version(version))
        .expect("encode request header");
    body.encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("encode {key:?} v{version}: {e}"));
    size_prefixed(&buf)
}

/// A request header written by hand, for keys and versions the
/// kafka-protocol crate refuses to encode: key, version, correlation id,
/// client id, and (`flexible`) an empty tagged-field section.
fn raw_header(key: i16, version: i16, correlation_id: i32, flexible: bool) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_i16(key);
    buf.put_i16(version);
    buf.put_i32(correlation_id);
    buf.put_i16(CLIENT_ID.len() as i16);
    buf.put_slice(CLIENT_ID.as_bytes());
    if flexible {
        buf.put_u8(0);
    }
    buf
}

/// Decodes a response frame (without its size prefix): (correlation id, body).
fn decode<R: Decodable>(key: ApiKey, version: i16, mut frame: Bytes) -> (i32, R) {
    let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
        .unwrap_or_else(|e| panic!("decode {key:?} v{version} response header: {e}"));
    let body = R::decode(&mut frame, version)
        .unwrap_or_else(|e| panic!("decode {key:?} v{version} response body: {e}"));
    (header.correlation_id, body)
}

/// A raw client connection to a broker.
struct Conn {
    stream: TcpStream,
}

impl Conn {
    fn open(broker: &Broker) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", broker.port()))
            .unwrap_or_else(|e| panic!("connect to broker {}: {e}", broker.bootstrap()));
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn { stream }
    }

    /// Our address, as the broker's log names this connection's peer.
    fn local_addr(&self) -> String {
        self.stream.local_addr().unwrap().to_string()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the broker");
    }

    /// Reads one size-prefixed response frame; panics if the broker closes
    /// the connection or says nothing within [`IO_TIMEOUT`].
    fn recv(&mut self) -> Bytes {
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .expect("read a response size (did the broker close the connection?)");
        let size = i32::from_be_bytes(size);
        assert!(
            (0..=64 * 1024 * 1024).contains(&size),
            "implausible response size {size}"
        );
        let mut body = vec![0u8; size as usize];
        self.stream
            .read_exact(&mut body)
            .expect("read a response body");
        Bytes::from(body)
    }

    /// Sends one request and decodes its response, checking the correlation id.
    fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        correlation_id: i32,
        body: &Req,
    ) -> Resp {
        self.send(&frame(key, version, correlation_id, body));
        let (got, response) = decode(key, version, self.recv());
        assert_eq!(got, correlation_id, "{key:?} v{version} correlation id");
        response
    }

    /// An ApiVersions v3 round trip: this connection is being served.
    fn assert_served(&mut self, correlation_id: i32) {
        let response: ApiVersionsResponse = self.call(
            ApiKey::ApiVersions,
            3,
            correlation_id,
            &api_versions_request(),
        );
        assert_eq!(response.error_code, NONE);
        assert!(!response.api_keys.is_empty());
    }

    /// Asserts the broker closes this connection (EOF or reset) without
    /// sending anything first.
    fn assert_closed(&mut self, what: &str) {
        let mut buf = [0u8; 256];
        match self.stream.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!(
                "{what}: expected the broker to close the connection, got {n} bytes: {:?}",
                &buf[..n]
            ),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("{what}: the connection is still open after {IO_TIMEOUT:?}")
            }
            Err(e) => panic!("{what}: unexpected read error {e}"),
        }
    }
}

fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("bad-input-test"))
        .with_client_software_version(StrBytes::from_static_str("1.0"))
}

/// A fresh connection gets an ApiVersions answer: the broker is alive and
/// serving. If not, the panic says whether the process died, with the log
/// lines that are not backtrace frames.
fn assert_broker_serves(broker: &mut Broker, after: &str) {
    let served = std::panic::catch_unwind(AssertUnwindSafe(|| {
        Conn::open(broker).assert_served(4242);
    }));
    if served.is_ok() {
        return;
    }
    let exited = std::panic::catch_unwind(AssertUnwindSafe(|| {
        wait_until("the broker to exit", Duration::from_secs(5), || {
            (!broker.is_running()).then_some(())
        })
    }))
    .is_ok();
    let text = broker.log_text();
    let log: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            let frame_number = l
                .split_once(':')
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok());
            !frame_number && !l.starts_with("at ")
        })
        .collect();
    panic!(
        "the broker no longer serves after {after} (process {}); log without backtrace frames:\n{}",
        if exited { "exited" } else { "still running" },
        tail_lines(&log.join("\n"), 15)
    );
}

/// Waits for a broker log line that mentions every needle.
fn wait_for_log_line(broker: &Broker, needles: &[&str]) -> String {
    wait_until(
        &format!("a broker log line with {needles:?}"),
        Duration::from_secs(10),
        || {
            broker
                .log_text()
                .lines()
                .find(|l| needles.iter().all(|n| l.contains(n)))
                .map(str::to_owned)
        },
    )
}

/// kcat produces two messages to `topic` and consumes them back.
fn assert_kcat_round_trip(broker: &Broker, topic: &str) {
    let bootstrap = broker.bootstrap();
    let out = kcat(
        &["-b", &bootstrap, "-t", topic, "-P"],
        Some(b"still\nworking\n"),
    );
    assert_success(&out, "kcat produce");
    let out = kcat(
        &["-b", &bootstrap, "-t", topic, "-C", "-o", "beginning", "-e"],
        None,
    );
    let text = assert_success(&out, "kcat consume");
    assert_eq!(text.lines().collect::<Vec<_>>(), ["still", "working"]);
}

/// A plain batch of `values`, stamped now.
fn record_batch(values: &[&[u8]]) -> Bytes {
    plain_batch(values, now_ms())
}

/// Produces `records` to partition 0 of `topic`: (error code, base offset).
fn produce(conn: &mut Conn, correlation_id: i32, topic: &str, records: Bytes) -> (i16, i64) {
    let response: ProduceResponse = conn.call(
        ApiKey::Produce,
        7,
        correlation_id,
        &produce_request(topic, records),
    );
    assert_eq!(response.responses.len(), 1, "{response:?}");
    let topic_response = &response.responses[0];
    assert_eq!(topic_response.name.0.as_str(), topic);
    let partition = &topic_response.partition_responses[0];
    (partition.error_code, partition.base_offset)
}

/// The log end offset (ListOffsets, latest) of partition 0 of `topic`.
fn latest_offset(conn: &mut Conn, correlation_id: i32, topic: &str) -> i64 {
    let request = list_offsets_request(topic, -1);
    let response: ListOffsetsResponse = conn.call(ApiKey::ListOffsets, 4, correlation_id, &request);
    let partition = &response.topics[0].partitions[0];
    assert_eq!(
        partition.error_code, NONE,
        "ListOffsets {topic}: {response:?}"
    );
    partition.offset
}

/// CreateTopics v5 for `names` (1 partition, replication factor 1):
/// (name, error code, error message) in request order.
fn create_topics(
    conn: &mut Conn,
    correlation_id: i32,
    names: &[&str],
) -> Vec<(String, i16, String)> {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(
            names
                .iter()
                .map(|n| {
                    CreatableTopic::default()
                        .with_name(topic_name(n))
                        .with_num_partitions(1)
                        .with_replication_factor(1)
                })
                .collect(),
        );
    let response: CreateTopicsResponse =
        conn.call(ApiKey::CreateTopics, 5, correlation_id, &request);
    response
        .topics
        .iter()
        .map(|t| {
            (
                t.name.0.to_string(),
                t.error_code,
                t.error_message.as_deref().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn topic_znodes(chroot: &str) -> Vec<String> {
    zk(chroot).children("/brokers/topics").unwrap_or_default()
}

// -------------------------------------------------------------------- tests

#[test]
fn pipelined_requests_are_answered_in_order() {
    let chroot = unique_chroot("pipelining");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);

    // Twelve requests of four kinds in ONE write, with correlation ids that
    // are neither sorted nor contiguous.
    let kinds: [(ApiKey, i16); 4] = [
        (ApiKey::ApiVersions, 3),
        (ApiKey::Metadata, 9),
        (ApiKey::ApiVersions, 0),
        (ApiKey::Metadata, 1),
    ];
    let plan: Vec<(ApiKey, i16, i32)> = (0..12)
        .map(|i| {
            let (key, version) = kinds[i % kinds.len()];
            (
                key,
                version,
                9_000 - (i as i32) * 37 + ((i as i32) % 3) * 1_000,
            )
        })
        .collect();
    let mut bytes = Vec::new();
    for &(key, version, correlation_id) in &plan {
        bytes.extend(match key {
            ApiKey::ApiVersions => frame(key, version, correlation_id, &api_versions_request()),
            // v1+: null topics means all topics.
            _ => frame(key, version, correlation_id, &MetadataRequest::default()),
        });
    }
    conn.send(&bytes);

    for &(key, version, correlation_id) in &plan {
        let response = conn.recv();
        match key {
            ApiKey::ApiVersions => {
                let (got, body): (i32, ApiVersionsResponse) = decode(key, version, response);
                assert_eq!(got, correlation_id, "ApiVersions v{version} out of order");
                assert_eq!(body.error_code, NONE);
                assert!(body.api_keys.iter().any(|k| k.api_key == 18));
            }
            _ => {
                let (got, body): (i32, MetadataResponse) = decode(key, version, response);
                assert_eq!(got, correlation_id, "Metadata v{version} out of order");
                assert!(
                    body.brokers
                        .iter()
                        .any(|b| b.node_id.0 == 1 && b.port == broker.port() as i32),
                    "Metadata v{version} lists this broker: {body:?}"
                );
            }
        }
    }
    // Nothing more: exactly one response per request.
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut extra = [0u8; 1];
    match conn.stream.read(&mut extra) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no more data after 12 responses, got {other:?}"),
    }
}

#[test]
fn api_versions_all_versions_and_unsupported_version_fallback() {
    let chroot = unique_chroot("api-versions");
    let mut broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);

    for version in 0..=3i16 {
        let response: ApiVersionsResponse = conn.call(
            ApiKey::ApiVersions,
            version,
            100 + version as i32,
            &api_versions_request(),
        );
        assert_eq!(response.error_code, NONE, "ApiVersions v{version}");
        let range = |key: ApiKey| {
            response
                .api_keys
                .iter()
                .find(|k| k.api_key == key as i16)
                .map(|k| (k.min_version, k.max_version))
        };
        assert_eq!(range(ApiKey::ApiVersions), Some((0, 3)), "v{version}");
        for key in [ApiKey::Produce, ApiKey::Fetch, ApiKey::Metadata] {
            let (min, max) = range(key)
                .unwrap_or_else(|| panic!("ApiVersions v{version} does not list {key:?}"));
            assert!(min <= max, "{key:?} range {min}..{max}");
        }
    }

    // A newer ApiVersions than the broker knows (flexible header, v3-style
    // body): Kafka answers with a v0 body, UNSUPPORTED_VERSION and its API
    // list, and keeps the connection so the client retries on it.
    let mut request = raw_header(ApiKey::ApiVersions as i16, 99, 77, true);
    api_versions_request().encode(&mut request, 3).unwrap();
    conn.send(&size_prefixed(&request));
    let (correlation_id, response): (i32, ApiVersionsResponse) =
        decode(ApiKey::ApiVersions, 0, conn.recv());
    assert_eq!(correlation_id, 77);
    assert_eq!(response.error_code, UNSUPPORTED_VERSION);
    let advertised = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions as i16)
        .expect("the UNSUPPORTED_VERSION answer lists ApiVersions");
    assert_eq!((advertised.min_version, advertised.max_version), (0, 3));
    assert!(response.api_keys.len() > 5, "{response:?}");
    // The retry with the advertised maximum, on the same connection.
    let retry: ApiVersionsResponse = conn.call(
        ApiKey::ApiVersions,
        advertised.max_version,
        78,
        &api_versions_request(),
    );
    assert_eq!(retry.error_code, NONE);
    assert_eq!(retry.api_keys, response.api_keys);

    assert_broker_serves(&mut broker, "ApiVersions v99");
}

#[test]
fn malformed_frames_close_the_connection_and_the_broker_keeps_serving() {
    let chroot = unique_chroot("bad-frames");
    let mut broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("socket.request.max.bytes", 20_000),
    );
    // A connection opened before any abuse, used again at the end.
    let mut bystander = Conn::open(&broker);
    bystander.assert_served(1);

    // Unknown API key: Kafka closes the connection.
    let mut conn = Conn::open(&broker);
    let peer = conn.local_addr();
    conn.send(&size_prefixed(&raw_header(9999, 0, 5, false)));
    conn.assert_closed("unknown api key 9999");
    wait_for_log_line(&broker, &[&peer, "key 9999"]);
    assert_broker_serves(&mut broker, "an unknown api key");

    // A version of a known API the broker does not serve (not ApiVersions):
    // Kafka closes the connection too.
    let mut conn = Conn::open(&broker);
    let peer = conn.local_addr();
    let mut request = raw_header(ApiKey::Metadata as i16, 99, 6, true);
    MetadataRequest::default().encode(&mut request, 12).unwrap();
    conn.send(&size_prefixed(&request));
    conn.assert_closed("Metadata v99");
    wait_for_log_line(&broker, &[&peer, "version 99"]);
    assert_broker_serves(&mut broker, "Metadata v99");

    // Size prefixes above socket.request.max.bytes: closed before any body
    // is read (a 2 GiB prefix must not make the broker allocate 2 GiB).
    for size in [20_001i32, i32::MAX] {
        let mut conn = Conn::open(&broker);
        let peer = conn.local_addr();
        conn.send(&size.to_be_bytes());
        conn.assert_closed(&format!("a frame size of {size}"));
        wait_for_log_line(&broker, &[&peer, "socket.request.max.bytes"]);
        assert_broker_serves(&mut broker, &format!("a frame size of {size}"));
    }
    // ... while a request right at the limit is served: ApiVersions v0 (an
    // empty body) with a client id that makes the frame exactly 20 000 bytes.
    let mut conn = Conn::open(&broker);
    let mut request = BytesMut::new();
    request.put_i16(ApiKey::ApiVersions as i16);
    request.put_i16(0);
    request.put_i32(8);
    let client_id = vec![b'c'; 20_000 - 10];
    request.put_i16(client_id.len() as i16);
    request.put_slice(&client_id);
    assert_eq!(request.len(), 20_000);
    conn.send(&size_prefixed(&request));
    let (correlation_id, response): (i32, ApiVersionsResponse) =
        decode(ApiKey::ApiVersions, 0, conn.recv());
    assert_eq!((correlation_id, response.error_code), (8, NONE));

    // Negative sizes.
    for size in [-1i32, i32::MIN] {
        let mut conn = Conn::open(&broker);
        conn.send(&size.to_be_bytes());
        conn.assert_closed(&format!("a frame size of {size}"));
        assert_broker_serves(&mut broker, &format!("a frame size of {size}"));
    }

    // Truncated: the prefix promises 100 bytes, 10 come, then the client
    // stops sending.
    let mut conn = Conn::open(&broker);
    let mut truncated = 100i32.to_be_bytes().to_vec();
    truncated.extend_from_slice(
        &frame(ApiKey::ApiVersions, 0, 9, &ApiVersionsRequest::default())[4..14],
    );
    conn.send(&truncated);
    conn.stream.shutdown(Shutdown::Write).unwrap();
    conn.assert_closed("a truncated frame");
    drop(conn);
    assert_broker_serves(&mut broker, "a truncated frame");

    // Garbage bodies: not a request Kafka can parse, so the connection closes.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..64)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    let mut bad_string = raw_header(ApiKey::Metadata as i16, 1, 10, false).to_vec();
    bad_string.extend_from_slice(&[0, 0, 0, 1, 0x7f, 0xff, b'x']); // 1 topic, 32767-byte name
    let garbage: [(&str, Vec<u8>); 5] = [
        ("64 pseudo-random bytes", random),
        ("64 bytes of 0xff", vec![0xff; 64]),
        (
            "a Metadata v1 body whose string overruns the frame",
            bad_string,
        ),
        ("a 3-byte frame", vec![0, 3, 0]),
        ("an empty frame", vec![]),
    ];
    for (what, payload) in garbage {
        let mut conn = Conn::open(&broker);
        conn.send(&size_prefixed(&payload));
        conn.assert_closed(what);
        assert_broker_serves(&mut broker, what);
    }

    // The connection opened before all this was never disturbed.
    bystander.assert_served(2);
    assert_kcat_round_trip(&broker, "after-bad-frames");
}

#[test]
fn huge_array_counts_in_small_requests_close_the_connection() {
    // An array count far beyond the bytes in the frame. Kafka's generated
    // readers check the count against the bytes remaining ("Tried to allocate
    // a collection of size N, but there are only M bytes remaining") and the
    // request fails to parse, so the connection is closed; nothing may try
    // to allocate room for N elements up front.
    let chroot = unique_chroot("huge-arrays");
    let mut broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut bystander = Conn::open(&broker);
    bystander.assert_served(1);

    // Metadata v1: topics = ARRAY, count i32::MAX, no elements.
    let mut metadata_v1 = raw_header(ApiKey::Metadata as i16, 1, 2, false).to_vec();
    metadata_v1.extend_from_slice(&i32::MAX.to_be_bytes());
    // Metadata v12: topics = COMPACT_ARRAY, count 2^32 - 2 (varint 0xffffffff).
    let mut metadata_v12 = raw_header(ApiKey::Metadata as i16, 12, 3, true).to_vec();
    metadata_v12.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    // CreateTopics v4: topics = ARRAY, count 100 million.
    let mut create_topics_v4 = raw_header(ApiKey::CreateTopics as i16, 4, 4, false).to_vec();
    create_topics_v4.extend_from_slice(&100_000_000i32.to_be_bytes());
    let cases = [
        ("Metadata v1 with 2^31-1 topics", metadata_v1),
        ("Metadata v12 with 2^32-2 topics", metadata_v12),
        ("CreateTopics v4 with 10^8 topics", create_topics_v4),
    ];
    for (what, payload) in cases {
        let mut conn = Conn::open(&broker);
        conn.send(&size_prefixed(&payload));
        conn.assert_closed(what);
        assert_broker_serves(&mut broker, what);
    }
    bystander.assert_served(5);
    assert_kcat_round_trip(&broker, "after-huge-arrays");
}

#[test]
fn invalid_and_colliding_topic_names_are_refused() {
    let chroot = unique_chroot("topic-names");
    let mut broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);
    let long = "a".repeat(250);
    let invalid = ["bad/name", "..", ".", long.as_str(), "has space", ""];

    // CreateTopics: INVALID_TOPIC_EXCEPTION for each invalid name; a valid
    // name in the same request is created.
    let mut names = invalid.to_vec();
    names.push("good.topic");
    let results = create_topics(&mut conn, 1, &names);
    assert_eq!(results.len(), names.len(), "{results:?}");
    for (name, code, message) in &results {
        let expected = if name == "good.topic" {
            NONE
        } else {
            INVALID_TOPIC_EXCEPTION
        };
        assert_eq!(*code, expected, "CreateTopics {name:?}: {message}");
        assert!(
            names.contains(&name.as_str()),
            "unexpected result for {name:?}"
        );
    }

    // Names differing only in '.' versus '_' collide (Kafka's
    // AdminZkClient.validateTopicCreate throws InvalidTopicException).
    let results = create_topics(&mut conn, 2, &["a.b"]);
    assert_eq!(results[0].1, NONE, "{results:?}");
    let results = create_topics(&mut conn, 3, &["a_b"]);
    assert_eq!(results[0].1, INVALID_TOPIC_EXCEPTION, "{results:?}");
    assert!(
        results[0].2.contains("a.b"),
        "message names the topic it collides with: {results:?}"
    );

    // Metadata with auto-creation on (the default): invalid names get
    // INVALID_TOPIC_EXCEPTION and are not created; a valid unknown one is.
    let mut wanted: Vec<&str> = vec!["bad/name", "..", long.as_str()];
    wanted.push("auto_created");
    let request = MetadataRequest::default()
        .with_allow_auto_topic_creation(true)
        .with_topics(Some(
            wanted
                .iter()
                .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
                .collect(),
        ));
    let response: MetadataResponse = conn.call(ApiKey::Metadata, 9, 4, &request);
    for name in &wanted {
        let topic = response
            .topics
            .iter()
            .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(*name))
            .unwrap_or_else(|| panic!("Metadata has no entry for {name:?}: {response:?}"));
        if *name == "auto_created" {
            assert!(
                [NONE, LEADER_NOT_AVAILABLE].contains(&topic.error_code),
                "{topic:?}"
            );
        } else {
            assert_eq!(topic.error_code, INVALID_TOPIC_EXCEPTION, "{name:?}");
        }
    }

    // Produce to an invalid name: Kafka's KafkaApis.handleProduceRequest
    // answers UNKNOWN_TOPIC_OR_PARTITION for any topic not in its metadata
    // cache (it never validates the name there), and creates nothing.
    for (i, name) in ["bad/name", "..", long.as_str()].into_iter().enumerate() {
        let (code, _) = produce(&mut conn, 10 + i as i32, name, record_batch(&[b"x"]));
        assert_eq!(code, UNKNOWN_TOPIC_OR_PARTITION, "Produce to {name:?}");
    }

    wait_until(
        "the auto-created topic's znode",
        Duration::from_secs(30),
        || {
            topic_znodes(&chroot)
                .contains(&"auto_created".to_owned())
                .then_some(())
        },
    );
    assert_eq!(
        topic_znodes(&chroot),
        ["a.b", "auto_created", "good.topic"],
        "only the valid topics exist in ZooKeeper"
    );
    assert_broker_serves(&mut broker, "invalid topic names");
    assert_kcat_round_trip(&broker, "after-bad-names");
}

#[test]
fn oversized_and_corrupt_batches_are_rejected_and_not_appended() {
    let chroot = unique_chroot("bad-batches");
    let mut broker =
        Broker::start(BrokerSpec::new(1, zk_connect(&chroot)).set("message.max.bytes", 2_000));
    let mut conn = Conn::open(&broker);
    let topic = "batches";
    let results = create_topics(&mut conn, 1, &[topic]);
    assert_eq!(results[0].1, NONE, "{results:?}");

    let (code, offset) = produce(&mut conn, 2, topic, record_batch(&[b"first"]));
    assert_eq!((code, offset), (NONE, 0));
    assert_eq!(latest_offset(&mut conn, 3, topic), 1);

    // A batch above message.max.bytes.
    let big = vec![b'x'; 5_000];
    let batch = record_batch(&[&big]);
    assert!(batch.len() > 2_000);
    let (code, _) = produce(&mut conn, 4, topic, batch);
    assert_eq!(code, MESSAGE_TOO_LARGE);
    assert_eq!(latest_offset(&mut conn, 5, topic), 1, "nothing appended");

    // Corrupt batches: a byte of the value flipped after the CRC was
    // computed ("corrupt me" becomes "corrupt mE"; the record ends with the
    // value and a 1-byte header count), and a byte of the CRC itself.
    let good = record_batch(&[b"corrupt me"]);
    let mut in_record = good.to_vec();
    let at = in_record.len() - 2;
    assert_eq!(in_record[at], b'e');
    in_record[at] ^= 0x20;
    let mut in_crc = good.to_vec();
    in_crc[17] ^= 0x01; // crc: bytes 17..21 of a v2 batch
    for (i, corrupt) in [in_record, in_crc].into_iter().enumerate() {
        let (code, _) = produce(&mut conn, 6 + i as i32, topic, Bytes::from(corrupt));
        assert_eq!(code, CORRUPT_MESSAGE, "corrupt batch {i}");
        assert_eq!(
            latest_offset(&mut conn, 8 + i as i32, topic),
            1,
            "nothing appended"
        );
    }

    // The next good batch gets the next offset, and a consumer sees exactly
    // the two good records.
    let (code, offset) = produce(&mut conn, 10, topic, record_batch(&[b"second"]));
    assert_eq!((code, offset), (NONE, 1));
    let out = kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-t",
            topic,
            "-C",
            "-o",
            "beginning",
            "-e",
        ],
        None,
    );
    let text = assert_success(&out, "kcat consume");
    assert_eq!(text.lines().collect::<Vec<_>>(), ["first", "second"]);

    assert_broker_serves(&mut broker, "bad batches");
    assert_kcat_round_trip(&broker, "after-bad-batches");
}
