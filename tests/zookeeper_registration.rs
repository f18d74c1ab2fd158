//! What an operator sees in ZooKeeper with a real `sluice broker` running,
//! checked against what Kafka 2.8 writes (DESIGN.md, "ZooKeeper layout"):
//!
//! - `/brokers/ids/<id>`: ephemeral, owned by a live session, Kafka's version 5
//!   JSON byte for byte, built from advertised.listeners when set (listeners
//!   otherwise), with `rack` when broker.rack is set;
//! - `/cluster/id` created once and kept across restarts, and `meta.properties`
//!   in log.dirs holding broker.id and cluster.id;
//! - a missing multi-level chroot in zookeeper.connect is created, and Kafka's
//!   persistent paths exist under it;
//! - `/controller` (ephemeral) and `/controller_epoch`, bumped by each election;
//! - the znodes of an auto-created topic (`/brokers/topics/<t>`, partition
//!   state, `/config/topics/<t>`), whose topic_id is the one clients get in
//!   Metadata;
//! - topic deletion through `/admin/delete_topics/<t>`, and its refusal with
//!   delete.topic.enable=false;
//! - a second broker with a taken broker.id refused at start-up;
//! - re-registration with a new session after the broker's session expired.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Bytes, BytesMut};
use common::*;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use zookeeper_client as zkc;

/// How long ZooKeeper-side effects of the broker (controller writes, deletions,
/// a session expiry) may take on a busy machine.
const ZK_EFFECT_TIMEOUT: Duration = Duration::from_secs(60);

/// Kafka's `ZkData.PersistentZkPaths` (2.8): what every broker makes sure exists.
const KAFKA_PERSISTENT_PATHS: [&str; 14] = [
    "/consumers",
    "/brokers/ids",
    "/brokers/topics",
    "/config/changes",
    "/admin/delete_topics",
    "/brokers/seqid",
    "/isr_change_notification",
    "/latest_producer_id_block",
    "/log_dir_event_notification",
    "/config/topics",
    "/config/clients",
    "/config/users",
    "/config/brokers",
    "/config/ips",
];

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// True if the shared ZooKeeper lists `session` among its live connections
/// (`cons` prints `sid=0x...` for each).
fn is_live_session(session: i64) -> bool {
    four_letter_word("cons").contains(&format!("sid=0x{:x},", session as u64))
}

/// Kafka's text form of a uuid: 22 characters of URL-safe base64 without
/// padding, for 16 bytes that are not all zero.
fn assert_kafka_uuid(id: &str) {
    assert_eq!(id.len(), 22, "not a Kafka uuid: {id:?}");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "not URL-safe base64: {id:?}"
    );
    assert_ne!(id, "AAAAAAAAAAAAAAAAAAAAAA", "the zero uuid");
}

/// The 16 bytes of a uuid in Kafka's text form, as hex.
fn uuid_hex(id: &str) -> String {
    let bytes = URL_SAFE_NO_PAD
        .decode(id)
        .unwrap_or_else(|e| panic!("{id:?} is not URL-safe base64: {e}"));
    assert_eq!(bytes.len(), 16, "{id:?}");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The timestamp of a registration or `/controller` znode: Kafka writes it as
/// a JSON string of epoch milliseconds. Checks it lies in `[from, to]`.
fn assert_timestamp_string(value: &serde_json::Value, from: i64, to: i64) -> String {
    let ts = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a JSON string: {value}"));
    let ms: i64 = ts
        .parse()
        .unwrap_or_else(|e| panic!("timestamp {ts:?} is not decimal ms: {e}"));
    assert!(
        (from..=to).contains(&ms),
        "timestamp {ms} not within the broker's start-up [{from}, {to}]"
    );
    ts.to_owned()
}

/// `key=value` lines of a Java properties file.
fn read_properties(path: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("bad line {l:?} in {}", path.display()));
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect()
}

/// The partition directories (`<topic>-<p>...`) of `topic` in a log dir.
fn partition_dirs(log_dir: &Path, topic: &str) -> Vec<String> {
    let prefix = format!("{topic}-");
    let mut dirs: Vec<String> = fs::read_dir(log_dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", log_dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix))
        .collect();
    dirs.sort();
    dirs
}

/// An exists-watch on a znode, armed on a ZooKeeper session of its own: tells
/// whether the znode was created after [`watch_creation`], however briefly it
/// lived.
struct CreationWatch {
    _runtime: tokio::runtime::Runtime,
    _client: zkc::Client,
    events: mpsc::Receiver<(zkc::EventType, String)>,
}

fn watch_creation(chroot: &str, path: &str) -> CreationWatch {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the watching client");
    let full = chroot_path(chroot, path);
    let address = zk_address();
    let client = runtime
        .block_on(async move { zkc::Client::connect(&address).await })
        .unwrap_or_else(|e| panic!("connect to ZooKeeper: {e}"));
    let (stat, watcher) = runtime
        .block_on(client.check_and_watch_stat(&full))
        .unwrap_or_else(|e| panic!("watch {full}: {e}"));
    assert!(stat.is_none(), "{full} exists before the watch");
    let (tx, events) = mpsc::channel();
    runtime.spawn(async move {
        let event = watcher.changed().await;
        let _ = tx.send((event.event_type, event.path));
    });
    CreationWatch {
        _runtime: runtime,
        _client: client,
        events,
    }
}

impl CreationWatch {
    /// The (event type, full path) that fired the watch; panics if none did
    /// within `timeout`.
    fn fired(&self, timeout: Duration) -> (zkc::EventType, String) {
        self.events
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("the watch did not fire within {timeout:?}"))
    }
}

/// Runs a Python snippet (`sys.argv[1:]` = `args`) with the venv; returns its
/// stdout, panicking with its output if it fails.
fn python_with(script: &str, args: &[&str], what: &str) -> String {
    assert_success(&run_python(script, args), what)
}

// ------------------------------------------------------------- registration

#[test]
fn registration_is_kafkas_ephemeral_json_from_listeners() {
    let chroot = unique_chroot("reg-listeners");
    let before = now_ms();
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let after = now_ms();
    let port = broker.port();

    // As an operator sees it: zkCli.sh get / stat.
    let raw = zk_get(&chroot, "/brokers/ids/1").expect("/brokers/ids/1 exists");
    let parsed = json(&raw);
    let ts = assert_timestamp_string(&parsed["timestamp"], before, after);
    assert_eq!(
        raw,
        format!(
            r#"{{"listener_security_protocol_map":{{"PLAINTEXT":"PLAINTEXT"}},"endpoints":["PLAINTEXT://127.0.0.1:{port}"],"jmx_port":-1,"features":{{}},"host":"127.0.0.1","timestamp":"{ts}","port":{port},"version":5}}"#
        ),
        "no rack without broker.rack; host/port from listeners"
    );
    let owner = zk_stat_ephemeral_owner(&chroot, "/brokers/ids/1").unwrap();
    assert_ne!(owner, 0, "/brokers/ids/1 must be ephemeral");
    assert!(
        is_live_session(owner),
        "owner 0x{owner:x} is not a live session: {}",
        four_letter_word("cons")
    );
    // The parent is persistent and lists exactly this broker.
    assert_eq!(zk_stat_ephemeral_owner(&chroot, "/brokers/ids"), Some(0));
    assert_eq!(zk_children(&chroot, "/brokers/ids"), Some(vec!["1".into()]));
    // One session per broker: the controller znode has the same owner.
    let controller_owner = wait_until("/controller", ZK_EFFECT_TIMEOUT, || {
        zk(&chroot).ephemeral_owner("/controller")
    });
    assert_eq!(controller_owner, owner);
}

#[test]
fn registration_uses_advertised_listeners_and_broker_rack() {
    let chroot = unique_chroot("reg-advertised");
    let port = free_port();
    let mut spec = BrokerSpec::new(7, zk_connect(&chroot))
        .set(
            "advertised.listeners",
            format!("PLAINTEXT://localhost:{port}"),
        )
        .set("broker.rack", "rack-a");
    spec.port = Some(port);
    let before = now_ms();
    let broker = Broker::start(spec);
    let after = now_ms();

    let raw = zk_get(&chroot, "/brokers/ids/7").expect("/brokers/ids/7 exists");
    let ts = assert_timestamp_string(&json(&raw)["timestamp"], before, after);
    assert_eq!(
        raw,
        format!(
            r#"{{"listener_security_protocol_map":{{"PLAINTEXT":"PLAINTEXT"}},"endpoints":["PLAINTEXT://localhost:{port}"],"rack":"rack-a","jmx_port":-1,"features":{{}},"host":"localhost","timestamp":"{ts}","port":{port},"version":5}}"#
        ),
        "host/port from advertised.listeners (not listeners' 127.0.0.1), rack from broker.rack"
    );
    assert_ne!(zk_stat_ephemeral_owner(&chroot, "/brokers/ids/7"), Some(0));

    // Clients are told the advertised address too.
    let out = kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-X",
            "broker.address.family=v4",
            "-L",
        ],
        None,
    );
    let listing = assert_success(&out, "kcat -L");
    assert!(
        listing.contains(&format!("broker 7 at localhost:{port}")),
        "{listing}"
    );
}

#[test]
fn cluster_id_is_created_once_and_kept_in_meta_properties() {
    let chroot = unique_chroot("cluster-id");
    let mut broker = Broker::start(BrokerSpec::new(3, zk_connect(&chroot)));

    let raw = zk_get(&chroot, "/cluster/id").expect("/cluster/id exists");
    let id = json(&raw)["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id in {raw}"))
        .to_owned();
    assert_kafka_uuid(&id);
    assert_eq!(raw, format!(r#"{{"version":"1","id":"{id}"}}"#));
    let stat = zk(&chroot).stat("/cluster/id").unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "/cluster/id is persistent");
    assert_eq!(stat.version, 0, "written once");

    let meta_path = broker.log_dir().join("meta.properties");
    let meta = read_properties(&meta_path);
    assert_eq!(meta.get("version").map(String::as_str), Some("0"));
    assert_eq!(meta.get("broker.id").map(String::as_str), Some("3"));
    assert_eq!(meta.get("cluster.id"), Some(&id));

    // Clients see the same cluster id in Metadata.
    let seen = python_with(
        "import sys\n\
         from confluent_kafka.admin import AdminClient\n\
         a = AdminClient({'bootstrap.servers': sys.argv[1], 'broker.address.family': 'v4'})\n\
         print(a.list_topics(timeout=30).cluster_id)\n",
        &[&broker.bootstrap()],
        "confluent list_topics",
    );
    assert_eq!(seen.trim(), id);

    // A clean restart keeps the id: the znode is neither recreated nor rewritten.
    broker.restart();
    let after = zk(&chroot).stat("/cluster/id").unwrap();
    assert_eq!(after.czxid, stat.czxid, "/cluster/id was recreated");
    assert_eq!(after.version, 0, "/cluster/id was rewritten");
    assert_eq!(
        zk_get(&chroot, "/cluster/id").as_deref(),
        Some(raw.as_str())
    );
    assert_eq!(read_properties(&meta_path).get("cluster.id"), Some(&id));
}

#[test]
fn missing_multi_level_chroot_is_created_with_kafkas_persistent_paths() {
    let top = unique_chroot("deep-chroot");
    let chroot = format!("{top}/kafka/prod/cluster-a");
    assert!(!zk("").exists(&top), "{top} exists before the test");

    let _broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));

    // Each level was created (persistent), holding only the next one.
    assert_eq!(zk("").children(&top), Some(vec!["kafka".to_owned()]));
    assert_eq!(
        zk("").children(&format!("{top}/kafka")),
        Some(vec!["prod".to_owned()])
    );
    assert_eq!(
        zk("").children(&format!("{top}/kafka/prod")),
        Some(vec!["cluster-a".to_owned()])
    );
    for level in [&top, &format!("{top}/kafka/prod"), &chroot] {
        assert_eq!(zk("").ephemeral_owner(level), Some(0), "{level}");
    }
    // Nothing was written outside the chroot.
    assert!(!zk("").exists("/brokers"));
    assert!(!zk("").exists("/cluster"));

    for path in KAFKA_PERSISTENT_PATHS {
        assert_eq!(
            zk(&chroot).ephemeral_owner(path),
            Some(0),
            "{path}: missing or not persistent under {chroot}"
        );
    }
    // The operator's view of the chroot's top level.
    let top_level = zk_children(&chroot, "/").expect("the chroot exists");
    for expected in [
        "admin",
        "brokers",
        "cluster",
        "config",
        "consumers",
        "isr_change_notification",
        "latest_producer_id_block",
        "log_dir_event_notification",
    ] {
        assert!(
            top_level.iter().any(|c| c == expected),
            "{expected} not in {top_level:?}"
        );
    }
    assert!(zk(&chroot).exists("/brokers/ids/1"));
    assert!(zk(&chroot).exists("/cluster/id"));
}

// ------------------------------------------------------------ controller

/// Waits until `/controller_epoch` reads `epoch` and `/controller` is owned
/// by the broker's current registration session; returns `/controller`'s data.
fn wait_for_controller(chroot: &str, broker_id: i32, epoch: i32) -> String {
    let (data, _) = wait_for_controller_epoch(chroot, broker_id, |e| e == epoch);
    data
}

/// Like [`wait_for_controller`] for an epoch that `accept`s; returns
/// `/controller`'s data and the epoch.
fn wait_for_controller_epoch(
    chroot: &str,
    broker_id: i32,
    accept: impl Fn(i32) -> bool,
) -> (String, i32) {
    let zk = zk(chroot);
    wait_until(
        &format!("broker {broker_id} to be controller (with the expected epoch)"),
        ZK_EFFECT_TIMEOUT,
        || {
            let registration = zk.ephemeral_owner(&format!("/brokers/ids/{broker_id}"))?;
            let epoch: i32 = zk.get_string("/controller_epoch")?.parse().ok()?;
            let owner = zk.ephemeral_owner("/controller")?;
            let data = zk.get_string("/controller")?;
            (accept(epoch) && owner == registration).then_some((data, epoch))
        },
    )
}

#[test]
fn controller_znode_is_ephemeral_and_every_election_bumps_the_epoch() {
    let chroot = unique_chroot("controller");
    let before = now_ms();
    let mut broker = Broker::start(BrokerSpec::new(2, zk_connect(&chroot)));
    let data = wait_for_controller(&chroot, 2, 1);
    let after = now_ms();

    let ts = assert_timestamp_string(&json(&data)["timestamp"], before, after);
    assert_eq!(
        data,
        format!(r#"{{"version":1,"brokerid":2,"timestamp":"{ts}"}}"#)
    );
    // The operator's view: an ephemeral /controller, a persistent decimal epoch
    // whose data version follows the epoch (created as 0, then bumped).
    assert_eq!(
        zk_get(&chroot, "/controller").as_deref(),
        Some(data.as_str())
    );
    let owner = zk_stat_ephemeral_owner(&chroot, "/controller").unwrap();
    assert_ne!(owner, 0);
    assert_eq!(zk_get(&chroot, "/controller_epoch").as_deref(), Some("1"));
    let epoch_stat = zk(&chroot).stat("/controller_epoch").unwrap();
    assert_eq!((epoch_stat.ephemeral_owner, epoch_stat.version), (0, 1));

    // Clean restart: the old /controller goes with the old session; the new
    // election bumps the epoch.
    broker.restart();
    let data = wait_for_controller(&chroot, 2, 2);
    assert_eq!(json(&data)["brokerid"], 2);
    let new_owner = zk(&chroot).ephemeral_owner("/controller").unwrap();
    assert_ne!(
        new_owner, owner,
        "/controller still owned by the old session"
    );
    assert_eq!(zk(&chroot).stat("/controller_epoch").unwrap().version, 2);

    // Crash: /controller stays until ZooKeeper expires the dead session
    // (restart waits for that), then the next election bumps the epoch again.
    broker.kill();
    assert_eq!(
        zk(&chroot).get_string("/controller_epoch").as_deref(),
        Some("2")
    );
    broker.restart();
    wait_for_controller(&chroot, 2, 3);
    assert_eq!(zk_get(&chroot, "/controller_epoch").as_deref(), Some("3"));
}

// ------------------------------------------------------------ topics

#[test]
fn auto_created_topic_has_kafkas_znodes_and_topic_id() {
    let chroot = unique_chroot("topic-znodes");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)).set("num.partitions", 3));
    wait_for_controller(&chroot, 1, 1);

    // A producer's metadata request auto-creates the topic.
    kcat_produce_text(&broker.bootstrap(), "orders", "first\n");

    let raw = zk_get(&chroot, "/brokers/topics/orders").expect("/brokers/topics/orders");
    let topic_id = json(&raw)["topic_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no topic_id in {raw}"))
        .to_owned();
    assert_kafka_uuid(&topic_id);
    assert_eq!(
        raw,
        format!(
            r#"{{"partitions":{{"0":[1],"1":[1],"2":[1]}},"topic_id":"{topic_id}","adding_replicas":{{}},"removing_replicas":{{}},"version":3}}"#
        )
    );
    assert_eq!(
        zk_stat_ephemeral_owner(&chroot, "/brokers/topics/orders"),
        Some(0)
    );
    // Kafka writes the topic's (empty) config on creation.
    assert_eq!(
        zk_get(&chroot, "/config/topics/orders").as_deref(),
        Some(r#"{"version":1,"config":{}}"#)
    );

    // The controller's partition states.
    let zk = zk(&chroot);
    for p in 0..3 {
        let path = format!("/brokers/topics/orders/partitions/{p}/state");
        let state = wait_until(&path, ZK_EFFECT_TIMEOUT, || zk.get_string(&path));
        assert_eq!(
            state, r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#,
            "{path}"
        );
        assert_eq!(zk.ephemeral_owner(&path), Some(0));
    }
    assert_eq!(
        zk_children(&chroot, "/brokers/topics/orders/partitions"),
        Some(vec!["0".into(), "1".into(), "2".into()])
    );
    assert_eq!(
        zk_get(&chroot, "/brokers/topics/orders/partitions/1/state").as_deref(),
        Some(r#"{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}"#)
    );

    // Clients get the same topic id in Metadata (v10+; librdkafka's DescribeTopics).
    let described = python_with(
        "import sys\n\
         from confluent_kafka import TopicCollection\n\
         from confluent_kafka.admin import AdminClient\n\
         a = AdminClient({'bootstrap.servers': sys.argv[1], 'broker.address.family': 'v4'})\n\
         d = a.describe_topics(TopicCollection([sys.argv[2]]), request_timeout=30)[sys.argv[2]].result()\n\
         u = d.topic_id\n\
         m = 2**64 - 1\n\
         print(((u.get_most_significant_bits() & m) << 64 | (u.get_least_significant_bits() & m)).to_bytes(16, 'big').hex())\n\
         print(sorted((p.id, p.leader.id) for p in d.partitions))\n",
        &[&broker.bootstrap(), "orders"],
        "confluent describe_topics",
    );
    // Compared as the 16 bytes: librdkafka prints uuids in standard base64,
    // Kafka (and the znode) in URL-safe base64.
    let mut lines = described.lines();
    assert_eq!(
        lines.next(),
        Some(uuid_hex(&topic_id).as_str()),
        "{described}"
    );
    assert_eq!(
        lines.next(),
        Some("[(0, 1), (1, 1), (2, 1)]"),
        "{described}"
    );

    // The partitions live on disk, and the topic works.
    assert_eq!(
        partition_dirs(broker.log_dir(), "orders"),
        ["orders-0", "orders-1", "orders-2"]
    );
    let out = kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-X",
            "broker.address.family=v4",
            "-t",
            "orders",
            "-C",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        None,
    );
    // One message, in whichever partition the producer picked.
    assert_eq!(assert_success(&out, "kcat consume orders").trim(), "first");
}

/// Creates `topics` (2 partitions each) with kafka-python's admin client.
fn create_topics(broker: &Broker, topics: &[&str]) {
    let mut args = vec![broker.bootstrap()];
    args.extend(topics.iter().map(|t| t.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    python_with(
        "import sys\n\
         from kafka.admin import KafkaAdminClient, NewTopic\n\
         a = KafkaAdminClient(bootstrap_servers=sys.argv[1])\n\
         a.create_topics([NewTopic(t, 2, 1) for t in sys.argv[2:]], timeout_ms=30000)\n\
         a.close()\n",
        &args,
        "kafka-python create_topics",
    );
}

/// kafka-python's `delete_topics` (DeleteTopics v3); prints "ok" or the
/// error's class name and code.
const KAFKA_PYTHON_DELETE: &str = "import sys\n\
    from kafka.admin import KafkaAdminClient\n\
    a = KafkaAdminClient(bootstrap_servers=sys.argv[1])\n\
    try:\n\
    \x20   a.delete_topics([sys.argv[2]], timeout_ms=30000)\n\
    \x20   print('ok')\n\
    except Exception as e:\n\
    \x20   print(type(e).__name__, getattr(e, 'errno', None))\n\
    a.close()\n";

/// Sends a raw DeleteTopics v1 request for `topic` (no client still speaks
/// v1) and returns the topic's error code.
fn delete_topics_v1(broker: &Broker, topic: &str) -> i16 {
    const VERSION: i16 = 1;
    let key = ApiKey::DeleteTopics;
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(VERSION)
        .with_correlation_id(11)
        .with_client_id(Some(StrBytes::from_string("registration-test".into())));
    let body = DeleteTopicsRequest::default()
        .with_topic_names(vec![TopicName(StrBytes::from_string(topic.to_owned()))])
        .with_timeout_ms(30_000);
    let mut frame = BytesMut::new();
    header
        .encode(&mut frame, key.request_header_version(VERSION))
        .expect("encode header");
    body.encode(&mut frame, VERSION)
        .expect("encode DeleteTopics");

    let mut stream = TcpStream::connect(("127.0.0.1", broker.port())).expect("connect");
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    stream
        .write_all(&(frame.len() as u32).to_be_bytes())
        .and_then(|()| stream.write_all(&frame))
        .expect("send DeleteTopics");
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).expect("read response size");
    let mut response = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut response).expect("read response");
    let mut response = Bytes::from(response);
    let header = ResponseHeader::decode(&mut response, key.response_header_version(VERSION))
        .expect("decode response header");
    assert_eq!(header.correlation_id, 11);
    let body = DeleteTopicsResponse::decode(&mut response, VERSION).expect("decode response");
    assert_eq!(body.responses.len(), 1, "{body:?}");
    let result = &body.responses[0];
    assert_eq!(
        result.name.as_ref().map(|n| n.0.to_string()).as_deref(),
        Some(topic)
    );
    result.error_code
}

/// Waits until every partition of `topic` has a leader in ZooKeeper and a
/// directory on `broker`'s disk.
fn wait_for_topic(chroot: &str, broker: &Broker, topic: &str, partitions: usize) {
    let zk = zk(chroot);
    wait_until(
        &format!("{topic}: {partitions} partitions with state and dirs"),
        ZK_EFFECT_TIMEOUT,
        || {
            let states = (0..partitions)
                .filter(|p| zk.exists(&format!("/brokers/topics/{topic}/partitions/{p}/state")))
                .count();
            (states == partitions && partition_dirs(broker.log_dir(), topic).len() == partitions)
                .then_some(())
        },
    );
}

#[test]
fn delete_topics_goes_through_admin_delete_topics_and_removes_everything() {
    let chroot = unique_chroot("delete-topic");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    create_topics(&broker, &["doomed", "kept"]);
    wait_for_topic(&chroot, &broker, "doomed", 2);
    wait_for_topic(&chroot, &broker, "kept", 2);
    kcat_produce_text(&broker.bootstrap(), "doomed", "a\nb\n");
    let kept_topic = zk(&chroot).get_string("/brokers/topics/kept").unwrap();

    let request = watch_creation(&chroot, "/admin/delete_topics/doomed");
    let out = python_with(
        KAFKA_PYTHON_DELETE,
        &[&broker.bootstrap(), "doomed"],
        "kafka-python delete_topics",
    );
    assert_eq!(out.trim(), "ok");

    // The request went through the deletion znode ...
    let (event, path) = request.fired(ZK_EFFECT_TIMEOUT);
    assert_eq!(event, zkc::EventType::NodeCreated);
    assert_eq!(path, chroot_path(&chroot, "/admin/delete_topics/doomed"));
    // ... and once done, every trace of the topic is gone.
    let zk = zk(&chroot);
    wait_until(
        "the deletion of doomed to finish",
        ZK_EFFECT_TIMEOUT,
        || {
            (!zk.exists("/brokers/topics/doomed")
                && !zk.exists("/config/topics/doomed")
                && zk.children("/admin/delete_topics") == Some(vec![])
                && partition_dirs(broker.log_dir(), "doomed").is_empty())
            .then_some(())
        },
    );
    assert_eq!(
        zk_children(&chroot, "/brokers/topics"),
        Some(vec!["kept".into()])
    );
    assert_eq!(zk_children(&chroot, "/admin/delete_topics"), Some(vec![]));
    assert_eq!(
        zk_children(&chroot, "/config/topics"),
        Some(vec!["kept".into()])
    );

    // The other topic is untouched.
    assert_eq!(zk.get_string("/brokers/topics/kept"), Some(kept_topic));
    assert_eq!(
        partition_dirs(broker.log_dir(), "kept"),
        ["kept-0", "kept-1"]
    );
}

#[test]
fn delete_topics_is_refused_when_topic_deletion_is_disabled() {
    let chroot = unique_chroot("delete-disabled");
    let broker =
        Broker::start(BrokerSpec::new(1, zk_connect(&chroot)).set("delete.topic.enable", "false"));
    kcat_produce_text(&broker.bootstrap(), "stays", "one\n");
    wait_for_topic(&chroot, &broker, "stays", 1);
    let zk = zk(&chroot);
    let topic = zk.get_string("/brokers/topics/stays").unwrap();

    // DeleteTopics v3+ (kafka-python): TOPIC_DELETION_DISABLED (73).
    let out = python_with(
        KAFKA_PYTHON_DELETE,
        &[&broker.bootstrap(), "stays"],
        "kafka-python delete_topics",
    );
    assert_eq!(out.trim(), "TopicDeletionDisabledError 73");
    // librdkafka's DeleteTopics (v4 in librdkafka 2.16) gets the same.
    let out = python_with(
        "import sys\n\
         from confluent_kafka.admin import AdminClient\n\
         a = AdminClient({'bootstrap.servers': sys.argv[1], 'broker.address.family': 'v4'})\n\
         try:\n\
         \x20   a.delete_topics([sys.argv[2]], operation_timeout=30)[sys.argv[2]].result()\n\
         \x20   print('ok')\n\
         except Exception as e:\n\
         \x20   print(e.args[0].name())\n",
        &[&broker.bootstrap(), "stays"],
        "confluent delete_topics",
    );
    assert_eq!(out.trim(), "TOPIC_DELETION_DISABLED");
    // Versions before 3 predate that code: Kafka answers INVALID_REQUEST.
    assert_eq!(
        delete_topics_v1(&broker, "stays"),
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(zk.children("/admin/delete_topics"), Some(vec![]));

    // A request written straight into ZooKeeper (the old kafka-topics.sh
    // --zookeeper way) is dropped by the controller, the topic kept.
    zk.create("/admin/delete_topics/stays", b"");
    wait_until(
        "the controller to drop the deletion request",
        ZK_EFFECT_TIMEOUT,
        || (!zk.exists("/admin/delete_topics/stays")).then_some(()),
    );

    // Nothing was removed.
    assert_eq!(zk_get(&chroot, "/brokers/topics/stays"), Some(topic));
    assert!(zk.exists("/brokers/topics/stays/partitions/0/state"));
    assert!(zk.exists("/config/topics/stays"));
    assert_eq!(partition_dirs(broker.log_dir(), "stays"), ["stays-0"]);
    kcat_produce_text(&broker.bootstrap(), "stays", "two\n");
    assert_eq!(
        kcat_partition0_lines(&broker.bootstrap(), "stays"),
        ["one", "two"]
    );
}

// ------------------------------------------------------------ failures

#[test]
fn a_second_broker_with_a_taken_id_exits_with_a_clear_error() {
    let chroot = unique_chroot("taken-id");
    let first = Broker::start(BrokerSpec::new(4, zk_connect(&chroot)));
    let owner = zk(&chroot).ephemeral_owner("/brokers/ids/4").unwrap();
    let registration = zk(&chroot).get_string("/brokers/ids/4").unwrap();

    let mut second = Broker::spawn(BrokerSpec::new(4, zk_connect(&chroot)));
    let status = second.wait_exit(BROKER_START_TIMEOUT);
    assert!(
        !status.success(),
        "the second broker 4 exited with {}",
        describe_status(status)
    );
    let log = second.log_text();
    assert!(
        log.contains("broker.id 4") && log.contains("already registered"),
        "the error does not name the taken id:\n{}",
        tail_lines(&log, 20)
    );

    // The first broker keeps its registration and keeps serving.
    assert_eq!(zk(&chroot).ephemeral_owner("/brokers/ids/4"), Some(owner));
    assert_eq!(zk(&chroot).get_string("/brokers/ids/4"), Some(registration));
    assert_eq!(zk_children(&chroot, "/brokers/ids"), Some(vec!["4".into()]));
    kcat_produce_text(&first.bootstrap(), "after-refusal", "x\n");
    assert_eq!(
        kcat_partition0_lines(&first.bootstrap(), "after-refusal"),
        ["x"]
    );
}

#[test]
fn after_session_expiry_the_broker_reregisters_with_a_new_session_and_serves() {
    let chroot = unique_chroot("session-expiry");
    // zookeeper.session.timeout.ms=6000 (the harness default).
    let mut broker = Broker::start(BrokerSpec::new(5, zk_connect(&chroot)));
    wait_for_controller(&chroot, 5, 1);
    kcat_produce_text(&broker.bootstrap(), "events", "before\n");
    let zk = zk(&chroot);
    let old_owner = zk.ephemeral_owner("/brokers/ids/5").unwrap();
    let registration = zk.get_json("/brokers/ids/5").unwrap();

    // Frozen longer than the session timeout: ZooKeeper expires the session
    // and removes its ephemerals.
    broker.pause();
    wait_until(
        "ZooKeeper to expire the paused broker's session",
        ZK_EFFECT_TIMEOUT,
        || (zk.ephemeral_owner("/brokers/ids/5") != Some(old_owner)).then_some(()),
    );
    assert!(!zk.exists("/brokers/ids/5"), "re-registered while paused");
    assert!(
        !zk.exists("/controller"),
        "/controller outlived its session"
    );
    assert!(!is_live_session(old_owner));

    // Woken up, it notices the expiry and registers again on a new session.
    broker.resume();
    let new_owner = wait_until(
        "broker 5 to re-register on a new session",
        ZK_EFFECT_TIMEOUT,
        || {
            zk.ephemeral_owner("/brokers/ids/5")
                .filter(|&o| o != old_owner)
        },
    );
    assert_ne!(new_owner, 0);
    assert!(is_live_session(new_owner));
    assert_eq!(
        zk_stat_ephemeral_owner(&chroot, "/brokers/ids/5"),
        Some(new_owner)
    );
    let again = zk.get_json("/brokers/ids/5").unwrap();
    assert_eq!(again["endpoints"], registration["endpoints"]);
    assert_eq!(again["port"], registration["port"]);
    // It is elected controller again, by a new election (a new epoch).
    let (data, epoch) = wait_for_controller_epoch(&chroot, 5, |e| e > 1);
    assert_eq!(epoch, 2, "one expiry, one election");
    assert_eq!(json(&data)["brokerid"], 5);

    // And it still serves.
    kcat_produce_text(&broker.bootstrap(), "events", "after\n");
    assert_eq!(
        kcat_partition0_lines(&broker.bootstrap(), "events"),
        ["before", "after"]
    );
    assert!(broker.is_running());
}
