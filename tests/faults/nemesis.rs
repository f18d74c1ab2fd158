//! The nemesis: a schedule of faults drawn from a seeded RNG (every kind
//! once per round, in a shuffled order; targets, durations and variants
//! drawn up front, so one seed gives one schedule), and the code that
//! injects each fault, holds it, heals it and measures the recovery.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::cluster::{BROKERS, FaultCluster, Liveness, SESSION_TIMEOUT, catch};
use crate::common::cluster_view::fetch_metadata;
use crate::common::{
    AfterFire, Direction, Fired, WriteTrigger, wait_until_ok, zk, zk_proxy, zookeeper,
};
use crate::report::{FaultRecord, Timeline};
use crate::workload::Producer;

/// How long the cluster may take, after a fault is healed, until every
/// partition is led by a live broker in every live broker's metadata and
/// the producer is acknowledged on every partition again.
pub const RECOVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an armed ZooKeeper proxy may wait for the write it targets.
const TRIGGER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a partition with two of its three replicas alive may take to
/// take writes again after its leader's lost ISR update.
const AVAILABILITY_TIMEOUT: Duration = Duration::from_secs(30);

/// The partition of a `.../partitions/<p>/state` path.
pub fn partition_of(path: &str) -> Option<i32> {
    let mut parts = path.rsplit('/');
    (parts.next()? == "state").then_some(())?;
    parts.next()?.parse().ok()
}

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// SIGKILL the leader of a partition, restart it.
    KillLeader,
    /// SIGKILL the controller, restart it.
    KillController,
    /// SIGKILL a broker, restart it.
    KillBroker,
    /// SIGSTOP a broker past its ZooKeeper session, then SIGCONT.
    PauseBroker,
    /// SIGTERM (controlled shutdown) a broker, restart it.
    TerminateBroker,
    /// Cut a broker's ZooKeeper link, restore it.
    ZkCut,
    /// Cut a partition leader's ZooKeeper link right after its ISR update
    /// (setData of a partition state znode) is applied, before the reply.
    ZkCutAfterIsrWrite,
    /// Cut the controller's ZooKeeper link right after a partition-state
    /// multi (an election) is applied, before the reply.
    ZkCutAfterControllerMulti,
    /// Crash the ZooKeeper server (SIGKILL), start it again.
    ZkRestart,
    /// Delay everything sent into one broker's INTERNAL listener.
    SlowLink,
}

impl FaultKind {
    pub const ALL: [FaultKind; 10] = [
        FaultKind::KillLeader,
        FaultKind::KillController,
        FaultKind::KillBroker,
        FaultKind::PauseBroker,
        FaultKind::TerminateBroker,
        FaultKind::ZkCut,
        FaultKind::ZkCutAfterIsrWrite,
        FaultKind::ZkCutAfterControllerMulti,
        FaultKind::ZkRestart,
        FaultKind::SlowLink,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillLeader => "kill-leader",
            FaultKind::KillController => "kill-controller",
            FaultKind::KillBroker => "kill-broker",
            FaultKind::PauseBroker => "pause-broker",
            FaultKind::TerminateBroker => "terminate-broker",
            FaultKind::ZkCut => "zk-cut",
            FaultKind::ZkCutAfterIsrWrite => "zk-cut-after-isr-write",
            FaultKind::ZkCutAfterControllerMulti => "zk-cut-after-controller-multi",
            FaultKind::ZkRestart => "zk-restart",
            FaultKind::SlowLink => "slow-link",
        }
    }

    pub fn from_name(name: &str) -> Option<FaultKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One scheduled fault with everything random about it drawn already.
#[derive(Clone, Debug)]
pub struct FaultPlan {
    pub kind: FaultKind,
    /// Picks the target among the candidates (modulo their number).
    pub pick: u32,
    /// How long the fault is held before it is healed.
    pub hold: Duration,
    /// For the link faults: the delay; for the write-triggered cuts: how
    /// long the link stays cut after firing (zero: the broker may reconnect
    /// at once).
    pub delay: Duration,
    /// Normal operation after the recovery, before the next fault.
    pub quiet: Duration,
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (pick {}, hold {:.1} s",
            self.kind,
            self.pick,
            self.hold.as_secs_f64()
        )?;
        if !self.delay.is_zero() {
            write!(f, ", {} ms", self.delay.as_millis())?;
        }
        write!(f, ")")
    }
}

/// `n` faults of `kinds` from `seed`: rounds of every kind once, shuffled.
pub fn schedule(seed: u64, n: usize, kinds: &[FaultKind]) -> Vec<FaultPlan> {
    assert!(!kinds.is_empty(), "no fault kinds to draw from");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut plans = Vec::with_capacity(n);
    while plans.len() < n {
        let mut round = kinds.to_vec();
        round.shuffle(&mut rng);
        for kind in round.into_iter().take(n - plans.len()) {
            let ms = |rng: &mut StdRng, lo: u64, hi: u64| {
                Duration::from_millis(rng.random_range(lo..=hi))
            };
            let (hold, delay) = match kind {
                FaultKind::PauseBroker => (
                    SESSION_TIMEOUT + ms(&mut rng, 1_000, 4_000),
                    ms(&mut rng, 0, 0),
                ),
                FaultKind::TerminateBroker => (ms(&mut rng, 0, 3_000), Duration::ZERO),
                FaultKind::ZkCut => (ms(&mut rng, 2_000, 12_000), Duration::ZERO),
                FaultKind::ZkCutAfterIsrWrite | FaultKind::ZkCutAfterControllerMulti => {
                    let stay_cut = if rng.random_bool(0.5) {
                        ms(&mut rng, 1_000, 8_000)
                    } else {
                        Duration::ZERO
                    };
                    (ms(&mut rng, 0, 2_000), stay_cut)
                }
                FaultKind::ZkRestart => (ms(&mut rng, 1_000, 8_000), Duration::ZERO),
                FaultKind::SlowLink => (ms(&mut rng, 5_000, 15_000), ms(&mut rng, 100, 1_500)),
                _ => (ms(&mut rng, 1_000, 6_000), Duration::ZERO),
            };
            plans.push(FaultPlan {
                kind,
                pick: rng.random_range(0..1_000_000),
                hold,
                delay,
                quiet: ms(&mut rng, 1_000, 3_000),
            });
        }
    }
    plans
}

/// Runs faults against the cluster while the workload runs.
pub struct Nemesis<'a> {
    pub fc: &'a mut FaultCluster,
    pub producer: &'a Producer,
    pub timeline: &'a mut Timeline,
}

impl Nemesis<'_> {
    /// Injects, holds and heals `plan` (fault number `index`), then waits for
    /// the recovery; returns the record.
    pub fn run(&mut self, index: usize, plan: &FaultPlan) -> FaultRecord {
        let mut record = FaultRecord::new(index, plan.kind, self.timeline.now());
        self.timeline
            .log(format!("fault #{index} {plan}: injecting"));
        // After a fault the cluster did not recover from (SLUICE_FAULT_CONTINUE),
        // say so: this fault's own recovery may then fail for the old reason.
        let leftover = self.recovery_problems(record.injected - Duration::from_secs(5));
        if !leftover.is_empty() {
            self.note(
                &mut record,
                format!(
                    "injected while still not recovered: {}",
                    leftover.join("; ")
                ),
            );
        }
        self.inject_hold_heal(plan, &mut record);
        // Whatever the fault did, nothing of it may linger.
        self.fc.heal_network();
        if zookeeper().is_down() {
            zookeeper().start_again();
        }
        for problem in self.fc.heal_processes() {
            record.step_failed(problem);
        }
        let healed = Instant::now();
        record.healed = Some(healed);
        self.timeline.log(format!(
            "fault #{index} {}: healed ({})",
            plan.kind,
            record.notes.join("; ")
        ));
        for step in &record.failed_steps {
            self.timeline
                .log(format!("fault #{index}: FAILED STEP: {step}"));
        }
        match self.wait_recovered(healed, RECOVERY_TIMEOUT) {
            Ok(at) => {
                record.recovered = Some(at);
                self.timeline.log(format!(
                    "fault #{index} {}: recovered in {:.1} s",
                    plan.kind,
                    (at - healed).as_secs_f64()
                ));
            }
            Err(problems) => {
                self.timeline.log(format!(
                    "fault #{index} {}: NOT RECOVERED within {RECOVERY_TIMEOUT:?}:\n    {}",
                    plan.kind,
                    problems.join("\n    ")
                ));
                record.unrecovered = problems;
            }
        }
        record
    }

    fn note(&mut self, record: &mut FaultRecord, what: String) {
        self.timeline.log(format!("  {what}"));
        record.notes.push(what);
    }

    /// A live broker chosen by `pick`.
    fn pick_live(&self, pick: u32, except: &[i32]) -> Option<i32> {
        let live: Vec<i32> = self
            .fc
            .live()
            .into_iter()
            .filter(|b| !except.contains(b))
            .collect();
        (!live.is_empty()).then(|| live[pick as usize % live.len()])
    }

    /// The live leader of partition `pick % partitions`, else of the next one.
    fn pick_leader(&self, pick: u32) -> Option<(i32, i32)> {
        let n = self.fc.partitions;
        (0..n).map(|i| (pick as i32 + i) % n).find_map(|p| {
            let leader = self.fc.leader_of(p)?;
            (self.fc.liveness(leader) == Liveness::Running && BROKERS.contains(&leader))
                .then_some((p, leader))
        })
    }

    fn kill_and_restart(
        &mut self,
        record: &mut FaultRecord,
        target: i32,
        why: &str,
        hold: Duration,
    ) {
        self.fc.kill(target);
        self.note(record, format!("SIGKILL broker {target} ({why})"));
        thread::sleep(hold);
        match self.fc.restart(target) {
            Ok(()) => self.note(record, format!("broker {target} restarted")),
            Err(e) => record.step_failed(format!("restart of broker {target}: {e}")),
        }
    }

    fn inject_hold_heal(&mut self, plan: &FaultPlan, record: &mut FaultRecord) {
        let topic = self.fc.topic.clone();
        match plan.kind {
            FaultKind::KillLeader => match self.pick_leader(plan.pick) {
                Some((p, leader)) => self.kill_and_restart(
                    record,
                    leader,
                    &format!("leader of {topic}-{p}"),
                    plan.hold,
                ),
                None => record.step_failed("no partition has a live leader to kill".into()),
            },
            FaultKind::KillController => match self.fc.controller() {
                Some(c) if self.fc.liveness(c) == Liveness::Running => {
                    self.kill_and_restart(record, c, "the controller", plan.hold)
                }
                other => record.step_failed(format!("no live controller to kill ({other:?})")),
            },
            FaultKind::KillBroker => {
                if let Some(target) = self.pick_live(plan.pick, &[]) {
                    self.kill_and_restart(record, target, "a random broker", plan.hold);
                }
            }
            FaultKind::PauseBroker => {
                if let Some(target) = self.pick_live(plan.pick, &[]) {
                    let role = self.role(target);
                    self.fc.pause(target);
                    self.note(record, format!("SIGSTOP broker {target}{role}"));
                    thread::sleep(plan.hold);
                    self.fc.resume(target);
                    self.note(record, format!("SIGCONT broker {target}"));
                }
            }
            FaultKind::TerminateBroker => {
                if let Some(target) = self.pick_live(plan.pick, &[]) {
                    let role = self.role(target);
                    match self.fc.terminate(target) {
                        Ok(status) if status.success() => {
                            self.note(record, format!("SIGTERM broker {target}{role}: exited 0"))
                        }
                        Ok(status) => record.step_failed(format!(
                            "SIGTERM broker {target}{role}: exited with {status}"
                        )),
                        Err(e) => record.step_failed(format!("SIGTERM broker {target}{role}: {e}")),
                    }
                    thread::sleep(plan.hold);
                    match self.fc.restart(target) {
                        Ok(()) => self.note(record, format!("broker {target} restarted")),
                        Err(e) => record.step_failed(format!("restart of broker {target}: {e}")),
                    }
                }
            }
            FaultKind::ZkCut => {
                if let Some(target) = self.pick_live(plan.pick, &[]) {
                    let role = self.role(target);
                    self.fc.links(target).zk.cut();
                    self.note(
                        record,
                        format!("cut broker {target}'s ZooKeeper link{role}"),
                    );
                    thread::sleep(plan.hold);
                    self.fc.links(target).zk.restore();
                    self.note(record, format!("restored broker {target}'s ZooKeeper link"));
                }
            }
            FaultKind::ZkCutAfterIsrWrite => self.cut_after_isr_write(plan, record, &topic),
            FaultKind::ZkCutAfterControllerMulti => {
                self.cut_after_controller_multi(plan, record, &topic)
            }
            FaultKind::ZkRestart => {
                zookeeper().kill();
                self.note(record, "SIGKILL the ZooKeeper server".into());
                thread::sleep(plan.hold);
                zookeeper().start_again();
                self.note(record, "ZooKeeper started again".into());
                // The harness's own session (which the nemesis reads
                // through) reconnects too.
                let chroot = self.fc.chroot().to_owned();
                if let Err(e) = catch(|| {
                    wait_until_ok(
                        "the test's ZooKeeper session to reconnect",
                        RECOVERY_TIMEOUT,
                        || catch(|| zk(&chroot).exists("/brokers/ids")),
                    )
                }) {
                    record.step_failed(e);
                }
            }
            FaultKind::SlowLink => {
                if let Some(target) = self.pick_live(plan.pick, &[]) {
                    let role = self.role(target);
                    let link = &self.fc.links(target).internal;
                    link.set_delay(Direction::ToTarget, plan.delay);
                    self.note(
                        record,
                        format!(
                            "delay {} ms into broker {target}'s INTERNAL listener{role}",
                            plan.delay.as_millis()
                        ),
                    );
                    thread::sleep(plan.hold);
                    self.fc
                        .links(target)
                        .internal
                        .set_delay(Direction::ToTarget, Duration::ZERO);
                    self.note(record, format!("delay into broker {target} removed"));
                }
            }
        }
    }

    /// " (the controller)" or "" for messages.
    fn role(&self, broker: i32) -> String {
        let leads: Vec<i32> = self
            .fc
            .partition_ids()
            .filter(|&p| self.fc.leader_of(p) == Some(broker))
            .collect();
        let controller = if self.fc.controller() == Some(broker) {
            "controller, "
        } else {
            ""
        };
        format!(" ({controller}leads partitions {leads:?})")
    }

    fn after_fire(plan: &FaultPlan) -> AfterFire {
        if plan.delay.is_zero() {
            AfterFire::Reconnect
        } else {
            AfterFire::StayCut
        }
    }

    /// Waits for the first of the armed proxies of `brokers` to fire (the
    /// others are disarmed); notes what fired; keeps that link cut for
    /// `plan.delay` if so planned.
    fn await_trigger(
        &mut self,
        record: &mut FaultRecord,
        brokers: &[i32],
        plan: &FaultPlan,
    ) -> Option<(i32, Fired)> {
        let deadline = Instant::now() + TRIGGER_TIMEOUT;
        let fired = loop {
            let fired = brokers
                .iter()
                .find_map(|&b| self.fc.links(b).zk.fired().map(|f| (b, f)));
            if fired.is_some() || Instant::now() >= deadline {
                break fired;
            }
            thread::sleep(Duration::from_millis(20));
        };
        for &b in brokers {
            self.fc.links(b).zk.disarm();
        }
        let Some((broker, f)) = fired else {
            self.note(
                record,
                format!(
                    "no such write on the links of brokers {brokers:?} within {TRIGGER_TIMEOUT:?}; disarmed"
                ),
            );
            return None;
        };
        self.note(
            record,
            format!(
                "dropped broker {broker}'s reply to {} of {:?} (zxid {:#x}) and cut its link",
                zk_proxy::op::name(f.op),
                f.paths,
                f.zxid
            ),
        );
        if !plan.delay.is_zero() {
            thread::sleep(plan.delay);
            self.fc.links(broker).zk.restore();
            self.note(record, format!("restored broker {broker}'s ZooKeeper link"));
        }
        Some((broker, f))
    }

    /// Arms a partition leader's link for its next ISR update, then freezes
    /// a follower so that the leader shrinks the ISR.
    fn cut_after_isr_write(&mut self, plan: &FaultPlan, record: &mut FaultRecord, topic: &str) {
        let n = self.fc.partitions;
        let choice = (0..n).map(|i| (plan.pick as i32 + i) % n).find_map(|p| {
            let (leader, isr) = self.fc.state_of(p)?;
            let follower = isr
                .iter()
                .copied()
                .find(|&b| b != leader && self.fc.liveness(b) == Liveness::Running)?;
            (self.fc.liveness(leader) == Liveness::Running).then_some((p, leader, follower))
        });
        let Some((p, leader, follower)) = choice else {
            record.step_failed("no partition with a live leader and follower".into());
            return;
        };
        let trigger = WriteTrigger::set_data(format!("/brokers/topics/{topic}/partitions/"));
        self.fc
            .links(leader)
            .zk
            .arm(trigger, Self::after_fire(plan));
        self.note(
            record,
            format!(
                "armed broker {leader}'s ZooKeeper link (leader of {topic}-{p}) for an ISR write"
            ),
        );
        self.fc.pause(follower);
        self.note(record, format!("SIGSTOP follower {follower}"));
        let fired = self.await_trigger(record, &[leader], plan);
        if let Some(q) = fired.and_then(|(_, f)| f.paths.first().and_then(|p| partition_of(p))) {
            self.await_available_without(record, q, follower);
        }
        thread::sleep(plan.hold);
        self.fc.resume(follower);
        self.note(record, format!("SIGCONT follower {follower}"));
    }

    /// With only `follower` down, partition `q` (whose ISR update by its
    /// leader was applied in ZooKeeper, reply lost) must take acks=all
    /// writes again: two live replicas meet min.insync.replicas=2 once the
    /// leader knows its shrunk ISR (Kafka's leader re-reads the znode and
    /// adopts its own write).
    fn await_available_without(&mut self, record: &mut FaultRecord, q: i32, follower: i32) {
        let topic = self.fc.topic.clone();
        let since = Instant::now();
        let deadline = since + AVAILABILITY_TIMEOUT;
        loop {
            let silent = self
                .producer
                .partitions_not_acked_since(since, self.fc.partitions);
            if !silent.contains(&q) {
                self.note(
                    record,
                    format!(
                        "{topic}-{q} acknowledged again {:.1} s after its leader's link was back \
                         (follower {follower} still down)",
                        since.elapsed().as_secs_f64()
                    ),
                );
                return;
            }
            if Instant::now() >= deadline {
                record.step_failed(format!(
                    "{topic}-{q} acknowledged nothing for {AVAILABILITY_TIMEOUT:?} after its leader's \
                     ISR update was applied and the leader reconnected, with only follower \
                     {follower} down (2 of 3 replicas alive, min.insync.replicas=2)"
                ));
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Arms the controller's link for its next partition-state multi, then
    /// kills a broker so that the controller elects new leaders.
    fn cut_after_controller_multi(
        &mut self,
        plan: &FaultPlan,
        record: &mut FaultRecord,
        topic: &str,
    ) {
        // The victim leads a partition, so its death needs an election; the
        // links of all the others are armed, since the controller may be the
        // victim (then its successor elects).
        let Some((p, victim)) = self.pick_leader(plan.pick) else {
            record.step_failed("no partition has a live leader to kill".into());
            return;
        };
        let armed: Vec<i32> = self
            .fc
            .live()
            .into_iter()
            .filter(|&b| b != victim)
            .collect();
        let trigger = WriteTrigger::multi(format!("/brokers/topics/{topic}/partitions/"));
        for &b in &armed {
            self.fc
                .links(b)
                .zk
                .arm(trigger.clone(), Self::after_fire(plan));
        }
        self.note(
            record,
            format!(
                "armed the ZooKeeper links of brokers {armed:?} (controller: {:?}) for a \
                 partition-state multi",
                self.fc.controller()
            ),
        );
        let role = self.role(victim);
        self.fc.kill(victim);
        self.note(
            record,
            format!("SIGKILL broker {victim}, leader of {topic}-{p}{role}"),
        );
        self.await_trigger(record, &armed, plan);
        thread::sleep(plan.hold);
        match self.fc.restart(victim) {
            Ok(()) => self.note(record, format!("broker {victim} restarted")),
            Err(e) => record.step_failed(format!("restart of broker {victim}: {e}")),
        }
    }

    /// What still keeps the cluster from having recovered since `since`:
    /// partitions without a live leader in some live broker's metadata, and
    /// partitions the producer got no acknowledgement on since.
    pub fn recovery_problems(&self, since: Instant) -> Vec<String> {
        let live = self.fc.live();
        let mut problems = Vec::new();
        for &id in &live {
            let port = self.fc.cluster.brokers[(id - 1) as usize].port();
            match fetch_metadata(port, &[&self.fc.topic]) {
                Ok(meta) => {
                    for p in self.fc.partition_ids() {
                        match meta.partitions.get(&(self.fc.topic.clone(), p)) {
                            Some(mp) if mp.error == 0 && live.contains(&mp.leader) => {}
                            Some(mp) => problems.push(format!(
                                "broker {id}'s metadata: {}-{p} leader {} (error {})",
                                self.fc.topic, mp.leader, mp.error
                            )),
                            None => problems
                                .push(format!("broker {id}'s metadata: no {}-{p}", self.fc.topic)),
                        }
                    }
                }
                Err(e) => problems.push(format!("broker {id}: Metadata failed: {e}")),
            }
        }
        let silent = self
            .producer
            .partitions_not_acked_since(since, self.fc.partitions);
        if !silent.is_empty() {
            let (sent, settled, errors, last_error) = self.producer.progress();
            problems.push(format!(
                "no acknowledgement since the heal on partitions {silent:?} \
                 ({sent} sent, {settled} settled, {errors} delivery errors, last: {last_error:?})"
            ));
        }
        problems
    }

    /// Waits until [`Nemesis::recovery_problems`] is empty; the instant it
    /// was, or the last problems after `timeout`.
    pub fn wait_recovered(
        &self,
        since: Instant,
        timeout: Duration,
    ) -> Result<Instant, Vec<String>> {
        let deadline = since + timeout;
        loop {
            let problems = self.recovery_problems(since);
            if problems.is_empty() {
                return Ok(Instant::now());
            }
            if Instant::now() >= deadline {
                return Err(problems);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}
