//! DescribeLogDirs (key 35), versions 0-4: for every log dir of this broker,
//! the partitions it holds (all, or those the request names) with their size
//! on disk and offset lag (the high watermark's distance past the log end,
//! so 0 for a current replica; -1 for a log no replica is hosted for), never
//! future logs. v4 adds the file system's total and usable bytes (statvfs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::model::TopicPartition;
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::NONE;

pub const VERSIONS: (i16, i16) = (0, 4);

/// Kafka's offset lag of a log without a hosted replica.
const INVALID_OFFSET_LAG: i64 = -1;

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: DescribeLogDirsRequest,
) -> Option<DescribeLogDirsResponse> {
    let wanted: Option<BTreeSet<TopicPartition>> = request.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|&p| TopicPartition::new(t.topic.0.to_string(), p))
            })
            .collect()
    });
    let log_manager = services.replica_manager.log_manager();
    let logs = log_manager.all_logs();
    let results = log_manager
        .log_dirs()
        .iter()
        .map(|dir| {
            let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
            for (tp, log) in logs.iter().filter(|(_, l)| l.dir().parent() == Some(dir)) {
                if wanted.as_ref().is_some_and(|w| !w.contains(tp)) {
                    continue;
                }
                let offset_lag = services
                    .replica_manager
                    .get_partition(tp)
                    .map_or(INVALID_OFFSET_LAG, |p| {
                        (p.high_watermark() - log.log_end_offset()).max(0)
                    });
                topics.entry(tp.topic.clone()).or_default().push(
                    DescribeLogDirsPartition::default()
                        .with_partition_index(tp.partition)
                        .with_partition_size(log.size_bytes() as i64)
                        .with_offset_lag(offset_lag)
                        .with_is_future_key(false),
                );
            }
            let (total_bytes, usable_bytes) = file_system_bytes(dir).unwrap_or((-1, -1));
            DescribeLogDirsResult::default()
                .with_error_code(NONE)
                .with_log_dir(StrBytes::from_string(dir.display().to_string()))
                .with_total_bytes(total_bytes)
                .with_usable_bytes(usable_bytes)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(name, mut partitions)| {
                            partitions.sort_by_key(|p| p.partition_index);
                            DescribeLogDirsTopic::default()
                                .with_name(TopicName(StrBytes::from_string(name)))
                                .with_partitions(partitions)
                        })
                        .collect(),
                )
        })
        .collect();
    Some(
        DescribeLogDirsResponse::default()
            .with_error_code(NONE)
            .with_results(results),
    )
}

/// (total, usable) bytes of the file system holding `dir`, as Java's
/// `FileStore.getTotalSpace` / `getUsableSpace` report them.
fn file_system_bytes(dir: &Path) -> Option<(i64, i64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid NUL-terminated string and `stat` points to
    // writable memory of the right type; statvfs fills it on success.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised `stat`.
    let stat = unsafe { stat.assume_init() };
    let block = stat.f_frsize as i64;
    Some((
        (stat.f_blocks as i64).saturating_mul(block),
        (stat.f_bavail as i64).saturating_mul(block),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_system_sizes_are_plausible() {
        let (total, usable) = file_system_bytes(Path::new("/")).expect("statvfs of /");
        assert!(
            total > 0 && usable >= 0 && usable <= total,
            "{total} {usable}"
        );
        assert!(file_system_bytes(Path::new("/no/such/dir/at/all")).is_none());
    }
}
