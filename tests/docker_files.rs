//! The Docker files (docker/Dockerfile, docker/docker-compose.yml,
//! docker/entrypoint.sh, .dockerignore), tested as far as a machine without a
//! Docker daemon allows:
//!
//! - the compose file is valid YAML (PyYAML from the test venv) naming paths
//!   that exist, with three brokers whose ids, ports and advertised
//!   addresses agree: INTERNAL on 29092 advertised as the service name (the
//!   inter-broker listener), EXTERNAL on 909(N+1) advertised as localhost and
//!   published on the host;
//! - everything the Dockerfile copies exists and is not dropped by
//!   .dockerignore, and the copied files alone are a complete cargo package
//!   for the same lock file (`cargo metadata --locked --offline`);
//! - the entrypoint turns SLUICE_* variables into server.properties keys:
//!   started with a compose service's environment (ZooKeeper, ports and data
//!   dir pointed at the test's), the real broker registers under the id the
//!   variables give and serves a client; a bad value stops it naming the key.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// docker/docker-compose.yml as JSON, parsed by PyYAML.
fn compose() -> serde_json::Value {
    let script = "import json, sys, yaml\n\
                  print(json.dumps(yaml.safe_load(open(sys.argv[1]))))\n";
    let path = repo_root().join("docker/docker-compose.yml");
    let out = run_python(script, &[path.to_str().unwrap()]);
    let text = assert_success(&out, "parse docker-compose.yml with PyYAML");
    serde_json::from_str(&text).expect("PyYAML's JSON")
}

/// The `environment` of a compose service, as strings.
fn service_env(service: &serde_json::Value) -> BTreeMap<String, String> {
    let env = service["environment"]
        .as_object()
        .expect("environment is a map");
    env.iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn broker_services(compose: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let services = compose["services"].as_object().expect("services map");
    services
        .iter()
        .filter(|(name, _)| name.starts_with("broker-"))
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect()
}

/// A `NAME://host:port,...` listener list as name -> (host, port).
fn listener_map(value: &str) -> BTreeMap<String, (String, u16)> {
    value
        .split(',')
        .map(|item| {
            let (name, address) = item
                .split_once("://")
                .unwrap_or_else(|| panic!("no NAME:// in listener {item:?}"));
            let (host, port) = address
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("no port in listener {item:?}"));
            let port = port
                .parse()
                .unwrap_or_else(|_| panic!("bad port in listener {item:?}"));
            (name.to_owned(), (host.to_owned(), port))
        })
        .collect()
}

#[test]
fn compose_file_is_valid_yaml_naming_existing_paths() {
    let compose = compose();
    let docker_dir = repo_root().join("docker");
    let services = compose["services"].as_object().expect("services map");
    assert!(services.contains_key("zookeeper"), "{services:?}");
    let brokers = broker_services(&compose);
    assert_eq!(brokers.len(), 3, "three brokers: {brokers:?}");

    let mut ids = Vec::new();
    let mut ports = Vec::new();
    for (name, service) in &brokers {
        // The build context and Dockerfile the merged `<<: *broker` gives.
        let context = service["build"]["context"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: build.context"));
        let context = docker_dir.join(context);
        assert!(
            context.join("Cargo.toml").is_file(),
            "{name}: context {} holds no Cargo.toml",
            context.display()
        );
        let dockerfile = service["build"]["dockerfile"].as_str().unwrap();
        assert!(
            context.join(dockerfile).is_file(),
            "{name}: {dockerfile} missing"
        );
        assert_eq!(service["depends_on"], serde_json::json!(["zookeeper"]));

        let env = service_env(service);
        assert_eq!(
            env["SLUICE_ZOOKEEPER_CONNECT"], "zookeeper:2181",
            "{name}: ZooKeeper is the compose service"
        );
        let listeners = listener_map(&env["SLUICE_LISTENERS"]);
        let advertised = listener_map(&env["SLUICE_ADVERTISED_LISTENERS"]);
        let names = |m: &BTreeMap<String, (String, u16)>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&listeners),
            ["EXTERNAL", "INTERNAL"],
            "{name}: {env:?}"
        );
        assert_eq!(names(&advertised), names(&listeners), "{name}: {env:?}");
        assert_eq!(
            env["SLUICE_LISTENER_SECURITY_PROTOCOL_MAP"], "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
            "{name}"
        );
        assert_eq!(
            env["SLUICE_INTER_BROKER_LISTENER_NAME"], "INTERNAL",
            "{name}"
        );
        // INTERNAL: the compose network's address, the same port on every broker.
        assert_eq!(listeners["INTERNAL"], (String::new(), 29092), "{name}");
        assert_eq!(advertised["INTERNAL"], (name.clone(), 29092), "{name}");
        // EXTERNAL: a port of its own, published on the host, advertised as localhost.
        let port = listeners["EXTERNAL"].1;
        assert_eq!(listeners["EXTERNAL"].0, "", "{name}");
        assert_eq!(
            advertised["EXTERNAL"],
            ("localhost".to_owned(), port),
            "{name}"
        );
        assert_eq!(
            service["ports"],
            serde_json::json!([format!("{port}:{port}")]),
            "{name}: only EXTERNAL is published"
        );
        ids.push(env["SLUICE_BROKER_ID"].clone());
        ports.push(port);

        // Every named volume a service mounts is declared.
        for mount in service["volumes"].as_array().unwrap() {
            let volume = mount.as_str().unwrap().split(':').next().unwrap();
            assert!(
                compose["volumes"].get(volume).is_some(),
                "{name}: volume {volume} not declared"
            );
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids, ["1", "2", "3"]);
    ports.sort();
    assert_eq!(ports, [9092, 9093, 9094]);
}

/// The `.dockerignore` entries (top-level names).
fn docker_ignored() -> Vec<String> {
    std::fs::read_to_string(repo_root().join(".dockerignore"))
        .expect(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `(source, destination)` of every `COPY` from the build context.
fn dockerfile_copies(dockerfile: &str) -> Vec<(String, String)> {
    dockerfile
        .lines()
        .filter_map(|l| l.trim().strip_prefix("COPY "))
        .filter(|args| !args.starts_with("--from"))
        .flat_map(|args| {
            let parts: Vec<&str> = args.split_whitespace().collect();
            let (dest, sources) = parts.split_last().expect("COPY src... dest");
            sources
                .iter()
                .map(|s| (s.to_string(), dest.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn dockerfile_copies_a_complete_package_and_runs_as_non_root() {
    let root = repo_root();
    let dockerfile = std::fs::read_to_string(root.join("docker/Dockerfile")).unwrap();
    let ignored = docker_ignored();
    let copies = dockerfile_copies(&dockerfile);
    assert!(copies.len() >= 5, "{copies:?}");
    for (source, _) in &copies {
        assert!(root.join(source).exists(), "COPY {source}: missing");
        let top = source.split('/').next().unwrap();
        assert!(
            !ignored.iter().any(|i| i == top),
            "COPY {source} is excluded by .dockerignore"
        );
    }
    for must_ignore in ["target", ".git", ".venv"] {
        assert!(ignored.iter().any(|i| i == must_ignore), "{ignored:?}");
    }
    // The build stage builds the binary the lock file pins, and the runtime
    // stage runs it as a user of its own.
    assert!(
        dockerfile.contains("cargo build --release --locked --bin sluice"),
        "{dockerfile}"
    );
    let user = dockerfile
        .lines()
        .filter_map(|l| l.trim().strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    assert!(!matches!(user.trim(), "root" | "0"), "USER {user}");
    let entrypoint = root.join("docker/entrypoint.sh");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&entrypoint.metadata().unwrap().permissions());
    assert!(mode & 0o111 != 0, "entrypoint.sh is not executable");

    // Only the build stage's copies, laid out as in the image's /src, make a
    // complete package for the committed lock file.
    let context = temp_dir("docker-context");
    for (source, dest) in copies.iter().filter(|(_, d)| !d.starts_with('/')) {
        let from = root.join(source);
        let to = if dest.ends_with('/') && from.is_file() {
            context.path().join(dest).join(from.file_name().unwrap())
        } else {
            context.path().join(dest)
        };
        if from.is_dir() {
            copy_dir(&from, &to);
        } else {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    // Offline, and only this platform's packages: a fresh machine's cargo
    // cache holds what the build downloaded, not Windows-only crates.
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .args(["--filter-platform", &host_triple()])
        .current_dir(context.path());
    let out = run_with_timeout(cargo, None, Duration::from_secs(120));
    let text = assert_success(&out, "cargo metadata in the Docker build context");
    let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sluice = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sluice")
        .expect("the sluice package");
    assert!(
        sluice["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "sluice" && t["kind"] == serde_json::json!(["bin"])),
        "no sluice bin target: {}",
        sluice["targets"]
    );
}

/// The platform rustc builds for here (`host:` of `rustc -vV`).
fn host_triple() -> String {
    let mut rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()));
    rustc.arg("-vV");
    let out = run_with_timeout(rustc, None, Duration::from_secs(30));
    let text = assert_success(&out, "rustc -vV");
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .trim()
        .to_owned()
}

/// The entrypoint with exactly `env` (plus PATH), running the test's build
/// of the broker with the repository's config/server.properties, as the
/// image does with its copy of it.
fn entrypoint(env: &BTreeMap<String, String>) -> Command {
    let root = repo_root();
    let mut cmd = Command::new("sh");
    cmd.arg(root.join("docker/entrypoint.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SLUICE_BIN", env!("CARGO_BIN_EXE_sluice"))
        .env("SLUICE_CONFIG", root.join("config/server.properties"))
        .envs(env)
        .current_dir(&root);
    cmd
}

/// The environment compose gives `service`, with what points at the compose
/// network pointed at this test's ZooKeeper, ports (`internal`, `external`)
/// and data dir instead; the listener names, protocol map and inter-broker
/// listener stay compose's.
fn test_env_for(
    service: &serde_json::Value,
    chroot: &str,
    (internal, external): (u16, u16),
    data: &Path,
) -> BTreeMap<String, String> {
    let mut env = service_env(service);
    env.insert("SLUICE_ZOOKEEPER_CONNECT".into(), zk_connect(chroot));
    let listeners = format!("INTERNAL://127.0.0.1:{internal},EXTERNAL://127.0.0.1:{external}");
    env.insert("SLUICE_LISTENERS".into(), listeners.clone());
    env.insert("SLUICE_ADVERTISED_LISTENERS".into(), listeners);
    // The Dockerfile's ENV sets this one; the test's dir stands in for the volume.
    env.insert("SLUICE_LOG_DIRS".into(), data.display().to_string());
    env
}

#[test]
#[allow(unsafe_code)] // kill(2) of the entrypoint's process (SIGTERM)
fn entrypoint_maps_compose_environment_onto_broker_keys() {
    let compose = compose();
    let (name, service) = broker_services(&compose).remove(1);
    let id: i32 = service_env(&service)["SLUICE_BROKER_ID"].parse().unwrap();
    let chroot = unique_chroot("docker-env");
    let (port, external) = (free_port(), free_port());
    let data = temp_dir("docker-env-data");
    let mut env = test_env_for(&service, &chroot, (port, external), data.path());
    // One more key, beyond what compose sets.
    env.insert(
        "SLUICE_LOG_RETENTION_CHECK_INTERVAL_MS".into(),
        "1000".into(),
    );

    let mut cmd = entrypoint(&env);
    let log = temp_dir("docker-env-log");
    let log_path = log.path().join("broker.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    cmd.stdout(Stdio::null()).stderr(log_file);
    let mut child = spawn_tied(cmd).expect("start the entrypoint");

    let registration = wait_until(
        &format!("{name} (broker {id}) registered through the entrypoint"),
        Duration::from_secs(30),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("the broker exited ({status}):\n{log}");
            }
            zk(&chroot).get_json(&format!("/brokers/ids/{id}"))
        },
    );
    assert_eq!(registration["port"], port, "{registration}");
    assert_eq!(
        registration["endpoints"],
        serde_json::json!([
            format!("INTERNAL://127.0.0.1:{port}"),
            format!("EXTERNAL://127.0.0.1:{external}")
        ]),
        "{registration}"
    );
    let log_text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log_text.contains("--override min.insync.replicas=2")
            && log_text.contains("--override default.replication.factor=3")
            && log_text.contains("--override log.retention.check.interval.ms=1000"),
        "the entrypoint's command line: {log_text}"
    );

    // The broker serves clients: a record round trip on an RF=1 topic
    // (default.replication.factor=3 from compose needs three brokers, and
    // min.insync.replicas=2 from compose refuses acks=all on one replica).
    // Through EXTERNAL, as a client on the host would.
    let bootstrap = format!("127.0.0.1:{external}");
    let created = run_python(
        "import sys\n\
         from confluent_kafka.admin import AdminClient, NewTopic\n\
         a = AdminClient({'bootstrap.servers': sys.argv[1]})\n\
         for f in a.create_topics([NewTopic('docker', 1, 1)]).values():\n    f.result(30)\n",
        &[&bootstrap],
    );
    assert_success(&created, "create topic");
    let produced = kcat(
        &["-b", &bootstrap, "-t", "docker", "-P", "-X", "acks=1"],
        Some(b"from-compose-env\n"),
    );
    assert_success(&produced, "kcat produce");
    let consumed = kcat(
        &[
            "-b",
            &bootstrap,
            "-t",
            "docker",
            "-C",
            "-e",
            "-o",
            "beginning",
        ],
        None,
    );
    assert_eq!(
        assert_success(&consumed, "kcat consume").trim(),
        "from-compose-env"
    );

    // SIGTERM (what `docker stop` sends) reaches the broker itself, which
    // exits cleanly.
    // SAFETY: plain kill(2) on our own unreaped child.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let status = wait_until("the broker exits on SIGTERM", BROKER_STOP_TIMEOUT, || {
        child.try_wait().unwrap()
    });
    assert!(status.success(), "exit status {status}");
}

#[test]
fn entrypoint_refuses_a_bad_value_naming_the_key() {
    let compose = compose();
    let (_, service) = broker_services(&compose).remove(0);
    let chroot = unique_chroot("docker-bad");
    let data = temp_dir("docker-bad-data");
    let mut env = test_env_for(&service, &chroot, (free_port(), free_port()), data.path());
    env.insert("SLUICE_LOG_RETENTION_HOURS".into(), "a week".into());
    let out = run_with_timeout(entrypoint(&env), None, Duration::from_secs(30));
    assert!(!out.status.success(), "started with a bad value");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("log.retention.hours") && stderr.contains("a week"),
        "stderr: {stderr}"
    );
}
