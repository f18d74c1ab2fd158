//! `sluice consumer-groups --reset-offsets` by time and by shift, on a group
//! whose offsets a real librdkafka consumer committed: --to-datetime (with a
//! zone, without one = UTC, and past the last record = Kafka's "Falling back
//! to latest known offset" warning), --by-duration (now minus a Java
//! `Duration`), --shift-by (clamped to the log start and end), --dry-run
//! (or neither flag, with Kafka's warning) leaving the commits alone, and
//! plain-words errors for bad values.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::*;

/// 2024-01-01T00:00:00.000Z; record i of each partition is stamped i minutes later.
const BASE_MS: i64 = 1_704_067_200_000;

fn produce_stamped(bootstrap: &str, topic: &str) {
    let producer: FutureProducer = future_producer(bootstrap);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for p in 0..2 {
            for i in 0..10 {
                let value = format!("{p}-{i}");
                producer
                    .send(
                        FutureRecord::<(), _>::to(topic)
                            .partition(p)
                            .timestamp(BASE_MS + i64::from(i) * 60_000)
                            .payload(&value),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap_or_else(|(e, _)| panic!("produce to {topic}-{p}: {e}"));
            }
        }
    });
}

/// (partition, new offset) rows of a reset table, checking group and topic.
fn reset_rows(text: &str) -> Vec<(i32, i64)> {
    table_rows(text)
        .into_iter()
        .map(|row| {
            assert_eq!(row[..2], ["rewind", "timed"], "{text}");
            (row[2].parse().unwrap(), row[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn reset_offsets_to_datetime_by_duration_and_shift_by() {
    let chroot = unique_chroot("groups-reset-time");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("num.partitions", 2)
            .set("log.retention.ms", -1)
            .set("group.min.session.timeout.ms", 1000),
    );
    let b = broker.bootstrap();
    produce_stamped(&b, "timed");
    let consumer: BaseConsumer = consumer_config(&b, "rewind")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&["timed"]).expect("subscribe");
    consume_and_commit(&consumer, 20);
    leave(consumer);
    wait_until("the group is empty", Duration::from_secs(30), || {
        let (_, text, _) =
            consumer_groups_tool(&["--bootstrap-server", &b, "--describe", "--group", "rewind"]);
        text.contains("has no active members.").then_some(())
    });
    let committed = |p: i32| committed_in_zk(&chroot, "rewind", "timed", p);
    assert_eq!(committed(0).as_deref(), Some("10"));
    let reset = |scenario: &[&str], execute: bool| {
        let mut args = vec![
            "--bootstrap-server",
            &b,
            "--reset-offsets",
            "--group",
            "rewind",
            "--topic",
            "timed",
        ];
        args.extend_from_slice(scenario);
        args.push(if execute { "--execute" } else { "--dry-run" });
        consumer_groups_tool(&args)
    };
    let ok = |scenario: &[&str], execute: bool| {
        let (ok, out, err) = reset(scenario, execute);
        assert!(ok, "{scenario:?}: {err}");
        out
    };

    // 02:03:30 at +02:00 is 00:03:30Z: the first record at or after it is offset 4.
    let zoned = ["--to-datetime", "2024-01-01T02:03:30.000+02:00"];
    let dry = ok(&zoned, false);
    assert_eq!(reset_rows(&dry), [(0, 4), (1, 4)], "{dry}");
    assert_eq!(
        committed(0).as_deref(),
        Some("10"),
        "a dry run commits nothing"
    );
    ok(&zoned, true);
    assert_eq!(
        (committed(0).as_deref(), committed(1).as_deref()),
        (Some("4"), Some("4"))
    );
    // No zone means UTC; an exact timestamp finds its own record.
    let utc = ok(&["--to-datetime", "2024-01-01T00:03:00.000"], false);
    assert_eq!(reset_rows(&utc), [(0, 3), (1, 3)], "{utc}");
    let future = ok(&["--to-datetime", "2099-01-01T00:00:00.000Z"], false);
    assert_eq!(reset_rows(&future), [(0, 10), (1, 10)], "{future}");
    for p in 0..2 {
        let warning = format!(
            "\nWarn: Partition {p} from topic timed is empty. Falling back to latest known offset.\n"
        );
        assert!(future.contains(&warning), "{future}");
    }

    // Shift from the committed 4, kept within [log start 0, log end 10].
    ok(&["--shift-by", "-2"], true);
    assert_eq!(committed(1).as_deref(), Some("2"));
    let back = ok(&["--shift-by", "-5"], false);
    assert_eq!(reset_rows(&back), [(0, 0), (1, 0)], "{back}");
    let ahead = ok(&["--shift-by", "100"], false);
    assert_eq!(reset_rows(&ahead), [(0, 10), (1, 10)], "{ahead}");
    let forward = ok(&["--shift-by", "3"], false);
    assert_eq!(reset_rows(&forward), [(0, 5), (1, 5)], "{forward}");

    // Now minus a duration that lands 5 minutes 5 seconds after BASE_MS:
    // the first record at or after it is the 6-minute one, offset 6.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let seconds = (now_ms - (BASE_MS + 305_000)) / 1000;
    let duration = format!("PT{seconds}S");
    ok(&["--by-duration", &duration], true);
    assert_eq!(committed(0).as_deref(), Some("6"));
    let days = ok(&["--by-duration", "P36500D"], false);
    assert_eq!(reset_rows(&days), [(0, 0), (1, 0)], "{days}");
    // Neither --dry-run nor --execute: Kafka's warning, and nothing committed.
    let (ok_run, out, err) = consumer_groups_tool(&[
        "--bootstrap-server",
        &b,
        "--reset-offsets",
        "--group",
        "rewind",
        "--topic",
        "timed",
        "--to-earliest",
    ]);
    assert!(ok_run, "{err}");
    assert!(
        err.contains("WARN: No action will be performed as the --execute option is missing."),
        "{err}"
    );
    assert_eq!(reset_rows(&out), [(0, 0), (1, 0)], "{out}");
    assert_eq!(committed(0).as_deref(), Some("6"));

    for (bad, expected) in [
        (
            vec!["--to-datetime", "yesterday"],
            "Invalid --to-datetime 'yesterday'",
        ),
        (vec!["--by-duration", "1h"], "Invalid --by-duration '1h'"),
        (vec!["--shift-by", "1", "--to-latest"], "exactly one of"),
        (
            vec!["--to-latest", "--execute"],
            "only accepts one of [execute] and [dry-run]",
        ),
    ] {
        let (ok, _, err) = reset(&bad, false);
        assert!(!ok && err.contains(expected), "{bad:?}: {err}");
    }
    let (ok, _, err) = consumer_groups_tool(&[
        "--bootstrap-server",
        &b,
        "--reset-offsets",
        "--group",
        "nobody",
        "--topic",
        "timed",
        "--shift-by",
        "1",
    ]);
    assert!(
        !ok && err.contains(
            "Cannot shift offset for partition timed-0 since there is no current committed offset"
        ),
        "{err}"
    );
}
