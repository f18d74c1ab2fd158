//! The memory-mapped file under both segment indexes (Kafka's `AbstractIndex`):
//! fixed-size entries, preallocated to `log.index.size.max.bytes` (rounded down
//! to the entry size) while the segment is active, trimmed to the real entry
//! count when it rolls or closes; mapped for random access (no read-ahead).
//! Entry layout and search live in `offset_index.rs` and `time_index.rs`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

/// A file of `entry_bytes`-sized entries mapped read-write.
#[derive(Debug)]
pub struct IndexFile {
    path: PathBuf,
    file: File,
    /// `None` only while remapping (and never observable outside `resize`).
    mmap: Option<MmapMut>,
    entry_bytes: usize,
    entries: usize,
}

fn round_down(bytes: u64, entry_bytes: usize) -> u64 {
    bytes - bytes % entry_bytes as u64
}

impl IndexFile {
    /// Opens or creates the index at `path`. A newly created file is
    /// preallocated to `max_index_size_bytes`; an existing file keeps its length,
    /// and its entry count is the valid prefix before any all-zero tail (the
    /// unused preallocated space of an index that was not trimmed).
    /// `is_unused(entry)` says whether an entry is preallocated padding.
    pub fn open(
        path: &Path,
        entry_bytes: usize,
        max_index_size_bytes: u32,
        is_unused: fn(&[u8]) -> bool,
    ) -> io::Result<IndexFile> {
        assert!(entry_bytes > 0);
        let (file, fresh) = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(file) => (file, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                (OpenOptions::new().read(true).write(true).open(path)?, false)
            }
            Err(e) => return Err(e),
        };
        if fresh {
            file.set_len(round_down(u64::from(max_index_size_bytes), entry_bytes))?;
        }
        let mmap = map(&file)?;
        let mut index = IndexFile {
            path: path.to_path_buf(),
            file,
            mmap: Some(mmap),
            entry_bytes,
            entries: 0,
        };
        if !fresh {
            index.entries = index.count_used_prefix(is_unused);
        }
        Ok(index)
    }

    /// Binary search for the first unused slot, assuming used entries form a
    /// prefix (true for every index this module writes: truncation zeroes).
    fn count_used_prefix(&self, is_unused: fn(&[u8]) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.capacity_entries());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if is_unused(self.entry(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    fn bytes(&self) -> &[u8] {
        self.mmap.as_deref().unwrap_or(&[])
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the mapped file in bytes.
    pub fn file_len_bytes(&self) -> usize {
        self.bytes().len()
    }

    pub fn entries(&self) -> usize {
        self.entries
    }

    /// How many entries fit in the file as currently sized.
    pub fn capacity_entries(&self) -> usize {
        self.bytes().len() / self.entry_bytes
    }

    pub fn is_full(&self) -> bool {
        self.entries >= self.capacity_entries()
    }

    /// The raw bytes of slot `i` (which may be past `entries` during loading).
    pub fn entry(&self, i: usize) -> &[u8] {
        let at = i * self.entry_bytes;
        &self.bytes()[at..at + self.entry_bytes]
    }

    /// Appends one entry; the caller checks `is_full` first.
    pub fn push(&mut self, entry: &[u8]) {
        assert_eq!(entry.len(), self.entry_bytes);
        assert!(!self.is_full(), "index {} is full", self.path.display());
        let at = self.entries * self.entry_bytes;
        let mmap = self.mmap.as_mut().expect("index is mapped");
        mmap[at..at + entry.len()].copy_from_slice(entry);
        self.entries += 1;
    }

    /// Drops entries from `keep` on, zeroing them so a later open of an
    /// untrimmed file sees only the kept prefix.
    pub fn truncate_entries(&mut self, keep: usize) {
        if keep >= self.entries {
            return;
        }
        let (from, to) = (keep * self.entry_bytes, self.entries * self.entry_bytes);
        let mmap = self.mmap.as_mut().expect("index is mapped");
        mmap[from..to].fill(0);
        self.entries = keep;
    }

    /// Sets the file length to `new_size_bytes` rounded down to whole entries
    /// (never below the bytes in use) and remaps it.
    pub fn resize(&mut self, new_size_bytes: u64) -> io::Result<()> {
        let used = (self.entries * self.entry_bytes) as u64;
        let new_len = round_down(new_size_bytes, self.entry_bytes).max(used);
        if new_len == self.bytes().len() as u64 {
            return Ok(());
        }
        if let Some(mmap) = self.mmap.take() {
            mmap.flush()?;
            // Unmap before shrinking the file so no mapping ever covers bytes
            // past its end.
            drop(mmap);
        }
        self.file.set_len(new_len)?;
        self.mmap = Some(map(&self.file)?);
        Ok(())
    }

    /// Shrinks the file to exactly the entries in use (done on roll and close).
    pub fn trim(&mut self) -> io::Result<()> {
        self.resize((self.entries * self.entry_bytes) as u64)
    }

    /// Writes dirty pages of the mapping to disk.
    pub fn flush(&self) -> io::Result<()> {
        match &self.mmap {
            Some(m) if !m.is_empty() => m.flush(),
            _ => Ok(()),
        }
    }

    /// Unmaps and removes the file; a missing file is fine.
    pub fn delete(&mut self) -> io::Result<()> {
        self.mmap = None;
        self.entries = 0;
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Index of the last of the first `n` entries whose key is `<= target`, for
/// keys sorted ascending; `None` when even the first key is larger.
pub fn largest_at_most<K: Ord>(n: usize, target: K, key_of: impl Fn(usize) -> K) -> Option<usize> {
    // partition_point over 0..n: count of entries with key <= target.
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if key_of(mid) <= target {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo.checked_sub(1)
}

/// True when every byte of an entry is zero: unused preallocated space.
pub fn is_zero_entry(entry: &[u8]) -> bool {
    entry.iter().all(|&b| b == 0)
}

#[allow(unsafe_code)] // memory-maps an index file (memmap2's map_mut is unsafe: see SAFETY below)
fn map(file: &File) -> io::Result<MmapMut> {
    // SAFETY: the index file is owned by this process (one broker per log dir,
    // enforced by the layout) and is only resized through `IndexFile::resize`,
    // which unmaps first; nothing else truncates it while it is mapped.
    let mmap = unsafe { MmapMut::map_mut(file) }?;
    if !mmap.is_empty() {
        // Lookups are binary searches: without this, every page they touch
        // reads ahead around it, and on a preallocated (sparse) index that
        // fills megabytes of page cache with zeros per index opened.
        mmap.advise(memmap2::Advice::Random)?;
    }
    Ok(mmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unused(e: &[u8]) -> bool {
        is_zero_entry(e)
    }

    #[test]
    fn largest_at_most_is_a_floor_search() {
        let keys = [10i64, 20, 30];
        let f = |t| largest_at_most(3, t, |i| keys[i]);
        assert_eq!(f(5), None);
        assert_eq!(f(10), Some(0));
        assert_eq!(f(29), Some(1));
        assert_eq!(f(30), Some(2));
        assert_eq!(f(99), Some(2));
        assert_eq!(largest_at_most(0, 5, |_| 0), None);
    }

    #[test]
    fn preallocates_trims_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        let mut idx = IndexFile::open(&path, 8, 100, unused).unwrap();
        assert_eq!(idx.file_len_bytes(), 96);
        assert_eq!(idx.capacity_entries(), 12);
        for i in 1..=5u8 {
            idx.push(&[i; 8]);
        }
        assert_eq!(idx.entries(), 5);
        drop(idx);
        // Untrimmed: reopening finds the 5 entries before the zero tail.
        let mut idx = IndexFile::open(&path, 8, 100, unused).unwrap();
        assert_eq!(idx.entries(), 5);
        idx.truncate_entries(3);
        idx.trim().unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), 24);
        assert!(idx.is_full());
        idx.resize(100).unwrap();
        assert_eq!(idx.capacity_entries(), 12);
        assert_eq!(idx.entry(2), &[3u8; 8]);
        assert_eq!(idx.entry(3), &[0u8; 8]);
        idx.truncate_entries(0);
        idx.trim().unwrap();
        assert_eq!(idx.file_len_bytes(), 0);
        idx.delete().unwrap();
        assert!(!path.exists());
    }
}
