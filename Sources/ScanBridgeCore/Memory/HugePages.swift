#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for large, freshly allocated buffers (a scanned page is 26 MB at A4
/// 300 dpi colour). Debian's kernels default THP to `madvise`, so without the advice every 4 KiB
/// of a new page buffer costs a page fault when first written: a fifth of the service's CPU in a
/// colour batch (perf, `make batch-bench`). With it the kernel maps 2 MiB at a time.
public enum HugePages {
    /// The PMD huge page size on x86-64 and on arm64 with 4 KiB pages.
    public static let size = 2 << 20

    /// Advises the 2 MiB-aligned part of `buffer` to be backed by huge pages. Best effort: when the
    /// kernel has THP disabled, the call fails harmlessly and the buffer keeps 4 KiB pages.
    public static func advise(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count >= 2 * size else { return }
        let mask = UInt(size - 1)
        let start = (UInt(bitPattern: base) + mask) & ~mask
        let end = (UInt(bitPattern: base) + UInt(buffer.count)) & ~mask
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        #if os(Linux)
        _ = madvise(aligned, Int(end - start), MADV_HUGEPAGE)
        #endif
    }
}
