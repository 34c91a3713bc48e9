//! Memory accounting: what one built peer costs on the heap, and the
//! process's peak resident set.
//!
//! The simulator builds an [`IntermediatePeer`](stun_turn_discovery::IntermediatePeer)
//! (and its `CandidateTable`, §3.3.1) only for the peers a run touches, so
//! the cost that decides how far it scales is the heap a built peer holds.
//! A counting global allocator keeps, per thread, the bytes and the number
//! of allocations live; `network` reads them around each peer's build, so
//! the figure is exact and does not depend on what other threads do.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting per thread what is allocated and freed.
struct Counting;

thread_local! {
    /// Bytes allocated minus bytes freed on this thread.
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
    /// Allocations made on this thread (a `realloc` counts as one).
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// const-initialised thread-locals, which never allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64, 1);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64, 1);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64), 0);
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64, 1);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn count(bytes: i64, allocations: u64) {
    // `try_with`: during thread teardown the counters may be gone.
    let _ = LIVE_BYTES.try_with(|b| b.set(b.get() + bytes));
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + allocations));
}

/// This thread's heap counters at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeapMark {
    live_bytes: i64,
    allocations: u64,
}

impl HeapMark {
    /// The counters now.
    pub(crate) fn now() -> Self {
        Self {
            live_bytes: LIVE_BYTES.with(Cell::get),
            allocations: ALLOCATIONS.with(Cell::get),
        }
    }

    /// Bytes still live that were allocated on this thread since `self`,
    /// and the allocations made since (freed or not).
    pub(crate) fn since(self) -> (i64, u64) {
        let now = Self::now();
        (
            now.live_bytes - self.live_bytes,
            now.allocations - self.allocations,
        )
    }
}

/// The process's peak resident set so far, in MiB (`VmHWM` in
/// `/proc/self/status`): the whole process, every thread and every scenario
/// run so far, not one scenario's own. 0 where `/proc` is not available.
pub(crate) fn peak_rss_mb() -> f64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0.0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_this_threads_heap() {
        let mark = HeapMark::now();
        let v: Vec<u64> = Vec::with_capacity(100);
        let (bytes, allocs) = mark.since();
        assert_eq!((bytes, allocs), (800, 1));
        drop(v);
        assert_eq!(mark.since().0, 0);
        assert!(peak_rss_mb() > 0.0);
    }
}
