// Process-wide allocator tuning for a process that holds large page buffers.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum MemoryPolicy {
    /// Makes glibc serve every allocation of 1 MiB or more with its own mmap and return it to the
    /// system when freed. Page buffers are tens of MB and are allocated on one thread (the scanner,
    /// the buffer's I/O queue) and freed on another; with glibc's default dynamic threshold they
    /// land in per-thread heap arenas that keep freed memory, and the process's resident size
    /// grows to a multiple of `BufferMemoryLimit`. Process-wide, so the executable calls it once at
    /// start-up (`scanbridge serve`); idempotent.
    ///
    /// The price is that every such block is memory the kernel zeroes when it is first written.
    /// Scanned pages, the largest and most frequent blocks, avoid it through the scanner
    /// sessions' bounded pool of page buffers (`ByteArrayPool.pageRasters` in ScanBridgeDevices), which
    /// gives a page the buffer of an earlier page that is gone instead of a new one.
    ///
    /// Fixing the mmap threshold also fixes glibc's trim threshold at its 128 KiB default, so
    /// the free top of a heap was given back after every request and the next one faulted it in
    /// again: a BW thumbnail request's few hundred KB of scratch were 4 % of the service's CPU
    /// in page faults (perf, `make batch-bench`). Each heap keeps up to 4 MiB free instead.
    public static func returnLargeAllocationsToSystem() {
        #if canImport(Glibc)
        _ = glibcMallopt(mmapThreshold, 1 << 20)
        _ = glibcMallopt(trimThreshold, 1 << 22)
        #endif
    }

    /// `M_MMAP_THRESHOLD` and `M_TRIM_THRESHOLD` from <malloc.h> (not exported by the Glibc module).
    private static let mmapThreshold: Int32 = -3
    private static let trimThreshold: Int32 = -1
}

#if canImport(Glibc)
/// glibc's `int mallopt(int param, int value)`; <malloc.h> is not part of the Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
