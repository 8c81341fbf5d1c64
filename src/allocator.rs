//! One setting of the C allocator, made once at start-up, before any thread starts.
//!
//! glibc serves big blocks (a file's text, the node list of a large tree) with `mmap` above
//! a threshold that starts at 128 KiB and rises, up to 32 MiB, each time such a block is
//! freed. Once it has risen, big blocks come from the heap arenas, where each freed big
//! file leaves room that later small allocations pin, and the resident set grows with the
//! number of files linted although the live heap does not: at `-j 2`, 10× the corpus took
//! 27.5 → 32.5 MB of RSS for a heap peak of 18.7 → 18.9 MB. Pinning the threshold keeps
//! big blocks in `mmap`, given back when freed: 26.0 → 26.9 MB. At 256 KiB rather than
//! glibc's initial 128 KiB, because every mapped block costs a map, page faults and an
//! unmap: at 128 KiB parse-only at `-j 2` took 5 % more CPU; at 256 KiB no change in time
//! is measurable on the corpus (`docs/performance.md`). Other allocators (musl, macOS,
//! Windows) give big blocks back on their own.

/// Big blocks from `mmap` at any file count (see the module documentation).
pub fn pin_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets an allocator parameter, and is called before any thread
    // of this process exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
