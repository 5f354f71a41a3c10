// Writing one journal record through a fixed staging buffer. Blocking: it runs on the journal's
// thread only. The pointer code of the journal's writes stays in this file.
import ScanBridgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Page-aligned memory a record is assembled in, a chunk at a time, before it is written: one
/// for the journal, reused by every append, so that sealing a page of megabytes neither
/// allocates (fresh memory costs a page fault a 4 KiB) nor keeps a second copy of it.
/// Only the journal's thread touches it, one append at a time (`PageJournal.queue` is serial).
final class JournalStaging: @unchecked Sendable {
    static let capacity = 1 << 20
    let base: UnsafeMutableRawPointer

    init() {
        base = .allocate(byteCount: Self.capacity, alignment: JournalRecord.alignment)
    }

    deinit { base.deallocate() }
}

/// Writes a record's bytes at `offset` of an open journal file: bytes are copied, or encrypted,
/// into the staging buffer and written with `pwrite` whenever it is full and at the end. With
/// a descriptor opened `O_DIRECT` every write goes from the buffer to the disk: the offset,
/// the buffer and every write's length are multiples of `JournalRecord.alignment` (a full
/// buffer, or the record's aligned end).
struct JournalRecordWriter: ~Copyable {
    let fd: Int32
    let path: String
    let staging: JournalStaging
    private(set) var offset: Int
    private var filled = 0

    init(fd: Int32, path: String, offset: Int, staging: JournalStaging) {
        self.fd = fd
        self.path = path
        self.offset = offset
        self.staging = staging
    }

    mutating func put(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { input in
            try transfer(input) { source, destination, count in destination.copyMemory(from: source, byteCount: count) }
        }
    }

    /// Encrypts `bytes` with `gcm` into the record.
    mutating func putEncrypted(_ bytes: [UInt8], with gcm: Crypto.GCM) throws {
        try bytes.withUnsafeBytes { input in
            try transfer(input) { source, destination, count in try gcm.update(source, destination, count: count) }
        }
    }

    /// Writes what the buffer holds. The record's last call.
    mutating func finish() throws {
        try flush()
    }

    private mutating func transfer(_ input: UnsafeRawBufferPointer,
                                   _ move: (UnsafeRawPointer, UnsafeMutableRawPointer, Int) throws -> Void) throws {
        guard let source = input.baseAddress else { return }
        var done = 0
        while done < input.count {
            let count = min(input.count - done, JournalStaging.capacity - filled)
            try move(source + done, staging.base + filled, count)
            filled += count
            done += count
            if filled == JournalStaging.capacity { try flush() }
        }
    }

    private mutating func flush() throws(SystemCallError) {
        var written = 0
        while written < filled {
            let fd = fd, from = staging.base + written, count = filled - written, at = off_t(offset + written)
            written += try Syscall.checked("pwrite", path: path) { pwrite(fd, from, count, at) }
        }
        offset += filled
        filled = 0
    }
}

/// Linux's `O_DIRECT`, which the Glibc module leaves out (it is behind `_GNU_SOURCE`); its value
/// differs by architecture, and where it is not known here records are written buffered.
#if arch(x86_64) || arch(i386)
private let directFlag: Int32 = 0o40000
#elseif arch(arm64) || arch(arm)
private let directFlag: Int32 = 0o200000
#else
private let directFlag: Int32 = 0
#endif

extension Posix {
    /// Opens an existing journal file for writing at explicit offsets, bypassing the page cache
    /// when `direct` (`O_DIRECT`; some file systems refuse it: `EINVAL`).
    static func openForRecords(_ path: String, direct: Bool) throws(SystemCallError) -> Int32 {
        if direct && PosixFaults.directWritesRefused(path: path) { throw SystemCallError(call: "open", path: path, errno: EINVAL) }
        return try Syscall.checked("open", path: path) { open(path, O_WRONLY | O_CLOEXEC | (direct ? directFlag : 0)) }
    }

    /// Turns `O_DIRECT` off on an open descriptor (a record that does not start aligned).
    static func stopDirectWrites(_ fd: Int32, _ path: String) throws(SystemCallError) {
        let flags = try Syscall.checked("fcntl", path: path) { fcntl(fd, F_GETFL) }
        _ = try Syscall.checked("fcntl", path: path) { fcntl(fd, F_SETFL, flags & ~directFlag) }
    }
}
