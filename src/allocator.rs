//! The allocator of the kfpguard binary and of the benchmark's baselines
//! (`examples/parse_all.rs`, `examples/stages.rs`), so that all of them measure the same
//! allocator: jemalloc (the default `jemalloc` feature), except on MSVC targets, where it
//! does not build; else the system's.
//!
//! Why not the C library's: the parser allocates for every token and the rules for every
//! command, about a million blocks on the corpus, in two workers at `-j 2`. With glibc's
//! malloc the second worker's arena grows and shrinks its heap as files come and go, and at
//! `-j 2` parse-only spent 30 % more CPU time than at `-j 1` (page faults, `realloc`,
//! `madvise`), so two threads were only 1.3–1.5× as fast as one where two processes got
//! 1.75×. jemalloc's per-thread caches and arenas take that away (`docs/performance.md`).
//!
//! Its one setting: freed pages go back to the system 300 ms after they were last used,
//! not 10 s (jemalloc's default), which a run over the corpus never reaches: resident
//! memory then grew with the number of files linted (33 MB for the corpus, 46 MB for ten
//! copies of it), and stays flat with it (31 → 34 MB).

/// Makes [`Allocator`] the global allocator of the calling binary, with kfpguard's
/// settings. Expands to items, once per binary, in its crate root.
#[macro_export]
macro_rules! use_kfpguard_allocator {
    () => {
        #[global_allocator]
        static GLOBAL_ALLOCATOR: $crate::allocator::Allocator = $crate::allocator::ALLOCATOR;

        // jemalloc reads this string at its first allocation; the symbol must be defined in
        // the binary itself, where the linker cannot leave it out (the library's copy would be
        // dropped as unreferenced). tikv-jemalloc-sys builds jemalloc with the `_rjem_` prefix.
        // (A `feature` here would be the calling crate's: without jemalloc the symbol is
        // simply never read.)
        #[cfg(not(target_env = "msvc"))]
        #[unsafe(export_name = "_rjem_malloc_conf")]
        #[used]
        static JEMALLOC_CONF: &[u8; $crate::allocator::JEMALLOC_CONF.len()] = $crate::allocator::JEMALLOC_CONF;
    };
}

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
pub type Allocator = tikv_jemallocator::Jemalloc;
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
pub const ALLOCATOR: Allocator = tikv_jemallocator::Jemalloc;

#[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
pub type Allocator = std::alloc::System;
#[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
pub const ALLOCATOR: Allocator = std::alloc::System;

/// jemalloc's options (see the module documentation), NUL-terminated for C.
pub const JEMALLOC_CONF: &[u8; 19] = b"dirty_decay_ms:300\0";
