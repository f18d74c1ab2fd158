//! The admin command-line tools, run as the real `sluice` binary against real
//! brokers, checked line by line against what Kafka 3.x's scripts print:
//! `sluice topics` creates, lists, describes (TopicId as in ZooKeeper,
//! configs, partitions), alters the partition count of (with or without an
//! assignment) and deletes topics; `--under-replicated-partitions` /
//! `--unavailable-partitions` show exactly the partitions hit by a SIGKILLed
//! broker; `sluice leader-election` moves leadership back to the preferred
//! replica (and reports elections that were not needed or failed);
//! `sluice reassign-partitions` generates a proposal, executes and verifies a
//! move, including one held "in progress" by a frozen broker, and cancels it; `sluice configs` describes and
//! alters topic, broker and cluster-default configs; bad flags, unknown
//! topics and unreachable brokers give a plain-words message on stderr and
//! exit code 1.

mod common;
#[path = "admin_cli/reassign_generate_cancel.rs"]
mod reassign_generate_cancel;
#[path = "admin_cli/tool.rs"]
mod tool;
#[path = "admin_cli/topic_patterns.rs"]
mod topic_patterns;

use std::collections::BTreeSet;

use common::*;
use tool::*;

#[test]
fn topics_create_list_describe_alter_delete_print_what_kafka_prints() {
    let chroot = unique_chroot("admin_cli_topics");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let b = broker.bootstrap();

    let created = topics(
        &b,
        &[
            "--create",
            "--topic",
            "orders",
            "--partitions",
            "3",
            "--replication-factor",
            "1",
            "--config",
            "retention.ms=60000",
        ],
    )
    .ok("create orders");
    assert_eq!(created, "Created topic orders.\n");
    let warned = topics(
        &b,
        &["--create", "--topic", "web.clicks", "--partitions", "1"],
    )
    .ok("create web.clicks");
    assert_eq!(
        warned,
        "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\nCreated topic web.clicks.\n"
    );

    let again = topics(&b, &["--create", "--topic", "orders", "--partitions", "1"])
        .fails("create orders twice");
    assert!(again.contains("already exists"), "{again}");
    topics(
        &b,
        &[
            "--create",
            "--topic",
            "orders",
            "--partitions",
            "1",
            "--if-not-exists",
        ],
    )
    .ok("create --if-not-exists");

    let listed = topics(&b, &["--list"]).ok("list");
    assert_eq!(listed, "orders\nweb.clicks\n");

    let text = describe(&b, "orders");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let topic_id = zk(&chroot)
        .get_json("/brokers/topics/orders")
        .and_then(|v| v["topic_id"].as_str().map(str::to_string))
        .expect("topic_id in /brokers/topics/orders");
    let header = format!(
        "Topic: orders\tTopicId: {topic_id}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: "
    );
    assert!(
        lines[0].starts_with(&header),
        "{:?} vs {header:?}",
        lines[0]
    );
    let configs: BTreeSet<&str> = lines[0][header.len()..].split(',').collect();
    assert!(configs.contains("retention.ms=60000"), "{}", lines[0]);
    for p in 0..3 {
        assert_eq!(
            lines[1 + p],
            format!("\tTopic: orders\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1")
        );
    }
    let everything = topics(&b, &["--describe"]).ok("describe all");
    assert_eq!(
        partition_lines(&everything),
        ["orders-0", "orders-1", "orders-2", "web.clicks-0"]
            .map(String::from)
            .into(),
        "{everything}"
    );
    let overrides = topics(&b, &["--describe", "--topics-with-overrides"]).ok("overrides");
    assert!(
        overrides.starts_with("Topic: orders\t") && overrides.lines().count() == 1,
        "{overrides}"
    );

    let altered = topics(&b, &["--alter", "--topic", "orders", "--partitions", "5"])
        .ok("alter to 5 partitions");
    assert_eq!(altered, "");
    let text = wait_until("orders to have 5 partitions", CLUSTER_TIMEOUT, || {
        let text = describe(&b, "orders");
        (partition_lines(&text).len() == 5).then_some(text)
    });
    assert!(text.contains("\tPartitionCount: 5\t"), "{text}");
    let shrink = topics(&b, &["--alter", "--topic", "orders", "--partitions", "2"])
        .fails("alter to fewer partitions");
    assert!(shrink.contains("partition"), "{shrink}");

    let deleted = topics(&b, &["--delete", "--topic", "orders"]).ok("delete orders");
    assert_eq!(deleted, "");
    wait_until("orders to disappear from --list", CLUSTER_TIMEOUT, || {
        (topics(&b, &["--list"]).ok("list") == "web.clicks\n").then_some(())
    });
    for action in ["--describe", "--delete"] {
        let missing = topics(&b, &[action, "--topic", "orders"]).fails("unknown topic");
        assert!(
            missing.contains("Topic 'orders' does not exist") && missing.contains("--list"),
            "{action}: {missing}"
        );
    }
    topics(&b, &["--delete", "--topic", "orders", "--if-exists"]).ok("delete --if-exists");
}

#[test]
fn bad_input_gets_plain_words_on_stderr_and_exit_code_1() {
    let port = free_port();
    let dead = format!("127.0.0.1:{port}");
    let unreachable = topics(&dead, &["--list"]).fails("unreachable broker");
    assert!(
        unreachable.contains(&format!("cannot reach any broker at {dead}"))
            && unreachable.contains("--bootstrap-server"),
        "{unreachable}"
    );
    let no_port = topics("localhost", &["--list"]).fails("bootstrap without a port");
    assert!(no_port.contains("HOST:PORT"), "{no_port}");
    let bad_flag = sluice(&["topics", "--bootstrap-server", &dead, "--lisst"]).fails("bad flag");
    assert!(bad_flag.contains("--lisst"), "{bad_flag}");
    let no_action = topics(&dead, &["--topic", "t"]).fails("no action");
    assert!(
        no_action.contains("exactly one action") && no_action.contains("--create"),
        "{no_action}"
    );
    let no_topic = topics(&dead, &["--create", "--partitions", "1"]).fails("create without topic");
    assert!(no_topic.contains("--topic"), "{no_topic}");
    let bad_partitions =
        topics(&dead, &["--create", "--topic", "t", "--partitions", "0"]).fails("zero partitions");
    assert!(bad_partitions.contains("partitions"), "{bad_partitions}");
    let bad_entity = sluice(&[
        "configs",
        "--bootstrap-server",
        &dead,
        "--entity-type",
        "tables",
        "--describe",
    ])
    .fails("bad entity type");
    assert!(bad_entity.contains("--entity-type topics"), "{bad_entity}");
    let no_file = sluice(&[
        "reassign-partitions",
        "--bootstrap-server",
        &dead,
        "--reassignment-json-file",
        "/nonexistent/plan.json",
        "--execute",
    ])
    .fails("missing json file");
    assert!(no_file.contains("/nonexistent/plan.json"), "{no_file}");
    let no_type = sluice(&[
        "leader-election",
        "--bootstrap-server",
        &dead,
        "--all-topic-partitions",
    ])
    .fails("no election type");
    assert!(no_type.contains("--election-type"), "{no_type}");
    let help = sluice(&["topics", "--help"]).ok("help");
    assert!(help.contains("--under-replicated-partitions"), "{help}");
}

#[test]
fn configs_describe_and_alter_topic_configs() {
    let chroot = unique_chroot("admin_cli_configs");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let b = broker.bootstrap();
    topics(
        &b,
        &[
            "--create",
            "--topic",
            "cfg",
            "--partitions",
            "1",
            "--config",
            "retention.ms=60000",
        ],
    )
    .ok("create cfg");
    let configs = |args: &[&str]| {
        let mut all = vec!["configs", "--bootstrap-server", b.as_str()];
        all.extend_from_slice(args);
        sluice(&all)
    };
    let described = configs(&[
        "--entity-type",
        "topics",
        "--entity-name",
        "cfg",
        "--describe",
    ])
    .ok("describe cfg");
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(
        lines[0], "Dynamic configs for topic cfg are:",
        "{described}"
    );
    assert_eq!(lines.len(), 2, "{described}");
    assert!(
        lines[1].starts_with(
            "  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000"
        ),
        "{described}"
    );
    let all = configs(&[
        "--entity-type",
        "topics",
        "--entity-name",
        "cfg",
        "--describe",
        "--all",
    ])
    .ok("describe --all");
    assert!(all.starts_with("All configs for topic cfg are:\n"), "{all}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("  cleanup.policy=delete sensitive=false")),
        "{all}"
    );
    let missing = configs(&[
        "--entity-type",
        "topics",
        "--entity-name",
        "nope",
        "--describe",
    ])
    .fails("describe unknown topic");
    assert!(missing.contains("Topic 'nope' does not exist"), "{missing}");

    // --alter: IncrementalAlterConfigs SET (a bracketed list too) and DELETE.
    let topic_cfg = ["--entity-type", "topics", "--entity-name", "cfg"];
    let alter = |extra: &[&str]| {
        let mut all = topic_cfg.to_vec();
        all.push("--alter");
        all.extend_from_slice(extra);
        configs(&all)
    };
    let done = alter(&[
        "--add-config",
        "retention.ms=120000,cleanup.policy=[compact,delete]",
    ])
    .ok("alter cfg");
    assert_eq!(done, "Completed updating config for topic cfg.\n");
    let dynamic = |topic_cfg: &[&str]| {
        let mut all = topic_cfg.to_vec();
        all.push("--describe");
        let out = configs(&all).ok("describe");
        out.lines()
            .skip(1)
            .map(|l| l.split(" sensitive=").next().unwrap().trim().to_string())
            .collect::<BTreeSet<String>>()
    };
    assert_eq!(
        dynamic(&topic_cfg),
        ["cleanup.policy=compact,delete", "retention.ms=120000"]
            .map(String::from)
            .into()
    );
    let stored = zk(&chroot)
        .get_json("/config/topics/cfg")
        .expect("/config/topics/cfg");
    assert_eq!(stored["config"]["retention.ms"], "120000", "{stored}");
    let header = describe(&b, "cfg");
    assert!(
        header
            .lines()
            .next()
            .unwrap()
            .contains("retention.ms=120000"),
        "{header}"
    );
    assert_eq!(
        alter(&["--delete-config", "retention.ms"]).ok("delete retention.ms"),
        "Completed updating config for topic cfg.\n"
    );
    assert_eq!(
        dynamic(&topic_cfg),
        ["cleanup.policy=compact,delete".to_string()].into()
    );
    let unset = alter(&["--delete-config", "retention.ms"]).fails("delete an unset config");
    assert!(unset.contains("Invalid config(s): retention.ms"), "{unset}");
    let invalid = alter(&["--add-config", "retention.ms=soon"]).fails("bad value");
    assert!(invalid.contains("retention.ms"), "{invalid}");

    // Brokers: one broker's dynamic config, then the cluster-wide default.
    let broker_1 = ["--entity-type", "brokers", "--entity-name", "1"];
    let mut args = broker_1.to_vec();
    args.extend_from_slice(&["--alter", "--add-config", "log.retention.ms=3600000"]);
    assert_eq!(
        configs(&args).ok("alter broker 1"),
        "Completed updating config for broker 1.\n"
    );
    let described = wait_until("broker 1's dynamic config", CLUSTER_TIMEOUT, || {
        let mut all = broker_1.to_vec();
        all.push("--describe");
        let out = configs(&all).ok("describe broker 1");
        out.contains("log.retention.ms=3600000").then_some(out)
    });
    assert!(
        described.starts_with(
            "Dynamic configs for broker 1 are:\n  log.retention.ms=3600000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=3600000"
        ),
        "{described}"
    );
    let default = ["--entity-type", "brokers", "--entity-default"];
    let mut args = default.to_vec();
    args.extend_from_slice(&["--alter", "--add-config", "log.retention.ms=7200000"]);
    assert_eq!(
        configs(&args).ok("alter default"),
        "Completed updating default config for brokers in the cluster.\n"
    );
    let described = wait_until("the cluster default config", CLUSTER_TIMEOUT, || {
        let mut all = default.to_vec();
        all.push("--describe");
        let out = configs(&all).ok("describe default");
        out.contains("log.retention.ms=7200000").then_some(out)
    });
    assert!(
        described.starts_with(
            "Default configs for brokers in the cluster are:\n  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000"
        ),
        "{described}"
    );
    let not_a_broker = configs(&[
        "--entity-type",
        "brokers",
        "--entity-name",
        "one",
        "--describe",
    ])
    .fails("non-numeric broker");
    assert!(not_a_broker.contains("integer broker id"), "{not_a_broker}");
}

#[test]
fn under_replicated_and_unavailable_partitions_then_preferred_leader_election() {
    let mut cluster = failover_cluster("admin_cli_failover");
    let b2 = cluster.broker(2).bootstrap();
    let all = cluster.bootstrap();
    let created = topics(
        &all,
        &[
            "--create",
            "--topic",
            "spread",
            "--partitions",
            "3",
            "--replication-factor",
            "2",
        ],
    )
    .ok("create spread");
    assert_eq!(created, "Created topic spread.\n");
    wait_for_topic(&cluster, "spread");
    let text = describe(&all, "spread");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("\tPartitionCount: 3\tReplicationFactor: 2\t"),
        "{text}"
    );
    for p in 0..3 {
        let line = partition_line(&text, "spread", p);
        let replicas = line
            .split("\tReplicas: ")
            .nth(1)
            .unwrap()
            .split('\t')
            .next()
            .unwrap();
        assert_eq!(replicas.split(',').count(), 2, "{line}");
    }
    // --alter with --replica-assignment: entries past the current count
    // place the new partitions.
    topics(
        &all,
        &[
            "--alter",
            "--topic",
            "spread",
            "--partitions",
            "4",
            "--replica-assignment",
            "1:2,1:2,1:2,3:2",
        ],
    )
    .ok("alter spread with an assignment");
    wait_until("spread-3 on brokers 3,2", CLUSTER_TIMEOUT, || {
        let out = topics(&all, &["--describe", "--topic", "spread"]).ok("describe spread");
        let lines = partition_lines(&out);
        (lines.len() == 4 && partition_line(&out, "spread", 3).contains("\tReplicas: 3,2\t"))
            .then_some(())
    });
    wait_for_topic(&cluster, "spread");
    topics(
        &all,
        &[
            "--create",
            "--topic",
            "rep",
            "--replica-assignment",
            "1:2,2:3,3:1",
        ],
    )
    .ok("create rep");
    wait_for_topic(&cluster, "rep");
    topics(
        &all,
        &["--create", "--topic", "solo", "--replica-assignment", "1"],
    )
    .ok("create solo");
    wait_for_topic(&cluster, "solo");
    wait_until("full ISRs", CLUSTER_TIMEOUT, || {
        let out = topics(&all, &["--describe", "--under-replicated-partitions"]).ok("urp");
        out.is_empty().then_some(())
    });
    assert_eq!(
        topics(&all, &["--describe", "--unavailable-partitions"]).ok("unavailable"),
        ""
    );

    assert_eq!(
        partition_lines(&topics(&all, &["--describe", "--at-min-isr-partitions"]).ok("at min isr")),
        ["solo-0".to_string()].into()
    );

    cluster.broker(1).kill();
    let urp = wait_until(
        "rep-0 and rep-2 to be under-replicated",
        CLUSTER_TIMEOUT,
        || {
            let out = topics(&b2, &["--describe", "--under-replicated-partitions"]).ok("urp");
            let rep: BTreeSet<String> = partition_lines(&out)
                .into_iter()
                .filter(|tp| tp.starts_with("rep-"))
                .collect();
            (rep == ["rep-0", "rep-2"].map(String::from).into()).then_some(out)
        },
    );
    assert!(!urp.contains("Topic: rep\tTopicId"), "no headers: {urp}");
    assert_eq!(
        partition_line(&urp, "rep", 0),
        "\tTopic: rep\tPartition: 0\tLeader: 2\tReplicas: 1,2\tIsr: 2"
    );
    let unavailable = wait_until("solo-0 to be unavailable", CLUSTER_TIMEOUT, || {
        let out = topics(&b2, &["--describe", "--unavailable-partitions"]).ok("unavailable");
        (partition_lines(&out) == ["solo-0".to_string()].into()).then_some(out)
    });
    assert!(
        partition_line(&unavailable, "solo", 0).contains("\tLeader: none\tReplicas: 1\t"),
        "{unavailable}"
    );

    let under_min = topics(&b2, &["--describe", "--under-min-isr-partitions"]).ok("under min");
    assert_eq!(
        partition_lines(&under_min),
        ["solo-0".to_string()].into(),
        "{under_min}"
    );

    // Nobody but the dead broker holds solo-0: even an unclean election fails.
    let unclean = sluice(&[
        "leader-election",
        "--bootstrap-server",
        &b2,
        "--election-type",
        "unclean",
        "--topic",
        "solo",
        "--partition",
        "0",
    ]);
    assert!(
        unclean
            .stdout
            .starts_with("Error completing leader election (UNCLEAN) for partition: solo-0: "),
        "{}",
        unclean.stdout
    );
    let reason = unclean.fails("unclean election without a replica");
    assert!(
        reason.contains("1 replica(s) could not be elected"),
        "{reason}"
    );

    cluster.broker(1).restart();
    wait_until("broker 1 back in every ISR", CLUSTER_TIMEOUT, || {
        let out = topics(&b2, &["--describe", "--under-replicated-partitions"]).ok("urp");
        out.is_empty().then_some(())
    });
    let line = partition_line(&describe(&b2, "rep"), "rep", 0);
    let isr: BTreeSet<&str> = line.rsplit("\tIsr: ").next().unwrap().split(',').collect();
    assert_eq!(isr, ["1", "2"].into(), "{line}");
    // Every partition led by a replica other than its first (preferred) one.
    let before = topics(&b2, &["--describe"]).ok("describe before election");
    let not_preferred: Vec<String> = before
        .lines()
        .filter(|l| l.starts_with("\tTopic: "))
        .filter(|l| {
            let field = |name: &str| {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap()
                    .to_string()
            };
            field("Leader: ") != field("Replicas: ").split(',').next().unwrap()
        })
        .map(|l| partition_lines(l).into_iter().next().unwrap())
        .collect();
    assert!(not_preferred.contains(&"rep-0".to_string()), "{before}");
    let elected = sluice(&[
        "leader-election",
        "--bootstrap-server",
        &b2,
        "--election-type",
        "preferred",
        "--all-topic-partitions",
    ])
    .ok("preferred election");
    assert_eq!(
        elected,
        format!(
            "Successfully completed leader election (PREFERRED) for partitions {}\n",
            not_preferred.join(", ")
        ),
        "{before}"
    );
    wait_until("broker 1 to lead rep-0 again", CLUSTER_TIMEOUT, || {
        partition_line(&describe(&b2, "rep"), "rep", 0)
            .contains("\tLeader: 1\t")
            .then_some(())
    });
    let again = sluice(&[
        "leader-election",
        "--bootstrap-server",
        &b2,
        "--election-type",
        "PREFERRED",
        "--topic",
        "rep",
        "--partition",
        "0",
    ])
    .ok("election not needed");
    assert_eq!(
        again,
        "Valid replica already elected for partitions rep-0\n"
    );
    let dir = temp_dir("admin_cli_election");
    let file = dir.path().join("partitions.json");
    std::fs::write(
        &file,
        r#"{"partitions":[{"topic":"rep","partition":1},{"topic":"rep","partition":2}]}"#,
    )
    .unwrap();
    let from_file = sluice(&[
        "leader-election",
        "--bootstrap-server",
        &b2,
        "--election-type",
        "preferred",
        "--path-to-json-file",
        file.to_str().unwrap(),
    ])
    .ok("election from a file");
    assert_eq!(
        from_file,
        "Valid replica already elected for partitions rep-1, rep-2\n"
    );
}

#[test]
fn reassign_partitions_execute_then_verify() {
    let mut cluster = failover_cluster("admin_cli_reassign");
    let b = cluster.bootstrap();
    topics(
        &b,
        &[
            "--create",
            "--topic",
            "moving",
            "--replica-assignment",
            "1:2,2:3",
        ],
    )
    .ok("create moving");
    wait_for_topic(&cluster, "moving");
    let dir = temp_dir("admin_cli_reassign");
    reassign_generate_cancel::check_generate(&b, dir.path(), "moving");
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[2,3],"log_dirs":["any","any"]}]}"#,
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let reassign = |action: &str, file: &str| {
        sluice(&[
            "reassign-partitions",
            "--bootstrap-server",
            &b,
            "--reassignment-json-file",
            file,
            action,
        ])
    };
    let started = reassign("--execute", plan).ok("execute");
    assert_eq!(
        started,
        "Current partition replica assignment\n\n\
         {\"version\":1,\"partitions\":[{\"topic\":\"moving\",\"partition\":0,\"replicas\":[1,2],\"log_dirs\":[\"any\",\"any\"]}]}\n\n\
         Save this to use as the --reassignment-json-file option during rollback\n\
         Successfully started partition reassignment for moving-0\n"
    );
    let verified = wait_until("the move to complete", CLUSTER_TIMEOUT, || {
        let out = reassign("--verify", plan).ok("verify");
        out.contains("is completed.").then_some(out)
    });
    assert!(
        verified.starts_with(
            "Status of partition reassignment:\nReassignment of partition moving-0 is completed.\n"
        ),
        "{verified}"
    );
    assert!(
        verified.contains("\nClearing broker-level throttles on brokers 1,2,3\nClearing topic-level throttles on topic moving\n"),
        "{verified}"
    );
    let text = describe(&b, "moving");
    let line = partition_line(&text, "moving", 0);
    assert!(line.contains("\tReplicas: 2,3\t"), "{line}");
    assert_eq!(
        partition_line(&text, "moving", 1),
        "\tTopic: moving\tPartition: 1\tLeader: 2\tReplicas: 2,3\tIsr: 2,3"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"version":1,"partitions":[{"topic":"moving","partition":1,"replicas":[2,9]}]}"#,
    )
    .unwrap();
    let unknown = reassign("--execute", bad.to_str().unwrap()).fails("unknown broker");
    assert!(unknown.contains("Unknown broker id 9"), "{unknown}");
    let absent = dir.path().join("absent.json");
    std::fs::write(
        &absent,
        r#"{"version":1,"partitions":[{"topic":"ghost","partition":0,"replicas":[1]}]}"#,
    )
    .unwrap();
    let ghost = reassign("--execute", absent.to_str().unwrap()).fails("unknown topic");
    assert!(ghost.contains("Topic 'ghost' does not exist"), "{ghost}");

    // A move onto a frozen (SIGSTOP) broker that is not the controller stays
    // in progress, with the adding replica shown, until the broker resumes.
    let controller = zk(&cluster.chroot)
        .get_json("/controller")
        .and_then(|v| v["brokerid"].as_i64())
        .expect("/controller") as i32;
    let frozen = if controller == 3 { 2 } else { 3 };
    let others: Vec<i32> = (1..=3).filter(|id| *id != frozen).collect();
    topics(
        &b,
        &[
            "--create",
            "--topic",
            "slow",
            "--replica-assignment",
            &format!("{}:{}", others[0], others[1]),
        ],
    )
    .ok("create slow");
    wait_for_topic(&cluster, "slow");
    let grow = dir.path().join("grow.json");
    std::fs::write(
        &grow,
        format!(
            r#"{{"version":1,"partitions":[{{"topic":"slow","partition":0,"replicas":[{},{},{frozen}]}}]}}"#,
            others[0], others[1]
        ),
    )
    .unwrap();
    let grow = grow.to_str().unwrap();
    let live: Vec<String> = cluster
        .brokers
        .iter()
        .filter(|br| br.id() != frozen)
        .map(Broker::bootstrap)
        .collect();
    let b_live = live.join(",");
    let reassign_live = |action: &str, file: &str| {
        sluice(&[
            "reassign-partitions",
            "--bootstrap-server",
            &b_live,
            "--reassignment-json-file",
            file,
            action,
        ])
    };
    cluster.broker(frozen).pause();
    reassign_live("--execute", grow).ok("execute onto a frozen broker");
    let pending = reassign_live("--verify", grow).ok("verify in progress");
    assert_eq!(
        pending,
        "Status of partition reassignment:\nReassignment of partition slow-0 is still in progress.\n"
    );
    let line = partition_line(
        &topics(&b_live, &["--describe", "--topic", "slow"]).ok("describe slow"),
        "slow",
        0,
    );
    assert!(
        line.ends_with(&format!("\tAdding Replicas: {frozen}\tRemoving Replicas: ")),
        "{line}"
    );
    let again = reassign_live("--execute", grow).fails("execute while one is in progress");
    assert!(again.contains("--additional"), "{again}");
    let cancel = |extra: &[&str]| {
        let mut args = vec![
            "reassign-partitions",
            "--bootstrap-server",
            &b_live,
            "--reassignment-json-file",
            grow,
        ];
        args.extend_from_slice(extra);
        sluice(&args)
    };
    let old = format!("{},{}", others[0], others[1]);
    reassign_generate_cancel::check_cancel(&cancel, &b_live, "slow", &old);
    cluster.broker(frozen).resume();
    let verified = reassign_live("--verify", grow).ok("verify after cancel");
    let expected = format!(
        "Status of partition reassignment:\nThere is no active reassignment of partition slow-0, but replica set is {old} rather than {old},{frozen}.\n"
    );
    assert!(verified.starts_with(&expected), "{verified}");
}
