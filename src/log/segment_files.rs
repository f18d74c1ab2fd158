//! The files of a segment on disk: Kafka's names
//! (`<20-digit base offset>.log`, `.index`, `.timeindex`), parsing them back,
//! and removing one that may already be gone.

use std::fs;
use std::path::Path;

use crate::model::Offset;

pub const LOG_SUFFIX: &str = "log";
pub const INDEX_SUFFIX: &str = "index";
pub const TIME_INDEX_SUFFIX: &str = "timeindex";

/// `<20-digit base offset>.<suffix>`, Kafka's segment file name.
pub fn segment_file_name(base_offset: Offset, suffix: &str) -> String {
    format!("{base_offset:020}.{suffix}")
}

/// Splits a segment file name into (base offset, suffix).
pub fn parse_segment_file_name(name: &str) -> Option<(Offset, &str)> {
    let (stem, suffix) = name.split_once('.')?;
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, suffix))
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    #[test]
    fn file_names_are_twenty_digits() {
        assert_eq!(
            segment_file_name(off(42), LOG_SUFFIX),
            "00000000000000000042.log"
        );
        assert_eq!(
            parse_segment_file_name("00000000000000000042.timeindex"),
            Some((off(42), TIME_INDEX_SUFFIX))
        );
        assert_eq!(parse_segment_file_name("leader-epoch-checkpoint"), None);
        assert_eq!(parse_segment_file_name(".lock"), None);
    }
}
