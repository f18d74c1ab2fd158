//! Kafka's checkpoint files: line 1 the version (`0`), line 2 the entry count,
//! then one entry per line. Offset checkpoints (`recovery-point-offset-checkpoint`,
//! `log-start-offset-checkpoint`, `replication-offset-checkpoint`) hold
//! `topic partition offset` lines; a partition's `leader-epoch-checkpoint`
//! holds `epoch startOffset` lines. Writes are atomic (write `<file>.tmp`,
//! fsync, rename over, fsync the directory); a missing file reads as empty; a
//! malformed one is an error naming the file and line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::error::LogError;
use super::partition_log::sync_dir;
use crate::model::{LeaderEpoch, Offset, TopicPartition};

pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";
pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
pub const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";

const CHECKPOINT_VERSION: i32 = 0;

/// One line of a checkpoint file.
pub trait CheckpointEntry: Sized {
    fn format_line(&self, out: &mut String);
    fn parse_line(line: &str) -> Option<Self>;
}

/// `topic partition offset`, as in the offset checkpoints.
impl CheckpointEntry for (TopicPartition, Offset) {
    fn format_line(&self, out: &mut String) {
        let _ = write!(out, "{} {} {}", self.0.topic, self.0.partition, self.1);
    }

    fn parse_line(line: &str) -> Option<Self> {
        let mut parts = line.split_whitespace();
        let topic = parts.next()?;
        let partition: i32 = parts.next()?.parse().ok()?;
        let offset: Offset = parts.next()?.parse().ok()?;
        if parts.next().is_some() || partition < 0 {
            return None;
        }
        Some((TopicPartition::new(topic, partition), offset))
    }
}

/// `epoch startOffset`, as in `leader-epoch-checkpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: LeaderEpoch,
    pub start_offset: Offset,
}

impl CheckpointEntry for EpochEntry {
    fn format_line(&self, out: &mut String) {
        let _ = write!(out, "{} {}", self.epoch, self.start_offset);
    }

    fn parse_line(line: &str) -> Option<Self> {
        let mut parts = line.split_whitespace();
        let epoch = parts.next()?.parse().ok()?;
        let start_offset = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(EpochEntry {
            epoch,
            start_offset,
        })
    }
}

/// A checkpoint file at a fixed path.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the file with `entries`, atomically and durably.
    pub fn write<T: CheckpointEntry>(&self, entries: &[T]) -> Result<(), LogError> {
        let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", entries.len());
        for entry in entries {
            entry.format_line(&mut text);
            text.push('\n');
        }
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = self.path.with_file_name(tmp_name);
        let ctx = |what: &str, p: &Path| format!("{what} checkpoint {}", p.display());
        let write_tmp = || -> io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        write_tmp().map_err(|e| LogError::io(ctx("write", &tmp), e))?;
        fs::rename(&tmp, &self.path).map_err(|e| LogError::io(ctx("rename", &self.path), e))?;
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
            _ => Ok(()),
        }
    }

    /// Reads the entries; a missing file gives none.
    pub fn read<T: CheckpointEntry>(&self) -> Result<Vec<T>, LogError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                let ctx = format!("read checkpoint {}", self.path.display());
                return Err(LogError::io(ctx, e));
            }
        };
        let malformed = |line: usize, reason: String| LogError::CorruptCheckpoint {
            path: self.path.clone(),
            line,
            reason,
        };
        let mut lines = text.lines();
        let version = lines.next().unwrap_or("").trim();
        if version != CHECKPOINT_VERSION.to_string() {
            return Err(malformed(1, format!("unsupported version {version:?}")));
        }
        let count_text = lines.next().unwrap_or("").trim();
        let count: usize = count_text
            .parse()
            .map_err(|_| malformed(2, format!("bad entry count {count_text:?}")))?;
        let mut entries = Vec::with_capacity(count.min(1 << 16));
        for i in 0..count {
            let line_no = i + 3;
            let line = lines.next().ok_or_else(|| {
                malformed(line_no, format!("expected {count} entries, found {i}"))
            })?;
            let entry = T::parse_line(line)
                .ok_or_else(|| malformed(line_no, format!("bad entry {line:?}")))?;
            entries.push(entry);
        }
        if let Some(extra) = lines.find(|l| !l.trim().is_empty()) {
            return Err(malformed(
                count + 3,
                format!("unexpected line {extra:?} after {count} entries"),
            ));
        }
        Ok(entries)
    }
}

/// Reads an offset checkpoint into a map (missing file: empty map).
pub fn read_offsets(path: &Path) -> Result<HashMap<TopicPartition, Offset>, LogError> {
    let entries: Vec<(TopicPartition, Offset)> = CheckpointFile::new(path).read()?;
    Ok(entries.into_iter().collect())
}

/// Writes an offset checkpoint, sorted by topic-partition for stable files.
pub fn write_offsets(
    path: &Path,
    offsets: &HashMap<TopicPartition, Offset>,
) -> Result<(), LogError> {
    let mut entries: Vec<(TopicPartition, Offset)> =
        offsets.iter().map(|(tp, o)| (tp.clone(), *o)).collect();
    entries.sort();
    CheckpointFile::new(path).write(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    #[test]
    fn offsets_round_trip_in_kafka_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECOVERY_POINT_CHECKPOINT);
        assert!(read_offsets(&path).unwrap().is_empty());
        let mut offsets = HashMap::new();
        offsets.insert(TopicPartition::new("my-topic", 1), off(42));
        offsets.insert(TopicPartition::new("a", 0), off(7));
        write_offsets(&path, &offsets).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "0\n2\na 0 7\nmy-topic 1 42\n"
        );
        assert_eq!(read_offsets(&path).unwrap(), offsets);
        assert!(
            !dir.path()
                .join("recovery-point-offset-checkpoint.tmp")
                .exists()
        );
    }

    #[test]
    fn leader_epochs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = CheckpointFile::new(dir.path().join(LEADER_EPOCH_CHECKPOINT));
        let epochs = vec![
            EpochEntry {
                epoch: LeaderEpoch::new(0),
                start_offset: off(0),
            },
            EpochEntry {
                epoch: LeaderEpoch::new(3),
                start_offset: off(120),
            },
        ];
        file.write(&epochs).unwrap();
        assert_eq!(
            fs::read_to_string(file.path()).unwrap(),
            "0\n2\n0 0\n3 120\n"
        );
        assert_eq!(file.read::<EpochEntry>().unwrap(), epochs);
        file.write::<EpochEntry>(&[]).unwrap();
        assert!(file.read::<EpochEntry>().unwrap().is_empty());
    }

    #[test]
    fn malformed_files_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_START_OFFSET_CHECKPOINT);
        for (text, bad_line) in [
            ("1\n0\n", 1),
            ("0\nx\n", 2),
            ("0\n2\nt 0 5\n", 4),
            ("0\n1\nt zero 5\n", 3),
            ("0\n1\nt 0 5\nt 1 6\n", 4),
            ("", 1),
        ] {
            fs::write(&path, text).unwrap();
            match read_offsets(&path) {
                Err(LogError::CorruptCheckpoint { path: p, line, .. }) => {
                    assert_eq!(p, path);
                    assert_eq!(line, bad_line, "for {text:?}");
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        let err = read_offsets(&path).unwrap_err().to_string();
        assert!(err.contains("log-start-offset-checkpoint"), "{err}");
    }
}
