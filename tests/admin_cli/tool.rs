//! Running the `sluice` binary's admin tools from the tests and reading
//! their output: exit code and streams of one run, `sluice topics` shortcuts,
//! describe-line parsing, and the three-broker cluster with fast failure
//! detection.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the cluster may take to notice a dead broker (6 s ZooKeeper
/// session, then the controller's elections) or a returning one.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the tool did. Set SLUICE_TEST_SHOW_TOOLS=1 to see every
/// command line and its output on stderr.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self, what: &str) -> String {
        assert_eq!(
            self.code,
            Some(0),
            "{what}: exit code {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self.stdout
    }

    /// Exit code 1, nothing but the reason on stderr; returns stderr.
    pub fn fails(self, what: &str) -> String {
        assert_eq!(
            self.code,
            Some(1),
            "{what}: expected exit code 1\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.trim().is_empty(),
            "{what}: no message on stderr"
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "{what}: crashed: {}",
            self.stderr
        );
        self.stderr
    }
}

pub fn sluice(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args).env("RUST_LOG", "warn");
    let out = run_with_timeout(cmd, None, TOOL_TIMEOUT);
    if std::env::var_os("SLUICE_TEST_SHOW_TOOLS").is_some() {
        eprintln!(
            "$ sluice {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn topics(bootstrap: &str, args: &[&str]) -> Run {
    let mut all = vec!["topics", "--bootstrap-server", bootstrap];
    all.extend_from_slice(args);
    sluice(&all)
}

pub fn describe(bootstrap: &str, topic: &str) -> String {
    topics(bootstrap, &["--describe", "--topic", topic]).ok("describe")
}

/// The partition lines of a describe output, as "topic-partition".
pub fn partition_lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("\tTopic: "))
        .map(|l| {
            let field = |name: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_else(|| panic!("no {name} in {l:?}"))
                    .to_string()
            };
            format!("{}-{}", field("Topic: "), field("Partition: "))
        })
        .collect()
}

/// The partition line of `topic`-`partition` in a describe output.
pub fn partition_line(text: &str, topic: &str, partition: i32) -> String {
    let prefix = format!("\tTopic: {topic}\tPartition: {partition}\t");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {topic}-{partition} in:\n{text}"))
        .to_string()
}

/// Waits until every broker of `cluster` knows `topic` with a leader for
/// each partition (metadata reaches the brokers shortly after CreateTopics).
pub fn wait_for_topic(cluster: &TestCluster, topic: &str) {
    for broker in &cluster.brokers {
        if !broker_is_up(broker) {
            continue;
        }
        wait_until(
            &format!("{topic} on broker {}", broker.id()),
            CLUSTER_TIMEOUT,
            || {
                let run = topics(&broker.bootstrap(), &["--describe", "--topic", topic]);
                (run.code == Some(0) && !run.stdout.contains("Leader: none")).then_some(())
            },
        );
    }
}

pub fn broker_is_up(broker: &Broker) -> bool {
    std::net::TcpStream::connect(broker.bootstrap()).is_ok()
}

pub fn failover_cluster(name: &str) -> TestCluster {
    TestCluster::start_with(name, 3, |spec| {
        spec.set("zookeeper.session.timeout.ms", 6000)
            .set("replica.lag.time.max.ms", 4000)
            .set("replica.fetch.wait.max.ms", 200)
            .set("controller.socket.timeout.ms", 5000)
            .set("auto.leader.rebalance.enable", "false")
    })
}
