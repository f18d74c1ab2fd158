//! `LazyIndex`: a segment's `.index` or `.timeindex` opened and
//! memory-mapped only when first used (Kafka's `LazyIndex`). A log loaded
//! with an empty segment, the usual state of an idle partition, then touches
//! neither index file at start-up: an empty `.log` has no index entries
//! whatever the file holds, so the file's contents are discarded when it is
//! first opened, and its preallocation (the active segment's
//! `log.index.size.max.bytes`) waits for the first append.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use parking_lot::{
    MappedRwLockReadGuard, MappedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use super::offset_index::OffsetIndex;
use super::segment_files::remove_if_exists;
use super::time_index::TimeIndex;
use crate::model::Offset;

/// What `LazyIndex` needs of an index type.
pub trait SegmentIndex: Sized {
    /// Opens the file (creating it preallocated to `max_index_size_bytes`
    /// when missing).
    fn open(path: &Path, base_offset: Offset, max_index_size_bytes: u32) -> io::Result<Self>;
    fn resize(&mut self, size_bytes: u64) -> io::Result<()>;
    fn trim(&mut self) -> io::Result<()>;
    fn flush(&self) -> io::Result<()>;
    fn delete(&mut self) -> io::Result<()>;
    fn reset(&mut self);
    fn is_full(&self) -> bool;
}

macro_rules! segment_index {
    ($t:ty) => {
        impl SegmentIndex for $t {
            fn open(path: &Path, base_offset: Offset, max: u32) -> io::Result<Self> {
                <$t>::open(path, base_offset, max)
            }
            fn resize(&mut self, size_bytes: u64) -> io::Result<()> {
                <$t>::resize(self, size_bytes)
            }
            fn trim(&mut self) -> io::Result<()> {
                <$t>::trim(self)
            }
            fn flush(&self) -> io::Result<()> {
                <$t>::flush(self)
            }
            fn delete(&mut self) -> io::Result<()> {
                <$t>::delete(self)
            }
            fn reset(&mut self) {
                <$t>::reset(self)
            }
            fn is_full(&self) -> bool {
                <$t>::is_full(self)
            }
        }
    };
}
segment_index!(OffsetIndex);
segment_index!(TimeIndex);

#[derive(Debug)]
enum Slot<T> {
    /// Not opened yet. The index has no entries: its file (`file_len` bytes
    /// on disk) is emptied when opened. `grow_to`: the size to give it then
    /// (set while the segment is the active one).
    Unloaded {
        file_len: u64,
        grow_to: Option<u64>,
    },
    Loaded(T),
    /// The file was removed with its segment while still unopened.
    Deleted,
}

#[derive(Debug)]
pub struct LazyIndex<T> {
    path: PathBuf,
    base_offset: Offset,
    slot: RwLock<Slot<T>>,
}

fn deleted_error(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("index {} was deleted with its segment", path.display()),
    )
}

/// Truncates (or creates) the file at `path` to no bytes.
fn empty_file(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map(drop)
}

impl<T: SegmentIndex> LazyIndex<T> {
    /// An index opened now (a segment with data, or one being recovered).
    pub fn loaded(path: &Path, base_offset: Offset, index: T) -> Self {
        LazyIndex {
            path: path.to_path_buf(),
            base_offset,
            slot: RwLock::new(Slot::Loaded(index)),
        }
    }

    /// The index of an empty segment, not opened: its file of `file_len`
    /// bytes is left alone until the index is used.
    pub fn empty(path: &Path, base_offset: Offset, file_len: u64) -> Self {
        LazyIndex {
            path: path.to_path_buf(),
            base_offset,
            slot: RwLock::new(Slot::Unloaded {
                file_len,
                grow_to: None,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file has been opened.
    #[cfg(test)]
    pub fn is_loaded(&self) -> bool {
        matches!(*self.slot.read(), Slot::Loaded(_))
    }

    /// Opens the file if needed: emptied (its contents are stale), then
    /// grown to `grow_to`.
    fn load(&self, slot: &mut Slot<T>) -> io::Result<()> {
        let (file_len, grow_to) = match slot {
            Slot::Loaded(_) => return Ok(()),
            Slot::Deleted => return Err(deleted_error(&self.path)),
            Slot::Unloaded { file_len, grow_to } => (*file_len, *grow_to),
        };
        if file_len > 0 {
            empty_file(&self.path)?;
        }
        let size = grow_to.unwrap_or(0);
        let mut index = T::open(
            &self.path,
            self.base_offset,
            size.min(u64::from(u32::MAX)) as u32,
        )?;
        if size > 0 {
            index.resize(size)?;
        }
        *slot = Slot::Loaded(index);
        Ok(())
    }

    /// The index, opened on first use.
    pub fn get(&self) -> io::Result<MappedRwLockReadGuard<'_, T>> {
        let read = self.slot.read();
        let read = match RwLockReadGuard::try_map(read, |s| match s {
            Slot::Loaded(index) => Some(index),
            _ => None,
        }) {
            Ok(index) => return Ok(index),
            Err(read) => read,
        };
        drop(read);
        let mut write = self.slot.write();
        self.load(&mut write)?;
        let read = RwLockWriteGuard::downgrade(write);
        Ok(RwLockReadGuard::map(read, |s| match s {
            Slot::Loaded(index) => index,
            _ => unreachable!("just loaded"),
        }))
    }

    /// The index for writing, opened on first use.
    pub fn get_mut(&self) -> io::Result<MappedRwLockWriteGuard<'_, T>> {
        let mut write = self.slot.write();
        self.load(&mut write)?;
        Ok(RwLockWriteGuard::map(write, |s| match s {
            Slot::Loaded(index) => index,
            _ => unreachable!("just loaded"),
        }))
    }

    /// Full only once opened: an unopened index has no entries.
    pub fn is_full(&self) -> bool {
        match &*self.slot.read() {
            Slot::Loaded(index) => index.is_full(),
            _ => false,
        }
    }

    /// Drops every entry (unopened: it has none).
    pub fn reset(&self) {
        if let Slot::Loaded(index) = &mut *self.slot.write() {
            index.reset();
        }
    }

    /// Sizes the file for appending; an unopened index gets the size when it
    /// is opened.
    pub fn resize(&self, size_bytes: u64) -> io::Result<()> {
        match &mut *self.slot.write() {
            Slot::Loaded(index) => index.resize(size_bytes),
            Slot::Unloaded { grow_to, .. } => {
                *grow_to = Some(size_bytes);
                Ok(())
            }
            Slot::Deleted => Ok(()),
        }
    }

    /// Shrinks the file to its entries; an unopened index has none, so its
    /// file is emptied if it is not already.
    pub fn trim(&self) -> io::Result<()> {
        match &mut *self.slot.write() {
            Slot::Loaded(index) => index.trim(),
            Slot::Unloaded { file_len, grow_to } => {
                *grow_to = None;
                if *file_len > 0 {
                    empty_file(&self.path)?;
                    *file_len = 0;
                }
                Ok(())
            }
            Slot::Deleted => Ok(()),
        }
    }

    /// Writes dirty pages back; nothing to do for an unopened index.
    pub fn flush(&self) -> io::Result<()> {
        match &*self.slot.read() {
            Slot::Loaded(index) => index.flush(),
            _ => Ok(()),
        }
    }

    /// Removes the file (opened or not).
    pub fn delete(&self) -> io::Result<()> {
        let mut slot = self.slot.write();
        match &mut *slot {
            Slot::Loaded(index) => index.delete(),
            Slot::Unloaded { .. } => {
                remove_if_exists(&self.path)?;
                *slot = Slot::Deleted;
                Ok(())
            }
            Slot::Deleted => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    #[test]
    fn an_unused_index_is_not_opened_and_a_used_one_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000007.index");
        // A preallocated file with a stale entry (an untrimmed index of a
        // segment whose `.log` is empty).
        let mut stale = vec![0u8; 80];
        stale[..8].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 9]);
        std::fs::write(&path, &stale).unwrap();
        let index: LazyIndex<OffsetIndex> = LazyIndex::empty(&path, off(7), 80);
        index.resize(64).unwrap();
        index.reset();
        index.flush().unwrap();
        assert!(!index.is_full());
        assert!(!index.is_loaded());
        assert_eq!(std::fs::read(&path).unwrap(), stale, "untouched");
        // First use: emptied, then grown to the pending size.
        assert_eq!(index.get().unwrap().entries(), 0);
        assert!(index.is_loaded());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64);
        index.get_mut().unwrap().append(off(9), 100);
        index.trim().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8);
    }

    #[test]
    fn trim_and_delete_work_unopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.timeindex");
        std::fs::write(&path, [0u8; 120]).unwrap();
        let index: LazyIndex<TimeIndex> = LazyIndex::empty(&path, off(0), 120);
        index.resize(1200).unwrap();
        index.trim().unwrap();
        assert!(!index.is_loaded());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        // Trimmed: opened later, it stays empty (no pending growth).
        assert_eq!(index.get().unwrap().entries(), 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let other = dir.path().join("00000000000000000005.timeindex");
        std::fs::write(&other, []).unwrap();
        let index: LazyIndex<TimeIndex> = LazyIndex::empty(&other, off(5), 0);
        index.delete().unwrap();
        assert!(!other.exists());
        assert!(index.get().is_err(), "a deleted index is not recreated");
        assert!(!other.exists());
    }
}
