//! The Prometheus endpoint (`metrics.listener`) of real `sluice broker`
//! processes, scraped over real HTTP after real client traffic (librdkafka):
//!
//! - one broker: produce, consume and commit in a group, then check that the
//!   per-topic message and byte counters equal what was sent, request counts
//!   and latency histograms agree, a refused request counts as an error, log
//!   size equals bytes in, the broker is the active controller with nothing
//!   under-replicated or offline, and the group's lag is produced − committed;
//!   plus the endpoint's 404 and the text format's HELP/TYPE lines;
//! - two brokers, a replication-factor-2 topic: replication bytes flow to
//!   the follower; freezing the follower (SIGSTOP) makes the leader shrink the
//!   ISR (under-replicated 1, ISR shrinks counted), waking it brings it back
//!   (ISR expands counted, under-replicated 0); exactly one active controller;
//! - two brokers, a replication-factor-2 topic: the follower fetches in an
//!   incremental fetch session (KIP-227) the leader counts, and what is
//!   produced afterwards still reaches the follower's log;
//! - a bad `metrics.listener` value, or a port already taken, fails start-up
//!   naming the key.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

const STEP_TIMEOUT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------ scraping

/// One sample line: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

struct Scrape {
    text: String,
    samples: Vec<Sample>,
}

impl Scrape {
    /// The value of the one sample of `name` whose labels include `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert!(
            matching.len() <= 1,
            "{name} {labels:?} matches {} samples",
            matching.len()
        );
        matching.first().map(|s| s.value)
    }

    /// Like `get`, panicking with the scrape when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{}", self.text))
    }
}

fn scrape(port: u16) -> Scrape {
    let (status, headers, text) = http_get(port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK", "{headers}\n{text}");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    let samples = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| parse_sample(l).unwrap_or_else(|| panic!("bad sample line {l:?}")))
        .collect();
    Scrape { text, samples }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = if value == "+Inf" {
        f64::INFINITY
    } else {
        value.parse().ok()?
    };
    let Some((name, rest)) = series.split_once('{') else {
        return Some(Sample {
            name: series.to_owned(),
            labels: BTreeMap::new(),
            value,
        });
    };
    let body = rest.strip_suffix('}')?;
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if chars.next()? != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

// ------------------------------------------------------------ helpers

fn start_with_metrics(id: i32, chroot: &str, extra: &[(&str, &str)]) -> (Broker, u16) {
    let port = free_port();
    let mut spec = BrokerSpec::new(id, zk_connect(chroot)).set(
        "metrics.listener",
        format!("http://127.0.0.1:{port}/metrics"),
    );
    for (k, v) in extra {
        spec = spec.set(k, v);
    }
    (Broker::start(spec), port)
}

/// Produces `values` to `topic`-0 one by one (acks=all).
fn produce(bootstrap: &str, topic: &str, values: &[String]) {
    let producer: FutureProducer = future_producer(bootstrap);
    block_on(async {
        for value in values {
            producer
                .send(
                    FutureRecord::<(), _>::to(topic).partition(0).payload(value),
                    Duration::from_secs(30),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
        }
    });
}

/// Brokers 1 and 2 with metrics endpoints and `settings`, and `topic` (one
/// partition, both replicas): the brokers with their metrics ports, the
/// bootstrap list, and the index of the one reporting itself leader.
fn two_brokers_with_topic(
    chroot: &str,
    settings: &[(&str, &str)],
    topic: &str,
) -> ([(Broker, u16); 2], String, usize) {
    let brokers = [
        start_with_metrics(1, chroot, settings),
        start_with_metrics(2, chroot, settings),
    ];
    let bootstrap = format!("{},{}", brokers[0].0.bootstrap(), brokers[1].0.bootstrap());
    create_topic(&bootstrap, topic, 2);
    let leader_index = wait_until("a leader reporting the partition", STEP_TIMEOUT, || {
        let leaders: Vec<usize> = (0..2)
            .filter(|&i| scrape(brokers[i].1).value("sluice_leader_partitions", &[]) == 1.0)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    });
    (brokers, bootstrap, leader_index)
}

fn create_topic(bootstrap: &str, topic: &str, replication: i32) {
    let admin: AdminClient<DefaultClientContext> =
        producer_config(bootstrap).create().expect("admin client");
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(replication));
    let options =
        AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(30))));
    for result in block_on(admin.create_topics([&new_topic], &options)).expect("CreateTopics") {
        if let Err((name, code)) = result {
            panic!("CreateTopics {name}: {code:?}");
        }
    }
}

fn delete_topic(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        producer_config(bootstrap).create().expect("admin client");
    let options =
        AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(30))));
    for result in block_on(admin.delete_topics(&[topic], &options)).expect("DeleteTopics") {
        if let Err((name, code)) = result {
            panic!("DeleteTopics {name}: {code:?}");
        }
    }
}

/// Sends a Produce request with version 99 on a raw connection: the broker
/// refuses it by closing the connection.
fn send_unsupported_produce_version(port: u16) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(&0i16.to_be_bytes()); // Produce
    body.extend_from_slice(&99i16.to_be_bytes()); // version
    body.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    body.extend_from_slice(&(-1i16).to_be_bytes()); // no client id
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    stream.write_all(&frame).unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "expected the connection closed, got {rest:?}"
    );
}

// ------------------------------------------------------------ tests

#[test]
fn counters_and_gauges_move_with_traffic_on_one_broker() {
    let chroot = unique_chroot("metrics-one");
    let (broker, metrics_port) = start_with_metrics(1, &chroot, &[]);
    let bootstrap = broker.bootstrap();
    let topic = "metered";

    // The only broker becomes the controller (shortly after it registers).
    let before = wait_until("the only broker to be the controller", STEP_TIMEOUT, || {
        let s = scrape(metrics_port);
        (s.value("sluice_active_controller", &[]) == 1.0).then_some(s)
    });
    assert_eq!(
        before.get("sluice_messages_in_total", &[("topic", topic)]),
        None
    );
    assert!(
        before
            .text
            .contains("# TYPE sluice_request_duration_seconds histogram")
    );
    assert!(before.text.contains("# HELP sluice_messages_in_total "));

    create_topic(&bootstrap, topic, 1);
    let values: Vec<String> = (0..20).map(|i| format!("value-{i:04}")).collect();
    produce(&bootstrap, topic, &values);

    // Consume everything with an assigned (not subscribed) consumer, then
    // commit offset 15 for the group: 5 records of lag.
    {
        let consumer: BaseConsumer = base_consumer(&bootstrap, "lagging");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).expect("assign");
        let mut got = 0;
        wait_until("20 records consumed", STEP_TIMEOUT, || {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(200)) {
                got += 1;
            }
            (got == 20).then_some(())
        });
        let mut commit = TopicPartitionList::new();
        commit
            .add_partition_offset(topic, 0, Offset::Offset(15))
            .unwrap();
        consumer
            .commit(&commit, CommitMode::Sync)
            .expect("commit offset 15");
    }
    send_unsupported_produce_version(broker.port());

    // The clients are gone; a long poll may still be finishing: wait until
    // two scrapes agree on every request count.
    let after = wait_until("request counts to settle", STEP_TIMEOUT, || {
        let first = scrape(metrics_port);
        let second = scrape(metrics_port);
        let counts = |s: &Scrape| -> Vec<(String, f64)> {
            let mut v: Vec<_> = s
                .samples
                .iter()
                .filter(|x| x.name.starts_with("sluice_request"))
                .filter(|x| x.labels.get("api").is_some_and(|a| a != "ApiVersions"))
                .map(|x| (format!("{}{:?}", x.name, x.labels), x.value))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        (counts(&first) == counts(&second)).then_some(second)
    });
    let t = [("topic", topic)];
    assert_eq!(after.value("sluice_messages_in_total", &t), 20.0);
    let bytes_in = after.value("sluice_bytes_in_total", &t);
    let payload: usize = values.iter().map(String::len).sum();
    assert!(
        bytes_in > payload as f64,
        "bytes in {bytes_in} vs payload {payload}"
    );
    assert!(after.value("sluice_messages_out_total", &t) >= 20.0);
    assert!(after.value("sluice_bytes_out_total", &t) >= bytes_in);
    assert_eq!(after.value("sluice_replication_bytes_out_total", &t), 0.0);

    for api in ["Produce", "Fetch", "Metadata", "OffsetCommit"] {
        let a = [("api", api)];
        let requests = after.value("sluice_requests_total", &a);
        assert!(requests >= 1.0, "{api} requests {requests}");
        assert_eq!(
            after.value("sluice_request_duration_seconds_count", &a),
            requests,
            "{api}: histogram count vs requests"
        );
        assert_eq!(
            after.value(
                "sluice_request_duration_seconds_bucket",
                &[("api", api), ("le", "+Inf")]
            ),
            requests,
            "{api}: +Inf bucket"
        );
        assert!(after.value("sluice_request_duration_seconds_sum", &a) > 0.0);
    }
    // 20 acks=all produces, one request each, plus the refused one.
    assert!(after.value("sluice_requests_total", &[("api", "Produce")]) >= 21.0);
    assert_eq!(
        after.value("sluice_request_errors_total", &[("api", "Produce")]),
        1.0
    );
    assert_eq!(
        after.value("sluice_request_errors_total", &[("api", "Fetch")]),
        0.0
    );

    assert_eq!(after.value("sluice_leader_partitions", &[]), 1.0);
    assert_eq!(after.value("sluice_partitions", &[]), 1.0);
    assert_eq!(
        after.value(
            "sluice_log_size_bytes",
            &[("topic", topic), ("partition", "0")]
        ),
        bytes_in,
        "the log holds exactly the appended batches"
    );
    assert_eq!(after.value("sluice_active_controller", &[]), 1.0);
    assert_eq!(after.value("sluice_under_replicated_partitions", &[]), 0.0);
    assert_eq!(after.value("sluice_offline_partitions", &[]), 0.0);
    assert_eq!(
        after.value(
            "sluice_consumer_group_lag",
            &[("group", "lagging"), ("topic", topic), ("partition", "0")]
        ),
        5.0,
        "20 produced - 15 committed"
    );

    // (`/` is the web console's page now; an unknown path is still 404.)
    let (status, _, _) = http_get(metrics_port, "/no-such-page");
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    // A deleted topic's series go away with its log.
    delete_topic(&bootstrap, topic);
    wait_until("the deleted topic's series to go", STEP_TIMEOUT, || {
        let s = scrape(metrics_port);
        let gone = s.get("sluice_messages_in_total", &t).is_none()
            && s.get("sluice_log_size_bytes", &t).is_none()
            && s.value("sluice_partitions", &[]) == 0.0;
        gone.then_some(())
    });
}

#[test]
fn isr_shrink_and_expand_show_on_the_leader() {
    let chroot = unique_chroot("metrics-isr");
    // Long ZooKeeper sessions: the frozen follower stays registered, so it is
    // the leader (replica.lag.time.max.ms) that drops it from the ISR.
    let settings = [
        ("replica.lag.time.max.ms", "1000"),
        ("replica.fetch.wait.max.ms", "100"),
        ("replica.fetch.backoff.ms", "100"),
        ("zookeeper.session.timeout.ms", "30000"),
        ("auto.leader.rebalance.enable", "false"),
    ];
    let topic = "replicated";
    let (mut brokers, bootstrap, leader_index) = two_brokers_with_topic(&chroot, &settings, topic);
    let follower_index = 1 - leader_index;
    let leader_port = brokers[leader_index].1;
    let controllers: f64 = brokers
        .iter()
        .map(|(_, port)| scrape(*port).value("sluice_active_controller", &[]))
        .sum();
    assert_eq!(controllers, 1.0, "exactly one active controller");

    let values: Vec<String> = (0..5).map(|i| format!("r-{i}")).collect();
    produce(&bootstrap, topic, &values);
    let t = [("topic", topic)];
    let replicated = scrape(leader_port);
    assert_eq!(replicated.value("sluice_messages_in_total", &t), 5.0);
    assert!(replicated.value("sluice_replication_bytes_out_total", &t) > 0.0);
    assert_eq!(
        replicated.value("sluice_under_replicated_partitions", &[]),
        0.0
    );
    let shrinks_before = replicated.value("sluice_isr_shrinks_total", &[]);
    let expands_before = replicated.value("sluice_isr_expands_total", &[]);

    // A follower at the leader's log end is never out of sync (Kafka's
    // rule): write behind the frozen follower's back, with acks=1.
    brokers[follower_index].0.pause();
    let acks_one: FutureProducer = producer_config(&brokers[leader_index].0.bootstrap())
        .set("acks", "1")
        .create()
        .expect("acks=1 producer");
    block_on(
        acks_one.send(
            FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload("behind"),
            Duration::from_secs(30),
        ),
    )
    .unwrap_or_else(|(e, _)| panic!("acks=1 produce: {e}"));
    let shrunk = wait_until("the leader to shrink the ISR", STEP_TIMEOUT, || {
        let s = scrape(leader_port);
        (s.value("sluice_under_replicated_partitions", &[]) >= 1.0).then_some(s)
    });
    assert!(shrunk.value("sluice_isr_shrinks_total", &[]) >= shrinks_before + 1.0);
    let on_controller: f64 = brokers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != follower_index)
        .map(|(_, (_, port))| scrape(*port).value("sluice_offline_partitions", &[]))
        .sum();
    assert_eq!(on_controller, 0.0, "the leader is alive: nothing offline");

    brokers[follower_index].0.resume();
    let expanded = wait_until("the follower back in the ISR", STEP_TIMEOUT, || {
        let s = scrape(leader_port);
        (s.value("sluice_under_replicated_partitions", &[]) == 0.0).then_some(s)
    });
    assert!(expanded.value("sluice_isr_expands_total", &[]) >= expands_before + 1.0);
}

#[test]
fn followers_fetch_in_incremental_sessions() {
    let chroot = unique_chroot("metrics-sessions");
    let settings = [
        ("replica.fetch.wait.max.ms", "100"),
        ("auto.leader.rebalance.enable", "false"),
    ];
    let topic = "in-sessions";
    let (brokers, bootstrap, leader_index) = two_brokers_with_topic(&chroot, &settings, topic);
    let (leader_port, follower_port) = (brokers[leader_index].1, brokers[1 - leader_index].1);

    // The follower's fetcher opened a session holding the partition.
    let opened = wait_until("the follower's fetch session", STEP_TIMEOUT, || {
        let s = scrape(leader_port);
        (s.value("sluice_incremental_fetch_sessions", &[]) >= 1.0).then_some(s)
    });
    assert!(opened.value("sluice_incremental_fetch_partitions_cached", &[]) >= 1.0);
    assert_eq!(
        opened.value("sluice_incremental_fetch_session_evictions_total", &[]),
        0.0
    );

    // Records produced now travel in incremental fetches.
    let values: Vec<String> = (0..20).map(|i| format!("s-{i}")).collect();
    produce(&bootstrap, topic, &values);
    let p = [("topic", topic), ("partition", "0")];
    let leader_size = scrape(leader_port).value("sluice_log_size_bytes", &p);
    assert!(leader_size > 0.0);
    wait_until("the follower's log to match", STEP_TIMEOUT, || {
        (scrape(follower_port).value("sluice_log_size_bytes", &p) == leader_size).then_some(())
    });
    let after = scrape(leader_port);
    assert_eq!(after.value("sluice_under_replicated_partitions", &[]), 0.0);
    assert!(after.value("sluice_incremental_fetch_sessions", &[]) >= 1.0);
}

#[test]
fn a_bad_metrics_listener_fails_start_naming_the_key() {
    let chroot = unique_chroot("metrics-bad");
    let mut bad = Broker::spawn(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("metrics.listener", "http://127.0.0.1:notaport"),
    );
    let status = bad.wait_exit(STEP_TIMEOUT);
    assert!(!status.success());
    let log = bad.log_text();
    assert!(log.contains("metrics.listener"), "{log}");

    // A port that is taken fails too, naming the key.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut busy = Broker::spawn(
        BrokerSpec::new(2, zk_connect(&chroot))
            .set("metrics.listener", format!("127.0.0.1:{port}")),
    );
    let status = busy.wait_exit(STEP_TIMEOUT);
    assert!(!status.success());
    let log = busy.log_text();
    assert!(log.contains("(metrics.listener)"), "{log}");
}
