//! Real Kafka clients for tests: kcat (librdkafka's CLI), Python
//! (kafka-python and confluent-kafka in the venv that scripts/test.sh makes),
//! and the rdkafka crate.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::FutureProducer;

use super::process::{assert_success, run_with_timeout};

/// How long one kcat or Python run may take before it is killed.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `kcat ARGS...` with `stdin` (else /dev/null); killed after
/// [`CLIENT_TIMEOUT`]. For consuming, pass `-e` (exit at the end of the
/// partition) and/or `-c N`, or it waits for more messages until killed.
///
/// ```ignore
/// let out = kcat(&["-b", &b.bootstrap(), "-t", "t", "-P"], Some(b"one\ntwo\n"));
/// assert_success(&out, "kcat produce");
/// ```
pub fn kcat(args: &[&str], stdin: Option<&[u8]>) -> Output {
    kcat_with_timeout(args, stdin, CLIENT_TIMEOUT)
}

/// kcat reading `topic`-`partition` from `from` (kcat's `-o`: `beginning`,
/// `end` or an offset) up to the high watermark, one `format` (kcat's `-f`)
/// per record; its output, checked by the caller.
pub fn kcat_read_partition(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    from: &str,
    format: &str,
) -> Output {
    let partition = partition.to_string();
    kcat(
        &[
            "-b", bootstrap, "-C", "-t", topic, "-p", &partition, "-o", from, "-e", "-q", "-f",
            format,
        ],
        None,
    )
}

/// kcat producing `lines` (one record per line) to `topic` through
/// `bootstrap`; panics with kcat's output if it fails.
pub fn kcat_produce_text(bootstrap: &str, topic: &str, lines: &str) {
    let out = kcat(
        &[
            "-b",
            bootstrap,
            "-X",
            "broker.address.family=v4",
            "-t",
            topic,
            "-P",
        ],
        Some(lines.as_bytes()),
    );
    assert_success(&out, &format!("kcat produce to {topic}"));
}

/// Every record of partition 0 of `topic` as a line of text, read from the
/// beginning to the high watermark with kcat.
pub fn kcat_partition0_lines(bootstrap: &str, topic: &str) -> Vec<String> {
    let out = kcat_read_partition(bootstrap, topic, 0, "beginning", "%s\n");
    assert_success(&out, &format!("kcat consume {topic}"))
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn kcat_with_timeout(args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let mut cmd = Command::new("kcat");
    cmd.args(args);
    if which("kcat").is_none() {
        panic!("kcat not found on PATH: run scripts/test.sh once (it installs kcat)");
    }
    run_with_timeout(cmd, stdin, timeout)
}

/// The Python interpreter of the test venv: `$SLUICE_TEST_PYTHON`, else
/// `<repo>/.venv/bin/python`. Panics with how to make it if it is missing.
pub fn python() -> PathBuf {
    let python = std::env::var_os("SLUICE_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    if !python.exists() {
        panic!(
            "Python for the client tests not found at {}: run scripts/test.sh once \
             (it makes the venv with kafka-python and confluent-kafka), or set SLUICE_TEST_PYTHON",
            python.display()
        );
    }
    python
}

/// Runs `python -c SCRIPT ARGS...` (so `sys.argv[1:]` = `args`) with the venv
/// Python, unbuffered; killed after [`CLIENT_TIMEOUT`].
pub fn run_python(script: &str, args: &[&str]) -> Output {
    run_python_with_timeout(script, args, CLIENT_TIMEOUT)
}

pub fn run_python_with_timeout(script: &str, args: &[&str], timeout: Duration) -> Output {
    let mut cmd = Command::new(python());
    cmd.arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run_with_timeout(cmd, None, timeout)
}

/// rdkafka settings every test client shares.
fn base_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // The brokers listen on 127.0.0.1 only.
        .set("broker.address.family", "v4");
    config
}

/// A producer config for `bootstrap` (acks=all, 30 s delivery timeout);
/// `.set(...)` more, then `.create()`.
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = base_config(bootstrap);
    config.set("acks", "all").set("message.timeout.ms", "30000");
    config
}

/// A consumer config for `bootstrap` in `group`, reading from the earliest
/// offset, with auto-commit off (tests commit when they mean to).
pub fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = base_config(bootstrap);
    config
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    config
}

pub fn future_producer(bootstrap: &str) -> FutureProducer {
    producer_config(bootstrap)
        .create()
        .unwrap_or_else(|e| panic!("create rdkafka producer for {bootstrap}: {e}"))
}

/// A FutureProducer for `bootstrap` ([`producer_config`]) with `extra`
/// settings on top.
pub fn future_producer_with(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut config = producer_config(bootstrap);
    for (key, value) in extra {
        config.set(*key, *value);
    }
    config
        .create()
        .unwrap_or_else(|e| panic!("create rdkafka producer for {bootstrap}: {e}"))
}

pub fn base_consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    consumer_config(bootstrap, group)
        .create()
        .unwrap_or_else(|e| panic!("create rdkafka consumer for {bootstrap}: {e}"))
}

/// The full path of `program` on PATH, if any.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Runs a client future (an rdkafka admin call, a delivery) to completion
/// on a throw-away single-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}
