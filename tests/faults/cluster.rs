//! The cluster the fault-injection suite runs against: this test binary's
//! own ZooKeeper server (the nemesis may crash and restart it), three
//! brokers, each reaching ZooKeeper through its own [`ZkProxy`] and reached
//! by the other brokers through a delay-capable [`TcpProxy`] in front of its
//! INTERNAL listener (advertised at the proxy's port,
//! `inter.broker.listener.name=INTERNAL`); clients use the EXTERNAL listener
//! directly. Killing, freezing, stopping and restarting a broker as an
//! operator would, and what the nemesis reads (controller, leaders).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitStatus;
use std::time::Duration;

use crate::common::cluster::create_replicated_topic;
use crate::common::cluster_view::{controller, fetch_metadata, partition_state};
use crate::common::{
    BROKER_START_TIMEOUT, Broker, BrokerSpec, Direction, TcpProxy, TestCluster, ZkProxy, free_port,
    unique_chroot, wait_until_ok, zk, zookeeper,
};

/// The brokers' ids.
pub const BROKERS: [i32; 3] = [1, 2, 3];
/// `zookeeper.session.timeout.ms` of every broker.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// How long a dead broker's registration may take to vanish (its session
/// expires) before it is restarted.
const REGISTRATION_EXPIRY_TIMEOUT: Duration = Duration::from_secs(40);

/// Broker settings: short failure detection (as the failover tests use),
/// automatic preferred-leader elections every 20 s (Kafka's default is on,
/// every 300 s), unclean election off (the default).
const BROKER_SETTINGS: &[(&str, &str)] = &[
    ("zookeeper.session.timeout.ms", "6000"),
    ("replica.lag.time.max.ms", "4000"),
    ("replica.fetch.wait.max.ms", "200"),
    ("controller.socket.timeout.ms", "5000"),
    ("controlled.shutdown.retry.backoff.ms", "500"),
    ("auto.leader.rebalance.enable", "true"),
    ("leader.imbalance.check.interval.seconds", "20"),
    ("default.replication.factor", "3"),
    ("min.insync.replicas", "2"),
    ("unclean.leader.election.enable", "false"),
    (
        "listener.security.protocol.map",
        "EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT",
    ),
    ("inter.broker.listener.name", "INTERNAL"),
];

/// What the nemesis did to a broker's process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Running,
    /// SIGSTOPped.
    Paused,
    /// Killed or stopped, not restarted yet.
    Down,
}

/// The proxies of one broker.
pub struct Links {
    /// Between the broker and ZooKeeper.
    pub zk: ZkProxy,
    /// In front of its INTERNAL listener: every other broker's requests to it
    /// (fetches, the controller's requests) pass here.
    pub internal: TcpProxy,
}

pub struct FaultCluster {
    /// The brokers, in id order; `cluster.chroot` is the cluster's chroot.
    pub cluster: TestCluster,
    links: Vec<Links>,
    liveness: Vec<Liveness>,
    pub topic: String,
    pub partitions: i32,
}

impl FaultCluster {
    /// Starts the three brokers and creates `topic` (RF 3,
    /// min.insync.replicas=2, `partitions` partitions), waiting until every
    /// partition has its full ISR.
    pub fn start(name: &str, topic: &str, partitions: i32) -> FaultCluster {
        let chroot = unique_chroot(name);
        let zk_port = zookeeper().port();
        let mut links = Vec::new();
        let mut brokers = Vec::new();
        for id in BROKERS {
            let zk_link = ZkProxy::start(zk_port);
            let (external, internal) = (free_port(), free_port());
            let internal_link = TcpProxy::start(internal);
            let mut spec = BrokerSpec::new(id, zk_link.connect_string(&chroot))
                .set(
                    "listeners",
                    format!("EXTERNAL://127.0.0.1:{external},INTERNAL://127.0.0.1:{internal}"),
                )
                .set(
                    "advertised.listeners",
                    format!(
                        "EXTERNAL://127.0.0.1:{external},INTERNAL://127.0.0.1:{}",
                        internal_link.port()
                    ),
                );
            for (k, v) in BROKER_SETTINGS {
                spec = spec.set(k, v);
            }
            spec.port = Some(external);
            brokers.push(Broker::spawn(spec));
            links.push(Links {
                zk: zk_link,
                internal: internal_link,
            });
        }
        let mut fc = FaultCluster {
            cluster: TestCluster { chroot, brokers },
            links,
            liveness: vec![Liveness::Running; BROKERS.len()],
            topic: topic.to_owned(),
            partitions,
        };
        for id in BROKERS {
            fc.broker(id).wait_ready();
            fc.wait_registered(id, None)
                .unwrap_or_else(|e| panic!("start-up: {e}"));
        }
        // Every broker knows every broker and the controller before a client
        // asks (librdkafka's admin client otherwise may wait minutes for a
        // controller it was told is unknown).
        let ports: Vec<u16> = BROKERS.iter().map(|&id| fc.broker(id).port()).collect();
        wait_until_ok(
            "every broker's Metadata to list all brokers and a controller",
            BROKER_START_TIMEOUT,
            || {
                ports
                    .iter()
                    .map(|&port| match fetch_metadata(port, &[]) {
                        Ok(m) if m.controller >= 0 && m.brokers.len() == BROKERS.len() => Ok(()),
                        Ok(m) => Err(format!(
                            "port {port}: controller {}, brokers {:?}",
                            m.controller, m.brokers
                        )),
                        Err(e) => Err(e),
                    })
                    .collect::<Result<Vec<()>, String>>()
            },
        );
        create_replicated_topic(
            &fc.cluster,
            &BROKERS,
            topic,
            partitions,
            3,
            &[("min.insync.replicas", "2")],
        );
        fc
    }

    fn index(id: i32) -> usize {
        BROKERS
            .iter()
            .position(|&b| b == id)
            .unwrap_or_else(|| panic!("no broker {id}"))
    }

    pub fn chroot(&self) -> &str {
        &self.cluster.chroot
    }

    pub fn broker(&mut self, id: i32) -> &mut Broker {
        self.cluster.broker(id)
    }

    pub fn links(&self, id: i32) -> &Links {
        &self.links[Self::index(id)]
    }

    pub fn liveness(&self, id: i32) -> Liveness {
        self.liveness[Self::index(id)]
    }

    /// The brokers running and not frozen.
    pub fn live(&self) -> Vec<i32> {
        BROKERS
            .into_iter()
            .filter(|&id| self.liveness(id) == Liveness::Running)
            .collect()
    }

    /// Every broker's EXTERNAL address (clients bootstrap from all three).
    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap()
    }

    /// The broker in `/controller`, if any.
    pub fn controller(&self) -> Option<i32> {
        controller(self.chroot())
    }

    /// The leader of partition `p` in its state znode (-1: none).
    pub fn leader_of(&self, p: i32) -> Option<i32> {
        partition_state(self.chroot(), &self.topic, p).map(|s| s.leader)
    }

    /// (leader, ISR) of partition `p` in its state znode.
    pub fn state_of(&self, p: i32) -> Option<(i32, Vec<i32>)> {
        partition_state(self.chroot(), &self.topic, p).map(|s| (s.leader, s.isr))
    }

    /// SIGKILL.
    pub fn kill(&mut self, id: i32) {
        self.broker(id).kill();
        self.liveness[Self::index(id)] = Liveness::Down;
    }

    /// SIGTERM and wait for the clean shutdown; its exit status, or what went
    /// wrong (it did not exit in time and was killed).
    pub fn terminate(&mut self, id: i32) -> Result<ExitStatus, String> {
        let result = catch(|| self.broker(id).terminate());
        self.liveness[Self::index(id)] = Liveness::Down;
        result
    }

    /// SIGSTOP.
    pub fn pause(&mut self, id: i32) {
        self.broker(id).pause();
        self.liveness[Self::index(id)] = Liveness::Paused;
    }

    /// SIGCONT.
    pub fn resume(&mut self, id: i32) {
        self.broker(id).resume();
        self.liveness[Self::index(id)] = Liveness::Running;
    }

    /// Starts a stopped broker again as an operator would: waits for the dead
    /// process's registration to expire, starts it with the same config and
    /// data, and waits until it listens and a new session registered it.
    pub fn restart(&mut self, id: i32) -> Result<(), String> {
        let path = format!("/brokers/ids/{id}");
        let zk = zk(self.chroot());
        let gone = catch(|| {
            wait_until_ok(
                &format!("the old registration of broker {id} to expire"),
                REGISTRATION_EXPIRY_TIMEOUT,
                || match zk.ephemeral_owner(&path) {
                    None => Ok(()),
                    Some(owner) => Err(format!("owned by session {owner:#x}")),
                },
            )
        });
        gone?;
        catch(|| self.broker(id).restart())?;
        self.liveness[Self::index(id)] = Liveness::Running;
        self.wait_registered(id, None)
    }

    /// Waits until `/brokers/ids/<id>` is owned by a session other than
    /// `old_owner`.
    fn wait_registered(&self, id: i32, old_owner: Option<i64>) -> Result<(), String> {
        let path = format!("/brokers/ids/{id}");
        let zk = zk(self.chroot());
        catch(|| {
            wait_until_ok(
                &format!("broker {id} to register in ZooKeeper"),
                BROKER_START_TIMEOUT,
                || match zk.ephemeral_owner(&path) {
                    Some(owner) if owner != 0 && Some(owner) != old_owner => Ok(()),
                    other => Err(format!("registration owner {other:?}")),
                },
            )
        })
    }

    /// Undoes every network fault: proxies restored and disarmed, no delays.
    pub fn heal_network(&self) {
        for links in &self.links {
            links.zk.disarm();
            links.zk.restore();
            links.internal.restore();
            links
                .internal
                .set_delay(Direction::ToTarget, Duration::ZERO);
            links
                .internal
                .set_delay(Direction::FromTarget, Duration::ZERO);
        }
    }

    /// Brings every broker back: frozen ones resumed, stopped ones restarted.
    pub fn heal_processes(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        for id in BROKERS {
            match self.liveness(id) {
                Liveness::Running => {}
                Liveness::Paused => self.resume(id),
                Liveness::Down => {
                    if let Err(e) = self.restart(id) {
                        problems.push(format!("broker {id} did not come back: {e}"));
                    }
                }
            }
        }
        problems
    }

    /// The partitions of the topic.
    pub fn partition_ids(&self) -> impl Iterator<Item = i32> {
        0..self.partitions
    }
}

/// Runs `f`, turning a panic (the harness's way of failing) into an error
/// with its message, so that one failed step is reported instead of ending
/// the run.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}
