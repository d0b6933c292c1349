//! Allocator settings for training on the CPU.

/// Makes glibc's allocator keep freed blocks of up to 32 MiB for reuse instead of handing them back to the
/// operating system. A training step frees and allocates the same large activation and gradient buffers
/// again and again; by default glibc serves blocks above 128 KiB with fresh `mmap` pages and unmaps them
/// on free, so each step pays a page fault and the kernel's zeroing for every page it touches (page
/// faults and `memset` were 7% of the reference CNN's training step in `perf`). With this, the reference
/// CNN trains about 10% faster (`scripts/bench_reference_cnn.sh`). Process-wide; call it once at start-up,
/// before training. The peak memory is unchanged; memory freed after the peak is kept by the process.
/// Does nothing on platforms without glibc.
pub fn reuse_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MAX_MMAP_THRESHOLD: libc::c_int = 32 << 20;
        // SAFETY: mallopt only changes allocator parameters; it is called before other threads allocate.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MAX_MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
        }
    }
}
