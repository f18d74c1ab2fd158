//! The process's global allocator: the system allocator, except that huge
//! blocks are mapped lazily so that a request claiming an absurd array length
//! cannot abort the broker.
//!
//! Why: the `kafka-protocol` decoders call `Vec::with_capacity(n)` with the
//! array count read off the wire before reading any element. A 20-byte
//! request claiming `i32::MAX` entries asks for hundreds of gigabytes; the
//! kernel's overcommit heuristic refuses that, and a failed allocation aborts
//! the process (it cannot be caught). Blocks of [`HUGE_BLOCK_BYTES`] or more
//! are therefore mapped with `MAP_NORESERVE`: the kernel hands out address
//! space without reserving memory, pages cost something only when touched,
//! and the decoder fails with "buffer underflow" after the few elements the
//! frame really holds. The connection is then closed with a log line, as for
//! any undecodable request. (Under `vm.overcommit_memory=2` the kernel
//! ignores `MAP_NORESERVE` and the guard cannot help.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

/// Blocks at least this large bypass the system allocator. No legitimate
/// allocation in the broker comes near it except a frame buffer when
/// socket.request.max.bytes is raised above it, which works the same way.
pub const HUGE_BLOCK_BYTES: usize = 1 << 30;

const PAGE_ALIGN: usize = 4096;

/// See the module documentation.
pub struct HugeAllocGuard;

#[allow(unsafe_code)] // mmap(2) of huge blocks: the reason this allocator exists
impl HugeAllocGuard {
    fn is_huge(layout: &Layout) -> bool {
        layout.size() >= HUGE_BLOCK_BYTES && layout.align() <= PAGE_ALIGN
    }

    unsafe fn map(size: usize) -> *mut u8 {
        // SAFETY: an anonymous private mapping has no preconditions; the
        // result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            ptr::null_mut()
        } else {
            p.cast()
        }
    }
}

// SAFETY: small blocks are the system allocator's; huge blocks are whole
// anonymous mappings, page aligned (callers asking for more alignment go to
// the system allocator), zero filled, and unmapped with the size they were
// mapped with (the layout passed to dealloc is the one passed to alloc).
#[allow(unsafe_code)] // GlobalAlloc is an unsafe trait
unsafe impl GlobalAlloc for HugeAllocGuard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::is_huge(&layout) {
            unsafe { Self::map(layout.size()) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::is_huge(&layout) {
            unsafe { Self::map(layout.size()) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::is_huge(&layout) {
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = match Layout::from_size_align(new_size, layout.align()) {
            Ok(l) => l,
            Err(_) => return ptr::null_mut(),
        };
        if !Self::is_huge(&layout) && !Self::is_huge(&new_layout) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let new_ptr = unsafe { self.alloc(new_layout) };
        if !new_ptr.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two sizes
            // and are distinct allocations.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new_ptr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)] // drives the allocator's unsafe API directly
    fn a_huge_block_far_beyond_memory_is_mapped_and_usable() {
        // 256 GiB: more than any test machine's RAM plus swap, which the
        // system allocator would refuse.
        let layout = Layout::from_size_align(256 << 30, 8).unwrap();
        let guard = HugeAllocGuard;
        unsafe {
            let p = guard.alloc(layout);
            assert!(!p.is_null());
            *p = 7;
            *p.add((256 << 30) - 1) = 9;
            assert_eq!((*p, *p.add((256 << 30) - 1)), (7, 9));
            guard.dealloc(p, layout);
        }
    }

    #[test]
    #[allow(unsafe_code)] // drives the allocator's unsafe API directly
    fn realloc_across_the_threshold_keeps_the_contents() {
        let guard = HugeAllocGuard;
        let small = Layout::from_size_align(64, 8).unwrap();
        unsafe {
            let p = guard.alloc(small);
            for i in 0..64 {
                *p.add(i) = i as u8;
            }
            let big = guard.realloc(p, small, HUGE_BLOCK_BYTES);
            assert!(!big.is_null());
            assert!((0..64).all(|i| *big.add(i) == i as u8));
            let big_layout = Layout::from_size_align(HUGE_BLOCK_BYTES, 8).unwrap();
            let back = guard.realloc(big, big_layout, 32);
            assert!((0..32).all(|i| *back.add(i) == i as u8));
            guard.dealloc(back, Layout::from_size_align(32, 8).unwrap());
        }
    }
}
