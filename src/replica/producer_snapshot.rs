//! Producer state snapshot files, `<20-digit offset>.snapshot` in the
//! partition directory, byte for byte Kafka's format
//! (ProducerStateManager.PID_SNAPSHOT_MAP_SCHEMA, version 1), so a Kafka
//! broker can read Sluice's and the other way round.
//!
//! Layout (big-endian): `version i16 (=1) | crc u32 | count i32 | entries`,
//! each entry `producer_id i64 | epoch i16 | last_sequence i32 |
//! last_offset i64 | offset_delta i32 | timestamp i64 | coordinator_epoch i32
//! | current_txn_first_offset i64` (46 bytes). The CRC32C covers everything
//! after the CRC field. A snapshot named N holds the state of the log's
//! offsets below N. Kafka keeps only each producer's last batch here.
//!
//! This file owns the format and the directory operations (list, write,
//! delete); what goes in and when is `producer_state.rs` and `partition.rs`.
//! It lives in the replica room because producer state is the replica
//! room's; the log room never needs snapshots (the partition prunes them when
//! it writes a new one and when the log start moves or the cleaner merges
//! segments, see `producer_log_start.rs`; `.tmp` leftovers are removed by
//! log recovery).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::log::segment_files::{parse_segment_file_name, segment_file_name};
use crate::model::Offset;

/// File name suffix of producer snapshots.
pub const SNAPSHOT_SUFFIX: &str = "snapshot";
/// The only snapshot version Kafka writes.
const SNAPSHOT_VERSION: i16 = 1;
/// Bytes before the entries: version, crc, array length.
const HEADER_BYTES: usize = 2 + 4 + 4;
/// Where the CRC-covered bytes start (after version and crc).
const CRC_COVERED_FROM: usize = 6;
/// Bytes per entry.
const ENTRY_BYTES: usize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

/// One producer's line in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotEntry {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub last_sequence: i32,
    pub last_offset: Offset,
    /// Last offset minus first offset of the producer's last batch.
    pub offset_delta: i32,
    /// Max timestamp of that batch.
    pub timestamp: i64,
    /// -1: no transaction marker seen (Sluice has no transactions).
    pub coordinator_epoch: i32,
    /// -1: no ongoing transaction.
    pub current_txn_first_offset: Offset,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("corrupt producer snapshot: {0}")]
    Corrupt(String),
}

fn io_error(context: String, source: std::io::Error) -> SnapshotError {
    SnapshotError::Io { context, source }
}

/// The path of the snapshot at `offset` in `dir`.
pub fn snapshot_path(dir: &Path, offset: Offset) -> PathBuf {
    dir.join(segment_file_name(offset, SNAPSHOT_SUFFIX))
}

/// Serialises entries in Kafka's format.
pub fn encode(entries: &[SnapshotEntry]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEADER_BYTES + entries.len() * ENTRY_BYTES);
    buf.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
    buf.extend_from_slice(&0u32.to_be_bytes());
    buf.extend_from_slice(&(entries.len() as i32).to_be_bytes());
    for e in entries {
        buf.extend_from_slice(&e.producer_id.to_be_bytes());
        buf.extend_from_slice(&e.producer_epoch.to_be_bytes());
        buf.extend_from_slice(&e.last_sequence.to_be_bytes());
        buf.extend_from_slice(&e.last_offset.value().to_be_bytes());
        buf.extend_from_slice(&e.offset_delta.to_be_bytes());
        buf.extend_from_slice(&e.timestamp.to_be_bytes());
        buf.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
        buf.extend_from_slice(&e.current_txn_first_offset.value().to_be_bytes());
    }
    let crc = crc32c::crc32c(&buf[CRC_COVERED_FROM..]);
    buf[2..6].copy_from_slice(&crc.to_be_bytes());
    buf
}

/// Big-endian reads over a byte slice, failing as corrupt past its end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let end = self.pos + N;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| SnapshotError::Corrupt(format!("truncated at byte {}", self.pos)))?;
        self.pos = end;
        Ok(bytes.try_into().expect("slice of length N"))
    }
    fn i16(&mut self) -> Result<i16, SnapshotError> {
        self.take().map(i16::from_be_bytes)
    }
    fn i32(&mut self) -> Result<i32, SnapshotError> {
        self.take().map(i32::from_be_bytes)
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        self.take().map(u32::from_be_bytes)
    }
    fn i64(&mut self) -> Result<i64, SnapshotError> {
        self.take().map(i64::from_be_bytes)
    }
}

/// Parses a snapshot; a wrong version, CRC or length is `Corrupt`.
pub fn decode(buf: &[u8]) -> Result<Vec<SnapshotEntry>, SnapshotError> {
    let mut r = Reader { buf, pos: 0 };
    let version = r.i16()?;
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Corrupt(format!(
            "snapshot version {version}, expected {SNAPSHOT_VERSION}"
        )));
    }
    let stored_crc = r.u32()?;
    let computed = crc32c::crc32c(&buf[CRC_COVERED_FROM..]);
    if stored_crc != computed {
        return Err(SnapshotError::Corrupt(format!(
            "crc {stored_crc:#010x} does not match computed {computed:#010x}"
        )));
    }
    let count = r.i32()?;
    let expected = usize::try_from(count)
        .ok()
        .and_then(|n| n.checked_mul(ENTRY_BYTES))
        .and_then(|n| n.checked_add(HEADER_BYTES));
    if expected != Some(buf.len()) {
        return Err(SnapshotError::Corrupt(format!(
            "{count} entries do not fit {} bytes",
            buf.len()
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        entries.push(SnapshotEntry {
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            last_sequence: r.i32()?,
            last_offset: Offset::new(r.i64()?),
            offset_delta: r.i32()?,
            timestamp: r.i64()?,
            coordinator_epoch: r.i32()?,
            current_txn_first_offset: Offset::new(r.i64()?),
        });
    }
    Ok(entries)
}

/// Offsets of the snapshot files in `dir`, ascending.
pub fn list_snapshots(dir: &Path) -> Result<Vec<Offset>, SnapshotError> {
    let mut offsets = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| io_error(format!("list {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(format!("list {}", dir.display()), e))?;
        let name = entry.file_name();
        if let Some((offset, SNAPSHOT_SUFFIX)) = name.to_str().and_then(parse_segment_file_name) {
            offsets.push(offset);
        }
    }
    offsets.sort_unstable();
    Ok(offsets)
}

/// Reads the snapshot at `offset`.
pub fn read_snapshot(dir: &Path, offset: Offset) -> Result<Vec<SnapshotEntry>, SnapshotError> {
    let path = snapshot_path(dir, offset);
    let bytes = fs::read(&path).map_err(|e| io_error(format!("read {}", path.display()), e))?;
    decode(&bytes)
}

/// Writes the snapshot at `offset` (through a `.tmp` file renamed into
/// place, so a reader never sees half a file); `sync` fsyncs file and dir.
pub fn write_snapshot(
    dir: &Path,
    offset: Offset,
    entries: &[SnapshotEntry],
    sync: bool,
) -> Result<(), SnapshotError> {
    let path = snapshot_path(dir, offset);
    let tmp = dir.join(format!(
        "{}.tmp",
        segment_file_name(offset, SNAPSHOT_SUFFIX)
    ));
    let ctx = |what: &str, p: &Path| format!("{what} {}", p.display());
    {
        let mut file = fs::File::create(&tmp).map_err(|e| io_error(ctx("create", &tmp), e))?;
        file.write_all(&encode(entries))
            .map_err(|e| io_error(ctx("write", &tmp), e))?;
        if sync {
            file.sync_all()
                .map_err(|e| io_error(ctx("fsync", &tmp), e))?;
        }
    }
    fs::rename(&tmp, &path).map_err(|e| io_error(ctx("rename to", &path), e))?;
    if sync {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(ctx("fsync", dir), e))?;
    }
    Ok(())
}

/// Deletes the snapshot at `offset` (absent is fine).
pub fn delete_snapshot(dir: &Path, offset: Offset) -> Result<(), SnapshotError> {
    let path = snapshot_path(dir, offset);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(format!("delete {}", path.display()), e)),
    }
}

/// Deletes every snapshot above `offset` (truncation: they describe offsets
/// that are gone).
pub fn delete_snapshots_above(dir: &Path, offset: Offset) -> Result<(), SnapshotError> {
    for found in list_snapshots(dir)? {
        if found > offset {
            delete_snapshot(dir, found)?;
        }
    }
    Ok(())
}

/// Deletes every snapshot below `offset` except the latest one (retention:
/// the segments they started are gone).
pub fn delete_snapshots_below(dir: &Path, offset: Offset) -> Result<(), SnapshotError> {
    let found = list_snapshots(dir)?;
    let Some((_, older)) = found.split_last() else {
        return Ok(());
    };
    for &old in older.iter().filter(|&&o| o < offset) {
        delete_snapshot(dir, old)?;
    }
    Ok(())
}

/// Kafka's `ProducerStateManager.deleteSnapshotsBefore`: deletes every
/// snapshot strictly below `offset` (the new log start offset), the latest
/// one included. Returns how many went.
pub fn delete_snapshots_before(dir: &Path, offset: Offset) -> Result<usize, SnapshotError> {
    let mut deleted = 0;
    for old in list_snapshots(dir)?.into_iter().filter(|&o| o < offset) {
        delete_snapshot(dir, old)?;
        deleted += 1;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{off, offs};

    fn entry(pid: i64) -> SnapshotEntry {
        SnapshotEntry {
            producer_id: pid,
            producer_epoch: 3,
            last_sequence: 41,
            last_offset: Offset::new(1_000 + pid),
            offset_delta: 4,
            timestamp: 1_700_000_000_000,
            coordinator_epoch: -1,
            current_txn_first_offset: Offset::UNKNOWN,
        }
    }

    #[test]
    fn round_trips_in_kafkas_layout() {
        let entries = vec![entry(1), entry(2)];
        let bytes = encode(&entries);
        assert_eq!(bytes.len(), 10 + 2 * 46);
        assert_eq!(&bytes[..2], &[0, 1], "version 1");
        assert_eq!(&bytes[6..10], &2i32.to_be_bytes(), "entry count");
        assert_eq!(&bytes[10..18], &1i64.to_be_bytes(), "first producer id");
        let crc = crc32c::crc32c(&bytes[6..]);
        assert_eq!(&bytes[2..6], &crc.to_be_bytes());
        assert_eq!(decode(&bytes).unwrap(), entries);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn corruption_is_detected() {
        let mut bytes = encode(&[entry(7)]);
        bytes[20] ^= 0x40;
        assert!(matches!(decode(&bytes), Err(SnapshotError::Corrupt(_))));
        let good = encode(&[entry(7)]);
        assert!(matches!(
            decode(&good[..good.len() - 1]),
            Err(SnapshotError::Corrupt(_))
        ));
        let mut version = good.clone();
        version[1] = 2;
        assert!(matches!(decode(&version), Err(SnapshotError::Corrupt(_))));
        assert!(matches!(decode(&[0]), Err(SnapshotError::Corrupt(_))));
    }

    #[test]
    fn files_are_listed_written_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        for offset in [30, 10, 20, 40] {
            write_snapshot(dir.path(), off(offset), &[entry(offset)], offset == 40).unwrap();
        }
        fs::write(dir.path().join("00000000000000000000.log"), b"").unwrap();
        assert_eq!(list_snapshots(dir.path()).unwrap(), offs(&[10, 20, 30, 40]));
        assert!(dir.path().join("00000000000000000030.snapshot").is_file());
        assert_eq!(read_snapshot(dir.path(), off(20)).unwrap(), vec![entry(20)]);
        delete_snapshots_above(dir.path(), off(30)).unwrap();
        assert_eq!(list_snapshots(dir.path()).unwrap(), offs(&[10, 20, 30]));
        delete_snapshots_below(dir.path(), off(25)).unwrap();
        assert_eq!(list_snapshots(dir.path()).unwrap(), offs(&[30]));
        // The latest always stays, even below the bound.
        delete_snapshots_below(dir.path(), off(100)).unwrap();
        assert_eq!(list_snapshots(dir.path()).unwrap(), offs(&[30]));
    }

    #[test]
    fn snapshots_before_the_log_start_all_go() {
        let dir = tempfile::tempdir().unwrap();
        for offset in [10, 20, 30] {
            write_snapshot(dir.path(), off(offset), &[entry(offset)], false).unwrap();
        }
        assert_eq!(delete_snapshots_before(dir.path(), off(20)).unwrap(), 1);
        assert_eq!(list_snapshots(dir.path()).unwrap(), offs(&[20, 30]));
        // Unlike pruning, the latest goes too when it is below the log start.
        assert_eq!(delete_snapshots_before(dir.path(), off(31)).unwrap(), 2);
        assert_eq!(list_snapshots(dir.path()).unwrap(), Vec::<Offset>::new());
    }
}
