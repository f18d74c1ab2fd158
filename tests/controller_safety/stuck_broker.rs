//! Finding 6: a broker that stays registered in ZooKeeper but never answers
//! (a hung request path, a half-open network) must not stop the controller.
//! A fake broker 99 is registered with a port that accepts TCP connections
//! and never replies; enough controller events follow to fill its queue
//! many times; then a real partition leader is killed and a new leader must
//! still be elected and announced.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::cluster::*;
use crate::common::cluster_view::*;
use crate::common::*;

/// Events sent to the stuck broker: more than the controller's per-broker
/// queue bound (256 requests) several times over, and more than the 1024
/// of the old bounded channel that blocked the event loop.
const EVENTS: usize = 1100;

/// How long one event may take the controller (ZooKeeper round trips).
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

/// A TCP port that accepts connections and never answers (it reads and
/// discards what arrives). At most `MAX_CONNECTIONS` are kept.
struct SilentListener {
    port: u16,
    stop: Arc<AtomicBool>,
}

const MAX_CONNECTIONS: usize = 64;

impl SilentListener {
    fn start() -> SilentListener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        thread::spawn(move || {
            let mut held = 0;
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                if held >= MAX_CONNECTIONS {
                    continue;
                }
                held += 1;
                thread::spawn(move || {
                    let mut sink = [0u8; 4096];
                    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
                });
            }
        });
        SilentListener { port, stop }
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Kafka's registration JSON for a broker on 127.0.0.1:`port`.
fn registration(port: u16) -> String {
    format!(
        r#"{{"listener_security_protocol_map":{{"PLAINTEXT":"PLAINTEXT"}},"endpoints":["PLAINTEXT://127.0.0.1:{port}"],"jmx_port":-1,"features":{{}},"host":"127.0.0.1","timestamp":"{}","port":{port},"version":5}}"#,
        now_ms()
    )
}

#[test]
fn a_registered_broker_that_never_answers_does_not_stop_the_controller() {
    let topic = "stuck";
    let mut cluster = start_cluster("stuck-broker", &[]);
    let initial = create_replicated_topic(&cluster, &ALL, topic, 1, 3, &[]);
    let leader = initial[&0].leader;

    // Broker 99: registered (its own ZooKeeper session), never answers.
    let silent = SilentListener::start();
    let session = Zk::new_session(&cluster.chroot);
    session.create_ephemeral("/brokers/ids/99", registration(silent.port).as_bytes());
    wait_until_ok(
        "every broker's metadata to list broker 99",
        AGREEMENT_TIMEOUT,
        || {
            for id in ALL {
                let meta = fetch_metadata(port_of(&cluster, id), &[topic])?;
                if !meta.brokers.contains(&99) {
                    return Err(format!("broker {id} lists {:?}", meta.brokers));
                }
            }
            Ok(())
        },
    );

    // Controller events, one at a time: each ISR change notification makes
    // the controller send UpdateMetadata to every live broker, 99 included,
    // and delete the notification once handled.
    let started = Instant::now();
    controller_events(&cluster, topic, 0, EVENTS);
    eprintln!(
        "{EVENTS} controller events handled in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A real leader dies: its partition still gets a new leader, and every
    // live broker learns it.
    cluster.broker(leader).kill();
    let live = others(&[leader]);
    let state = wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("a new leader after broker {leader} died"),
        FAILOVER_TIMEOUT,
        |s| live.contains(&s.leader),
    );
    wait_until_ok(
        "the live brokers' metadata to show the new leader",
        AGREEMENT_TIMEOUT,
        || {
            for &id in &live {
                let meta = fetch_metadata(port_of(&cluster, id), &[topic])?;
                let p = meta.partitions.get(&(topic.to_owned(), 0));
                if p.map(|p| p.leader) != Some(state.leader) {
                    return Err(format!("broker {id}: {p:?}"));
                }
            }
            Ok(())
        },
    );
    drop(session);
}

/// Events enough to overflow one broker's queue (256 requests) once.
const OVERFLOW_EVENTS: usize = 300;

/// Sends `count` ISR change notifications for `topic`-0, one at a time,
/// each waited for until the controller handled (deleted) it.
fn controller_events(cluster: &TestCluster, topic: &str, first: usize, count: usize) {
    let zk = zk(&cluster.chroot);
    let notification =
        format!(r#"{{"version":1,"partitions":[{{"topic":"{topic}","partition":0}}]}}"#);
    for i in first..first + count {
        let path = format!("/isr_change_notification/isr_change_{i:010}");
        zk.create(&path, notification.as_bytes());
        wait_until(
            &format!("the controller to handle ISR change notification {i}"),
            EVENT_TIMEOUT,
            || (!zk.exists(&path)).then_some(()),
        );
    }
}

#[test]
fn a_broker_whose_queue_was_dropped_gets_its_full_state_once_it_answers() {
    // Long sessions: the frozen broker stays registered (a slow broker,
    // not a dead one).
    let mut cluster = start_cluster("stuck-resync", &[("zookeeper.session.timeout.ms", "30000")]);
    create_replicated_topic(&cluster, &ALL, "busy", 1, 3, &[]);
    let controller = wait_until("a controller", FAILOVER_TIMEOUT, || {
        controller(&cluster.chroot)
    });
    let frozen = *others(&[controller]).first().unwrap();
    let live = others(&[frozen]);

    cluster.broker(frozen).pause();
    // A topic the frozen broker is told about only in requests that its
    // overflowing queue then drops.
    let request = kafka_protocol::messages::CreateTopicsRequest::default()
        .with_topics(vec![assigned_topic("late", &[&[controller]])])
        .with_timeout_ms(30_000);
    let response = send_request(cluster.broker(controller), 7, &request);
    assert_eq!(response.topics[0].error_code, 0, "CreateTopics late");
    wait_for_state(
        &cluster.chroot,
        "late",
        0,
        "a leader",
        FAILOVER_TIMEOUT,
        |s| live.contains(&s.leader),
    );
    controller_events(&cluster, "busy", 0, OVERFLOW_EVENTS);
    cluster.broker(frozen).resume();

    wait_until_ok(
        &format!("broker {frozen}'s metadata to list the topic created while it was frozen"),
        AGREEMENT_TIMEOUT,
        || {
            let meta = fetch_metadata(port_of(&cluster, frozen), &["late"])?;
            match meta.partitions.get(&("late".to_owned(), 0)) {
                Some(p) if live.contains(&p.leader) => Ok(()),
                other => Err(format!("late-0: {other:?}")),
            }
        },
    );
    // The request in flight when the queue overflowed may bring the topic
    // before the resync marker is reached: wait for the resync itself.
    wait_until(
        &format!("the controller to resync broker {frozen}"),
        AGREEMENT_TIMEOUT,
        || {
            cluster
                .broker(controller)
                .log_text()
                .contains("sending it its full state")
                .then_some(())
        },
    );
}
