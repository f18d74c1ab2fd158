//! Plain value types shared by every room: broker ids, topic-partitions,
//! offsets, epochs, ZooKeeper versions and a partition's `LeaderAndIsr`.
//! Depends on nothing internal.

use std::fmt;

/// A broker's `broker.id`. `Debug` prints the bare number, so a logged ISR
/// or replica list reads `[1, 2, 3]` as before the newtype.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct BrokerId(pub i32);

impl fmt::Debug for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl BrokerId {
    /// A real broker id (not negative): -1 means "no broker" (an offline
    /// partition's leader), -2 a partition being deleted.
    pub fn is_valid(self) -> bool {
        self.0 >= 0
    }
}

impl From<i32> for BrokerId {
    fn from(id: i32) -> Self {
        BrokerId(id)
    }
}

impl From<BrokerId> for i32 {
    fn from(id: BrokerId) -> Self {
        id.0
    }
}

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A position in a partition's log (Kafka's offsets are signed 64-bit), as
/// a newtype so an offset is not mixed up with a count, a byte position or
/// a relative offset inside a batch. The wire, the files and the znodes
/// carry it as a bare `i64`: convert only there (`new`/`value`); serde keeps
/// the bare number (`#[serde(transparent)]`), and `Display` and `Debug`
/// print it. Arithmetic reads like the numbers: `offset + count` is an
/// offset, `last - first` is a count (`i64`).
/// `Default` is offset 0, the start of a new log.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Offset(i64);

impl Offset {
    /// No offset: Kafka's -1 (`UNKNOWN_OFFSET`, "nothing appended", "no
    /// committed offset").
    pub const UNKNOWN: Offset = Offset(-1);
    /// The first offset of a new log.
    pub const ZERO: Offset = Offset(0);
    /// The largest offset (`Long.MAX_VALUE`), an upper bound in lookups.
    pub const MAX: Offset = Offset(i64::MAX);

    pub const fn new(offset: i64) -> Self {
        Offset(offset)
    }

    /// The bare number, for the wire, the files and the znodes.
    pub const fn value(self) -> i64 {
        self.0
    }

    /// The offset after this one.
    pub fn next(self) -> Self {
        Offset(self.0.checked_add(1).expect("offset overflow"))
    }

    /// The offset before this one.
    pub fn prev(self) -> Self {
        Offset(self.0.checked_sub(1).expect("offset underflow"))
    }

    /// `count` offsets further on, `None` past `i64::MAX`.
    pub fn checked_add(self, count: i64) -> Option<Self> {
        self.0.checked_add(count).map(Offset)
    }

    /// `count` offsets further on, stopping at `i64::MAX`.
    pub fn saturating_add(self, count: i64) -> Self {
        Offset(self.0.saturating_add(count))
    }

    /// `count` offsets back, stopping at `i64::MIN`.
    pub fn saturating_sub(self, count: i64) -> Self {
        Offset(self.0.saturating_sub(count))
    }

    /// A real offset (not negative): the sentinels mean "none".
    pub fn is_known(self) -> bool {
        self.0 >= 0
    }
}

impl std::ops::Add<i64> for Offset {
    type Output = Offset;

    fn add(self, count: i64) -> Offset {
        Offset(self.0 + count)
    }
}

impl std::ops::AddAssign<i64> for Offset {
    fn add_assign(&mut self, count: i64) {
        self.0 += count;
    }
}

impl std::ops::Sub<i64> for Offset {
    type Output = Offset;

    fn sub(self, count: i64) -> Offset {
        Offset(self.0 - count)
    }
}

/// The distance between two offsets is a count, not an offset.
impl std::ops::Sub<Offset> for Offset {
    type Output = i64;

    fn sub(self, earlier: Offset) -> i64 {
        self.0 - earlier.0
    }
}

/// Keeps the formatter's flags, so `{:020}` still gives a segment file name.
impl fmt::Debug for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::str::FromStr for Offset {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Offset)
    }
}

/// The epoch of a partition's leadership, bumped by the controller on every
/// leader change. The wire, znodes and `leader-epoch-checkpoint` carry it as
/// a bare `i32`: convert only there (`new`/`get`, `From`); serde keeps the
/// bare number (`#[serde(transparent)]`), `Display` prints it, and so does
/// `Debug`, so a logged state reads `leader_epoch: 5` as before the newtype.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct LeaderEpoch(i32);

impl fmt::Debug for LeaderEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl LeaderEpoch {
    /// No epoch: Kafka's `UNDEFINED_EPOCH` / `NO_PARTITION_LEADER_EPOCH`
    /// (-1), also what a client sends to skip the epoch check.
    pub const UNDEFINED: LeaderEpoch = LeaderEpoch(-1);
    /// The epoch of a partition's first leader.
    pub const INITIAL: LeaderEpoch = LeaderEpoch(0);

    pub const fn new(epoch: i32) -> Self {
        LeaderEpoch(epoch)
    }

    /// The bare number, for the wire and the files.
    pub const fn get(self) -> i32 {
        self.0
    }

    /// The epoch after this one (a new leadership).
    pub fn next(self) -> Self {
        LeaderEpoch(self.0.checked_add(1).expect("leader epoch overflow"))
    }

    /// The epoch before this one (where a leader's own epoch starts is the
    /// end of the previous one).
    pub fn prev(self) -> Self {
        LeaderEpoch(self.0 - 1)
    }

    /// A real epoch (not negative): the sentinel means "none" or "skip the check".
    pub fn is_defined(self) -> bool {
        self.0 >= 0
    }
}

impl From<i32> for LeaderEpoch {
    fn from(epoch: i32) -> Self {
        LeaderEpoch(epoch)
    }
}

impl From<LeaderEpoch> for i32 {
    fn from(epoch: LeaderEpoch) -> Self {
        epoch.0
    }
}

impl fmt::Display for LeaderEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::str::FromStr for LeaderEpoch {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(LeaderEpoch)
    }
}

/// The epoch of the controller, from `/controller_epoch`.
pub type ControllerEpoch = i32;

/// A znode's data version (`Stat.version`), used for conditional writes.
pub type ZkVersion = i32;

/// A partition's leadership as the controller decided it and its state
/// znode records it, with the znode's version (Kafka's LeaderAndIsr): what
/// a LeaderAndIsr request carries to a replica, and what a leader's ISR
/// change proposes (with the version it read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderAndIsr {
    /// The leader's broker id, `LeaderAndIsr::NO_LEADER` when offline.
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    /// zkVersion of the partition state znode this leadership came from.
    pub zk_version: ZkVersion,
}

impl LeaderAndIsr {
    /// The leader of an offline partition.
    pub const NO_LEADER: BrokerId = BrokerId(-1);

    /// Whether this leadership is newer than `current` (Kafka's
    /// becomeLeaderOrFollower and partition-epoch rules): a newer leader
    /// epoch, or the same epoch with a newer zkVersion; never an older
    /// zkVersion.
    pub fn is_newer_than(&self, current: &LeaderAndIsr) -> bool {
        self.zk_version >= current.zk_version
            && (self.leader_epoch > current.leader_epoch
                || (self.leader_epoch == current.leader_epoch
                    && self.zk_version > current.zk_version))
    }
}

/// An offset from a bare number, for tests.
#[cfg(test)]
pub const fn off(offset: i64) -> Offset {
    Offset::new(offset)
}

/// Offsets from bare numbers, for tests.
#[cfg(test)]
pub fn offs(offsets: &[i64]) -> Vec<Offset> {
    offsets.iter().map(|&o| Offset(o)).collect()
}

/// Broker ids from bare numbers, for tests.
#[cfg(test)]
pub fn ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|&id| BrokerId(id)).collect()
}

/// A topic name and partition number; `Display` gives Kafka's directory name `topic-partition`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Parses a log directory name `topic-partition` (the topic may itself contain dashes).
    pub fn parse_dir_name(name: &str) -> Option<TopicPartition> {
        let (topic, partition) = name.rsplit_once('-')?;
        if topic.is_empty() {
            return None;
        }
        let partition: i32 = partition.parse().ok()?;
        (partition >= 0).then(|| TopicPartition::new(topic, partition))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The 22-character text form of a Kafka `Uuid` (topic ids, the cluster id):
/// URL-safe base64 without padding, as znodes and `partition.metadata` hold it.
pub fn encode_kafka_uuid(bytes: &[u8; 16]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Parses the 22-character form; `None` unless it is exactly 16 bytes of
/// URL-safe base64 without padding.
pub fn decode_kafka_uuid(text: &str) -> Option<[u8; 16]> {
    use base64::Engine;
    if text.len() != 22 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_name_round_trips_topics_with_dashes() {
        let tp = TopicPartition::new("my-topic", 12);
        assert_eq!(tp.to_string(), "my-topic-12");
        assert_eq!(TopicPartition::parse_dir_name("my-topic-12"), Some(tp));
        assert_eq!(TopicPartition::parse_dir_name("nodash"), None);
    }

    #[test]
    fn a_leadership_is_newer_by_epoch_or_by_version_in_the_same_epoch() {
        let at = |leader_epoch, zk_version| LeaderAndIsr {
            leader: BrokerId(1),
            leader_epoch: LeaderEpoch::new(leader_epoch),
            isr: vec![BrokerId(1)],
            zk_version,
        };
        assert!(at(2, 5).is_newer_than(&at(1, 5)));
        assert!(at(1, 6).is_newer_than(&at(1, 5)));
        assert!(!at(1, 5).is_newer_than(&at(1, 5)), "the same is not newer");
        assert!(
            !at(2, 4).is_newer_than(&at(1, 5)),
            "never an older zkVersion"
        );
        assert!(!at(0, 9).is_newer_than(&at(1, 5)));
    }

    #[test]
    fn broker_id_sentinels_convert_and_print() {
        assert!(!LeaderAndIsr::NO_LEADER.is_valid());
        assert_eq!(i32::from(LeaderAndIsr::NO_LEADER), -1);
        assert!(BrokerId(0).is_valid());
        assert_eq!(BrokerId::from(3), BrokerId(3));
        assert_eq!(BrokerId(3).to_string(), "3");
        assert_eq!(format!("{:?}", vec![BrokerId(1), BrokerId(2)]), "[1, 2]");
        assert!(BrokerId(1) < BrokerId(2));
    }

    #[test]
    fn leader_epoch_sentinels_and_steps() {
        assert_eq!(LeaderEpoch::UNDEFINED.get(), -1);
        assert!(!LeaderEpoch::UNDEFINED.is_defined());
        assert!(LeaderEpoch::INITIAL.is_defined());
        assert_eq!(LeaderEpoch::INITIAL.next(), LeaderEpoch::new(1));
        assert_eq!(LeaderEpoch::new(5).prev(), LeaderEpoch::new(4));
        assert_eq!(LeaderEpoch::UNDEFINED.next(), LeaderEpoch::INITIAL);
        assert!(LeaderEpoch::new(2) > LeaderEpoch::new(1));
        assert!(LeaderEpoch::UNDEFINED < LeaderEpoch::INITIAL);
        assert_eq!(i32::from(LeaderEpoch::from(7)), 7);
    }

    #[test]
    fn debug_prints_the_bare_numbers_of_ids_and_epochs() {
        assert_eq!(format!("{:?}", BrokerId(7)), "7");
        assert_eq!(format!("{:?}", LeaderAndIsr::NO_LEADER), "-1");
        assert_eq!(format!("{:?}", LeaderEpoch::new(5)), "5");
        assert_eq!(format!("{:?}", LeaderEpoch::UNDEFINED), "-1");
        let state = LeaderAndIsr {
            leader: BrokerId(1),
            leader_epoch: LeaderEpoch::new(5),
            isr: vec![BrokerId(1), BrokerId(2)],
            zk_version: 3,
        };
        assert_eq!(
            format!("{state:?}"),
            "LeaderAndIsr { leader: 1, leader_epoch: 5, isr: [1, 2], zk_version: 3 }"
        );
    }

    #[test]
    fn ids_and_epochs_keep_width_and_fill_like_their_numbers() {
        assert_eq!(format!("[{:>3}]", BrokerId(7)), "[  7]");
        assert_eq!(format!("[{:<3}]", BrokerId(7)), "[7  ]");
        assert_eq!(format!("[{:03}]", LeaderEpoch::new(5)), "[005]");
        assert_eq!(format!("[{:>3?}]", LeaderEpoch::new(5)), "[  5]");
    }

    #[test]
    fn offsets_step_and_count_like_numbers() {
        let base = Offset::new(135);
        let last = Offset::new(139);
        assert_eq!(last - base + 1, 5, "the distance is a count");
        assert_eq!(base + 4, last);
        assert_eq!(last - 4, base);
        assert_eq!(base.next(), Offset::new(136));
        assert_eq!(base.prev(), Offset::new(134));
        let mut at = base;
        at += 2;
        assert_eq!(at.value(), 137);
        assert_eq!(Offset::MAX.checked_add(1), None);
        assert_eq!(base.checked_add(5), Some(Offset::new(140)));
        assert_eq!(Offset::MAX.saturating_add(7), Offset::MAX);
        assert_eq!(Offset::new(i64::MIN).saturating_sub(1).value(), i64::MIN);
        assert_eq!(base.saturating_sub(35), Offset::new(100));
        assert!(Offset::UNKNOWN < Offset::ZERO);
        assert!(!Offset::UNKNOWN.is_known());
        assert!(Offset::ZERO.is_known());
        assert_eq!(Offset::UNKNOWN.next(), Offset::ZERO);
    }

    #[test]
    #[should_panic(expected = "offset overflow")]
    fn the_offset_after_the_last_one_is_a_bug() {
        let _ = Offset::MAX.next();
    }

    #[test]
    fn offsets_print_and_parse_as_the_bare_number() {
        assert_eq!(Offset::new(42).to_string(), "42");
        assert_eq!(format!("{:020}", Offset::new(42)), "00000000000000000042");
        assert_eq!(format!("{:?}", Offset::UNKNOWN), "-1");
        assert_eq!(
            format!("{:?}", vec![Offset::new(1), Offset::new(2)]),
            "[1, 2]"
        );
        assert_eq!("42".parse::<Offset>(), Ok(Offset::new(42)));
        assert!("4x".parse::<Offset>().is_err());
        assert_eq!(serde_json::to_string(&Offset::new(7)).unwrap(), "7");
        assert_eq!(
            serde_json::from_str::<Offset>("-1").unwrap(),
            Offset::UNKNOWN
        );
    }

    #[test]
    fn leader_epoch_prints_and_parses_as_the_bare_number() {
        assert_eq!(LeaderEpoch::new(12).to_string(), "12");
        assert_eq!(LeaderEpoch::UNDEFINED.to_string(), "-1");
        assert_eq!("12".parse::<LeaderEpoch>(), Ok(LeaderEpoch::new(12)));
        assert!("x".parse::<LeaderEpoch>().is_err());
        assert_eq!(serde_json::to_string(&LeaderEpoch::new(3)).unwrap(), "3");
        assert_eq!(
            serde_json::from_str::<LeaderEpoch>("-1").unwrap(),
            LeaderEpoch::UNDEFINED
        );
    }
}
