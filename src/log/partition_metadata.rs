//! `partition.metadata`: the topic id a partition directory belongs to, in
//! Kafka's text format (2.8+):
//!
//! ```text
//! version: 0
//! topic_id: <22-character base64 topic id>
//! ```
//!
//! Written once when a partition is first hosted; a directory left over from
//! a deleted topic of the same name is recognised by its different id.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::error::LogError;
use super::partition_log::sync_dir;

pub const PARTITION_METADATA: &str = "partition.metadata";

/// Reads the topic id recorded in `dir`, `None` when there is no file.
pub fn read_topic_id(dir: &Path) -> Result<Option<String>, LogError> {
    let path = dir.join(PARTITION_METADATA);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io(format!("read {}", path.display()), e)),
    };
    let malformed = |reason: &str| LogError::CorruptMetaProperties {
        path: path.clone(),
        reason: reason.to_owned(),
    };
    let mut lines = text.lines();
    match lines.next().map(|l| l.split_once(':')) {
        Some(Some(("version", v))) if v.trim() == "0" => {}
        _ => return Err(malformed("the first line must be `version: 0`")),
    }
    match lines.next().map(|l| l.split_once(':')) {
        Some(Some(("topic_id", id))) if !id.trim().is_empty() => Ok(Some(id.trim().to_owned())),
        _ => Err(malformed("the second line must be `topic_id: <id>`")),
    }
}

/// Records `topic_id` in `dir` unless the same id is already there; a
/// different recorded id is [`LogError::InconsistentTopicId`].
pub fn record_topic_id(dir: &Path, topic_id: &str) -> Result<(), LogError> {
    match read_topic_id(dir)? {
        Some(found) if found == topic_id => return Ok(()),
        Some(found) => {
            return Err(LogError::InconsistentTopicId {
                path: dir.join(PARTITION_METADATA),
                found,
                expected: topic_id.to_owned(),
            });
        }
        None => {}
    }
    let path = dir.join(PARTITION_METADATA);
    let tmp = dir.join(format!("{PARTITION_METADATA}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        write!(file, "version: 0\ntopic_id: {topic_id}\n")?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| LogError::io(format!("write {}", path.display()), e))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_once_and_refuses_a_different_id() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_topic_id(dir.path()).unwrap(), None);
        record_topic_id(dir.path(), "deil7HQJQ2G1S2bBESIezA").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join(PARTITION_METADATA)).unwrap(),
            "version: 0\ntopic_id: deil7HQJQ2G1S2bBESIezA\n"
        );
        record_topic_id(dir.path(), "deil7HQJQ2G1S2bBESIezA").unwrap();
        let err = record_topic_id(dir.path(), "QFD4fuXgSny7Tw5DpkgJhg").unwrap_err();
        assert!(matches!(err, LogError::InconsistentTopicId { .. }), "{err}");
    }

    #[test]
    fn a_malformed_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(PARTITION_METADATA), "garbage\n").unwrap();
        assert!(read_topic_id(dir.path()).is_err());
    }
}
