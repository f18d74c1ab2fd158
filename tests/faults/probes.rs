//! What the checker watches while the faults run: the group's committed
//! offsets as ZooKeeper holds them (`/consumers/<g>/offsets/<t>/<p>`, read
//! every [`OFFSET_POLL_INTERVAL`] on a direct session of its own, so the
//! brokers' proxies do not affect it), and which brokers claim to coordinate
//! the group (DescribeGroups to every broker every [`COORDINATOR_PROBE_INTERVAL`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, DescribeGroupsRequest, DescribeGroupsResponse, GroupId};
use sluice::zk::{ZkClient, ZkConfig};

use crate::common::{RawConn, str_bytes};

pub const OFFSET_POLL_INTERVAL: Duration = Duration::from_millis(200);
pub const COORDINATOR_PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// How long one DescribeGroups may take (a frozen broker never answers).
const PROBE_IO_TIMEOUT: Duration = Duration::from_secs(1);

/// COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR:
/// the answers of a broker that does not coordinate the group.
pub const NOT_CLAIMING: [i16; 3] = [14, 15, 16];

/// A committed offset that went down.
#[derive(Clone, Debug)]
pub struct BackwardsCommit {
    pub at: Instant,
    pub partition: i32,
    pub from: i64,
    pub to: i64,
}

/// What the offset poller saw.
#[derive(Debug, Default)]
pub struct OffsetHistory {
    pub polls: u64,
    pub failed_polls: u64,
    pub backwards: Vec<BackwardsCommit>,
    /// The last committed offset of each partition.
    pub last: BTreeMap<i32, i64>,
    /// How many times each partition's committed offset changed.
    pub changes: u64,
}

pub struct OffsetPoller {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<OffsetHistory>>,
}

impl OffsetPoller {
    /// Polls the committed offsets of `group` for `topic`'s partitions under
    /// `zk_connect` (servers and chroot).
    pub fn start(zk_connect: &str, group: &str, topic: &str, partitions: i32) -> OffsetPoller {
        let stop = Arc::new(AtomicBool::new(false));
        let paths: Vec<(i32, String)> = (0..partitions)
            .map(|p| (p, format!("/consumers/{group}/offsets/{topic}/{p}")))
            .collect();
        let (connect, thread_stop) = (zk_connect.to_owned(), stop.clone());
        let thread = thread::Builder::new()
            .name("faults-offsets".into())
            .spawn(move || poll_offsets(&connect, &paths, &thread_stop))
            .expect("start the offset poller");
        OffsetPoller {
            stop,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) -> OffsetHistory {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .expect("poller thread")
            .join()
            .expect("the offset poller panicked")
    }
}

fn poll_offsets(connect: &str, paths: &[(i32, String)], stop: &AtomicBool) -> OffsetHistory {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cfg = ZkConfig {
        connect: connect.to_owned(),
        session_timeout_ms: 30_000,
        connection_timeout_ms: 10_000,
    };
    let client: ZkClient = runtime
        .block_on(ZkClient::connect(cfg))
        .unwrap_or_else(|e| panic!("offset poller: connect to ZooKeeper: {e}"));
    let just_paths: Vec<String> = paths.iter().map(|(_, path)| path.clone()).collect();
    let mut history = OffsetHistory::default();
    while !stop.load(Ordering::SeqCst) {
        thread::sleep(OFFSET_POLL_INTERVAL);
        let read = runtime.block_on(client.get_data_many(&just_paths));
        let at = Instant::now();
        let Ok(values) = read else {
            history.failed_polls += 1;
            continue;
        };
        history.polls += 1;
        for ((partition, _), value) in paths.iter().zip(values) {
            let Some(offset) = value
                .and_then(|(data, _)| String::from_utf8_lossy(&data).trim().parse::<i64>().ok())
            else {
                continue;
            };
            match history.last.insert(*partition, offset) {
                Some(before) if offset < before => history.backwards.push(BackwardsCommit {
                    at,
                    partition: *partition,
                    from: before,
                    to: offset,
                }),
                Some(before) if offset != before => history.changes += 1,
                _ => {}
            }
        }
    }
    runtime.block_on(client.close());
    history
}

/// A broker's answer to one DescribeGroups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It answered for the group (without one of [`NOT_CLAIMING`]): it
    /// claims to coordinate it.
    Claims { state: String, members: usize },
    /// NOT_COORDINATOR & co. (the error code).
    Refuses(i16),
    /// No answer (down, frozen, or the connection failed).
    Unreachable,
}

/// One DescribeGroups: sent, answered (or given up), and what it said.
#[derive(Clone, Debug)]
pub struct Probe {
    pub sent: Instant,
    pub received: Instant,
    pub answer: Answer,
}

pub struct CoordinatorProbe {
    stop: Arc<AtomicBool>,
    threads: Vec<(i32, thread::JoinHandle<Vec<Probe>>)>,
}

impl CoordinatorProbe {
    /// Probes each broker (`(id, port)`) about `group` on a thread of its own.
    pub fn start(brokers: &[(i32, u16)], group: &str) -> CoordinatorProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = brokers
            .iter()
            .map(|&(id, port)| {
                let (stop, group) = (stop.clone(), group.to_owned());
                let handle = thread::Builder::new()
                    .name(format!("faults-probe-{id}"))
                    .spawn(move || probe_loop(port, &group, &stop))
                    .expect("start a coordinator probe");
                (id, handle)
            })
            .collect();
        CoordinatorProbe { stop, threads }
    }

    /// Broker id -> its probes, in time order.
    pub fn finish(self) -> BTreeMap<i32, Vec<Probe>> {
        self.stop.store(true, Ordering::SeqCst);
        self.threads
            .into_iter()
            .map(|(id, h)| (id, h.join().expect("a coordinator probe panicked")))
            .collect()
    }
}

fn probe_loop(port: u16, group: &str, stop: &AtomicBool) -> Vec<Probe> {
    let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(str_bytes(group))]);
    let mut conn: Option<RawConn> = None;
    let mut probes = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        if conn.is_none() {
            conn = RawConn::open(port, PROBE_IO_TIMEOUT).ok();
        }
        let answer = match conn
            .as_mut()
            .map(|c| c.send::<_, DescribeGroupsResponse>(ApiKey::DescribeGroups, 1, &request))
        {
            Some(Ok(response)) => match response.groups.first() {
                Some(g) if NOT_CLAIMING.contains(&g.error_code) => Answer::Refuses(g.error_code),
                // Any other answer, error or not, is an answer for the group.
                Some(g) => Answer::Claims {
                    state: format!("{} (error {})", g.group_state, g.error_code),
                    members: g.members.len(),
                },
                None => Answer::Unreachable,
            },
            _ => {
                conn = None;
                Answer::Unreachable
            }
        };
        let received = Instant::now();
        probes.push(Probe {
            sent,
            received,
            answer,
        });
        if let Some(rest) = COORDINATOR_PROBE_INTERVAL.checked_sub(received - sent) {
            thread::sleep(rest);
        }
    }
    probes
}
