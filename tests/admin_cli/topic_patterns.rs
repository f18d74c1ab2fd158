//! `sluice topics --topic` as Kafka's include list: a regular expression
//! matching whole topic names (or an exact name, or names separated by
//! commas) for --list, --describe, --alter and --delete; a pattern matching
//! nothing is an unknown topic, a broken pattern a plain-words error.

use crate::common::*;
use crate::tool::*;

#[test]
fn topic_regular_expressions_select_topics_like_kafka() {
    let chroot = unique_chroot("admin_cli_patterns");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let b = broker.bootstrap();
    for name in ["metrics-cpu", "metrics-mem", "logs"] {
        topics(&b, &["--create", "--topic", name, "--partitions", "1"]).ok("create");
    }
    let described = topics(&b, &["--describe", "--topic", "metrics-.*"]).ok("describe pattern");
    assert_eq!(
        partition_lines(&described),
        ["metrics-cpu-0", "metrics-mem-0"].map(String::from).into(),
        "{described}"
    );
    let headers: Vec<&str> = described
        .lines()
        .filter(|l| l.starts_with("Topic: "))
        .map(|l| l.split('\t').next().unwrap_or_default())
        .collect();
    assert_eq!(
        headers,
        ["Topic: metrics-cpu", "Topic: metrics-mem"],
        "{described}"
    );
    // Whole names only: "metrics" alone matches no topic.
    let partial = topics(&b, &["--describe", "--topic", "metrics"]).fails("partial name");
    assert!(
        partial.contains("Topic 'metrics' does not exist"),
        "{partial}"
    );
    assert_eq!(
        topics(&b, &["--list", "--topic", "metrics-cpu,logs"]).ok("list alternatives"),
        "logs\nmetrics-cpu\n"
    );
    assert_eq!(
        topics(&b, &["--list", "--topic", ".*-mem"]).ok("list pattern"),
        "metrics-mem\n"
    );
    topics(
        &b,
        &["--alter", "--topic", "metrics-.*", "--partitions", "2"],
    )
    .ok("alter pattern");
    wait_until(
        "both metrics topics to have 2 partitions",
        CLUSTER_TIMEOUT,
        || {
            let text = topics(&b, &["--describe", "--topic", ".*"]).ok("describe all");
            let lines = partition_lines(&text);
            (lines.len() == 5).then_some(lines)
        },
    );
    let logs = describe(&b, "logs");
    assert_eq!(
        partition_lines(&logs),
        ["logs-0".to_string()].into(),
        "{logs}"
    );
    let broken = topics(&b, &["--describe", "--topic", "metrics-(cpu"]).fails("bad pattern");
    assert!(
        broken.contains("not a valid regular expression"),
        "{broken}"
    );
    topics(&b, &["--delete", "--topic", "metrics-.*"]).ok("delete pattern");
    wait_until("the metrics topics to be deleted", CLUSTER_TIMEOUT, || {
        (topics(&b, &["--list"]).ok("list") == "logs\n").then_some(())
    });
}
