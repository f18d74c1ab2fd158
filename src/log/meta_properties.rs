//! `meta.properties` in every log dir, as Kafka writes it in ZooKeeper mode:
//! `version=0`, `broker.id=N`, `cluster.id=X` in Java properties syntax. A log
//! dir that names another broker or cluster must not be reused silently.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::error::LogError;
use super::partition_log::sync_dir;

pub const META_PROPERTIES: &str = "meta.properties";

/// Parses Java properties `key=value` lines (`#`/`!` comments, blank lines).
fn parse_properties(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let split = l.find(['=', ':'])?;
            Some((
                l[..split].trim().to_string(),
                l[split + 1..].trim().to_string(),
            ))
        })
        .collect()
}

/// Reads `<dir>/meta.properties`; `None` when the file does not exist.
pub fn read_meta_properties(dir: &Path) -> Result<Option<HashMap<String, String>>, LogError> {
    let path = dir.join(META_PROPERTIES);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(parse_properties(&text))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io(format!("read {}", path.display()), e)),
    }
}

fn write_meta_properties(dir: &Path, broker_id: i32, cluster_id: &str) -> Result<(), LogError> {
    let path = dir.join(META_PROPERTIES);
    let tmp = dir.join(format!("{META_PROPERTIES}.tmp"));
    let text = format!(
        "#\n#Written by Sluice; do not edit\nversion=0\nbroker.id={broker_id}\ncluster.id={cluster_id}\n"
    );
    let write = || -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| LogError::io(format!("write {}", path.display()), e))?;
    sync_dir(dir)
}

/// Checks every dir's `meta.properties` against this broker and cluster,
/// writing it where it is missing (or lacks `cluster.id`, as files from old
/// Kafka versions do). Fails on another broker.id or cluster.id.
pub fn check_or_write(dirs: &[PathBuf], broker_id: i32, cluster_id: &str) -> Result<(), LogError> {
    for dir in dirs {
        let path = dir.join(META_PROPERTIES);
        let Some(props) = read_meta_properties(dir)? else {
            write_meta_properties(dir, broker_id, cluster_id)?;
            continue;
        };
        let version = props.get("version").map(String::as_str).unwrap_or("");
        if version != "0" {
            return Err(LogError::CorruptMetaProperties {
                path,
                reason: format!("version {version:?}; ZooKeeper mode uses version=0"),
            });
        }
        match props.get("broker.id") {
            Some(found) if found.parse::<i32>() == Ok(broker_id) => {}
            Some(found) => {
                return Err(LogError::MetaPropertiesMismatch {
                    path,
                    key: "broker.id",
                    found: found.clone(),
                    expected: broker_id.to_string(),
                });
            }
            None => {
                return Err(LogError::CorruptMetaProperties {
                    path,
                    reason: "no broker.id".to_string(),
                });
            }
        }
        match props.get("cluster.id") {
            Some(found) if found == cluster_id => {}
            Some(found) => {
                return Err(LogError::MetaPropertiesMismatch {
                    path,
                    key: "cluster.id",
                    found: found.clone(),
                    expected: cluster_id.to_string(),
                });
            }
            None => write_meta_properties(dir, broker_id, cluster_id)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_then_accepts_same_identity_and_rejects_others() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        check_or_write(&dirs, 3, "abcDEF").unwrap();
        let text = fs::read_to_string(a.path().join(META_PROPERTIES)).unwrap();
        assert!(
            text.contains("version=0\nbroker.id=3\ncluster.id=abcDEF\n"),
            "{text}"
        );
        check_or_write(&dirs, 3, "abcDEF").unwrap();
        let err = check_or_write(&dirs, 4, "abcDEF").unwrap_err();
        assert!(
            matches!(&err, LogError::MetaPropertiesMismatch { key: "broker.id", found, .. } if found == "3")
        );
        assert!(err.to_string().contains("meta.properties"));
        assert!(matches!(
            check_or_write(&dirs, 3, "other"),
            Err(LogError::MetaPropertiesMismatch {
                key: "cluster.id",
                ..
            })
        ));
    }

    #[test]
    fn old_file_without_cluster_id_is_completed() {
        let a = tempfile::tempdir().unwrap();
        fs::write(
            a.path().join(META_PROPERTIES),
            "#x\nversion=0\nbroker.id=1\n",
        )
        .unwrap();
        check_or_write(&[a.path().to_path_buf()], 1, "cid").unwrap();
        let props = read_meta_properties(a.path()).unwrap().unwrap();
        assert_eq!(props.get("cluster.id").map(String::as_str), Some("cid"));
    }
}
