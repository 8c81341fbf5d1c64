//! One setting of the C allocator, made once at start-up, before any thread starts.
//!
//! glibc serves big blocks (a file's text, the node list of a large tree) with `mmap` above
//! a threshold that starts at 128 KiB and rises, up to 32 MiB, each time such a block is
//! freed. Once it has risen, big blocks come from the heap arenas, where each freed big
//! file leaves room that later small allocations pin, and the resident set grows with the
//! number of files linted although the live heap does not: at `-j 2`, 10× the corpus took
//! 28 → 34 MB of RSS for a heap peak of 18.7 → 18.9 MB. Pinning the threshold at its
//! initial value keeps big blocks in `mmap`, given back when freed: 26.4 → 27.4 MB, with no
//! change in time measurable on the corpus (`docs/performance.md`). Other allocators
//! (musl, macOS, Windows) return big blocks on their own.

/// Big blocks from `mmap` at any file count (see the module documentation).
pub fn pin_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets an allocator parameter, and is called before any thread
    // of this process exists; the value is glibc's own default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
