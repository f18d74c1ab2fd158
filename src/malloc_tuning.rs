//! glibc malloc's settings for the broker process, and giving freed memory
//! back to the kernel after a burst.
//!
//! Why: at thousands of partitions a broker's big moments (a controller
//! announcing every partition, a broker applying a LeaderAndIsr for all of
//! them) allocate and free many megabytes of small blocks from whichever
//! threads run them. glibc gives each thread that contends an arena of its
//! own (up to 8 per core) and keeps what is freed in each arena for reuse,
//! returning only the free top of the main heap to the kernel: the process's
//! resident size grows by what every arena once held (README, "Partitions at
//! scale", has the figures). Fewer arenas, fixed thresholds for mapping
//! big blocks and trimming heap tops, and an explicit trim after each burst
//! keep it near what the broker really uses.
//!
//! Other C libraries (musl) and platforms get no tuning: both functions do
//! nothing there.

/// Arenas glibc may create: the main one and one more. Measured at 10,000
/// partitions (README): fewer arenas hold less freed memory, and the broker's
/// threads (the runtime's workers and its blocking pool) rarely allocate at
/// the same moment enough for contention to show.
pub const ARENA_MAX: i32 = 2;

/// Blocks this large are mapped on their own and unmapped when freed, and a
/// free top of a heap this large is given back at once. Setting them turns
/// off glibc's sliding thresholds, which after one big block is freed keep
/// blocks up to 32 MiB inside the heaps and free heap tops up to 64 MiB: a
/// 10,000-partition request's arrays are a few megabytes each (README:
/// 128 KiB for both took the non-controller brokers from 68-94 MB to
/// 45-50 MB). 1 MiB keeps ordinary produce and fetch buffers in the heaps.
pub const MMAP_AND_TRIM_THRESHOLD: i32 = 1024 * 1024;

/// How often freed memory is given back whatever happened: between bursts,
/// many smaller requests (ISR-change announcements, Metadata answers for
/// thousands of partitions) free memory that no burst trim follows (at
/// 10,000 partitions a trim at the end of the bench still gave back 5-7 MB
/// per broker). A trim takes milliseconds.
pub const PERIODIC_TRIM: std::time::Duration = std::time::Duration::from_secs(30);

/// Gives freed memory back every [`PERIODIC_TRIM`] (on the blocking pool)
/// until `shutdown`.
pub async fn release_periodically(shutdown: tokio_util::sync::CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(PERIODIC_TRIM) => {
                if let Err(e) = tokio::task::spawn_blocking(release_free_memory).await {
                    tracing::warn!(error = %e, "malloc trim failed");
                }
            }
        }
    }
}

/// Applies the settings above; call once at start-up, before the runtime
/// starts its threads.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        set("M_ARENA_MAX", libc::M_ARENA_MAX, ARENA_MAX);
        set(
            "M_MMAP_THRESHOLD",
            libc::M_MMAP_THRESHOLD,
            MMAP_AND_TRIM_THRESHOLD,
        );
        set(
            "M_TRIM_THRESHOLD",
            libc::M_TRIM_THRESHOLD,
            MMAP_AND_TRIM_THRESHOLD,
        );
    }
}

/// Returns every free page of every arena to the kernel (`malloc_trim(0)`):
/// call after a burst of large, short-lived allocations. Takes each arena's
/// lock in turn while it walks its free blocks (milliseconds at tens of
/// megabytes), so not for hot paths.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    trim();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // mallopt(3): a glibc setting, no memory is touched
fn set(name: &'static str, param: libc::c_int, value: i32) {
    // SAFETY: mallopt only records the setting; it has no preconditions.
    let ok = unsafe { libc::mallopt(param, value) };
    if ok != 1 {
        tracing::warn!(setting = name, value, "mallopt refused a setting");
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // malloc_trim(3): glibc returns free pages, no memory of ours is touched
fn trim() {
    // SAFETY: malloc_trim only releases free memory inside glibc's own
    // arenas, under their locks; it has no preconditions.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_after_a_burst_keeps_the_heap_usable() {
        tune();
        let burst: Vec<Vec<u8>> = (0..10_000).map(|i| vec![i as u8; 200]).collect();
        let kept: Vec<Vec<u8>> = burst.iter().step_by(100).cloned().collect();
        drop(burst);
        release_free_memory();
        assert!(
            kept.iter()
                .enumerate()
                .all(|(i, v)| v[199] == (i * 100) as u8)
        );
        let again: Vec<u8> = vec![7; 1 << 20];
        assert_eq!(again[(1 << 20) - 1], 7);
    }
}
