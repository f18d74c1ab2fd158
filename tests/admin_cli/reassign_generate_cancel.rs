//! `sluice reassign-partitions --generate` and `--cancel`, called from the
//! reassignment test's three-broker cluster: --generate prints Kafka's two
//! blocks, the current assignment exactly and a proposal over the listed
//! brokers that keeps the partition count and replication factor and spreads
//! the leaders (Kafka's rack-unaware scheme), leaving out listed brokers
//! that are not live; --cancel puts a move that is held in progress back to
//! its old replicas and says so as Kafka does.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::*;
use crate::tool::*;

/// (partition, replicas) of a reassignment JSON line, checking its shape.
fn partitions_of(json_line: &str, topic: &str) -> Vec<(i64, Vec<i64>)> {
    let json: Value =
        serde_json::from_str(json_line).unwrap_or_else(|e| panic!("not JSON ({e}): {json_line}"));
    assert_eq!(json["version"], 1, "{json_line}");
    json["partitions"]
        .as_array()
        .expect("partitions array")
        .iter()
        .map(|p| {
            assert_eq!(p["topic"], topic, "{json_line}");
            let replicas: Vec<i64> = p["replicas"]
                .as_array()
                .expect("replicas")
                .iter()
                .map(|r| r.as_i64().expect("broker id"))
                .collect();
            assert_eq!(
                p["log_dirs"].as_array().map(Vec::len),
                Some(replicas.len()),
                "{json_line}"
            );
            (p["partition"].as_i64().expect("partition"), replicas)
        })
        .collect()
}

/// `topic` has partitions 0 and 1 on 1,2 and 2,3.
pub fn check_generate(bootstrap: &str, dir: &Path, topic: &str) {
    let to_move = dir.join("topics-to-move.json");
    std::fs::write(
        &to_move,
        format!(r#"{{"topics":[{{"topic":"{topic}"}}],"version":1}}"#),
    )
    .unwrap();
    let to_move = to_move.to_str().unwrap();
    let generate = |brokers: &str| {
        sluice(&[
            "reassign-partitions",
            "--bootstrap-server",
            bootstrap,
            "--topics-to-move-json-file",
            to_move,
            "--broker-list",
            brokers,
            "--generate",
        ])
    };
    for (brokers, allowed) in [("1,2,3", vec![1, 2, 3]), ("3,2", vec![2, 3])] {
        let out = generate(brokers).ok("generate");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(lines[0], "Current partition replica assignment", "{out}");
        assert_eq!(
            lines[1],
            format!(
                r#"{{"version":1,"partitions":[{{"topic":"{topic}","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}},{{"topic":"{topic}","partition":1,"replicas":[2,3],"log_dirs":["any","any"]}}]}}"#
            )
        );
        assert_eq!(lines[2], "", "{out}");
        assert_eq!(
            lines[3], "Proposed partition reassignment configuration",
            "{out}"
        );
        let proposed = partitions_of(lines[4], topic);
        assert_eq!(
            proposed.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [0, 1],
            "{out}"
        );
        for (_, replicas) in &proposed {
            let distinct: BTreeSet<i64> = replicas.iter().copied().collect();
            assert_eq!(distinct.len(), 2, "replication factor kept: {out}");
            assert!(
                replicas.iter().all(|r| allowed.contains(r)),
                "only {brokers}: {out}"
            );
        }
        assert_ne!(proposed[0].1[0], proposed[1].1[0], "leaders spread: {out}");
    }
    // Like Kafka, listed brokers that are not live are left out (with a warning).
    let absent = generate("1,2,9");
    assert!(
        absent
            .stderr
            .contains("Warning: broker 9 in --broker-list is not live and left out"),
        "{}",
        absent.stderr
    );
    let out = absent.ok("generate with a dead broker listed");
    let proposed = partitions_of(out.lines().nth(4).unwrap_or_default(), topic);
    assert!(
        proposed
            .iter()
            .all(|(_, r)| r.iter().all(|b| *b == 1 || *b == 2)),
        "{out}"
    );
    let one = generate("2").fails("generate over too few brokers");
    assert!(
        one.contains("replication factor: 2 larger than available brokers: 1"),
        "{one}"
    );
    let dup = generate("1,2,1").fails("duplicate brokers");
    assert!(
        dup.contains("Broker list contains duplicate entries: 1"),
        "{dup}"
    );
    let missing = sluice(&[
        "reassign-partitions",
        "--bootstrap-server",
        bootstrap,
        "--topics-to-move-json-file",
        to_move,
        "--generate",
    ])
    .fails("generate without --broker-list");
    assert!(missing.contains("broker-list"), "{missing}");
}

/// `plan` (one partition of `topic`) is in progress because one of its
/// adding replicas is frozen; cancel it and see the old replicas come back.
pub fn check_cancel(
    reassign: &dyn Fn(&[&str]) -> Run,
    bootstrap: &str,
    topic: &str,
    old_replicas: &str,
) {
    let cancelled = reassign(&["--cancel"]).ok("cancel");
    assert_eq!(
        cancelled,
        format!(
            "Successfully cancelled partition reassignment for: {topic}-0\n\
             None of the specified partition moves are active.\n\
             Clearing broker-level throttles on brokers 1,2,3\n\
             Clearing topic-level throttles on topic {topic}\n"
        )
    );
    wait_until("the cancelled move to be undone", CLUSTER_TIMEOUT, || {
        let text = topics(bootstrap, &["--describe", "--topic", topic]).ok("describe");
        let line = partition_line(&text, topic, 0);
        (line.contains(&format!("\tReplicas: {old_replicas}\t")) && !line.contains("Adding"))
            .then_some(())
    });
    let again = reassign(&["--cancel", "--preserve-throttles"]).ok("cancel again");
    assert_eq!(
        again,
        "None of the specified partition reassignments are active.\n\
         None of the specified partition moves are active.\n"
    );
}
