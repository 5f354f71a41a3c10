// The POSIX file calls of ScanBridgeStorage, each through ScanBridgeCore's funnel (`Syscall`):
// EINTR is retried and a failure is a `SystemCallError` naming the call and the path. Everything
// here blocks: call it on a `BlockingQueue`, never on the cooperative pool.
import ScanBridgeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The storage tests' seam for failures a real disk gives rarely and on no schedule: an armed
/// fault makes the next fsync of a matching path fail with its errno (EIO after a write-back
/// error), so callers are seen to report it rather than retry it into a success. Tests run in
/// parallel, so each arms its own fault on paths only it uses. Unarmed it costs one uncontended
/// lock per fsync.
enum PosixFaults {
    private struct Fault {
        var matches: @Sendable (String) -> Bool
        var errno: Int32
        /// Matching fsyncs still to let through before this one fails.
        var skipping: Int
    }

    private static let armedFsyncs = Mutex<[Fault]>([])
    private static let directRefusedSuffix = Mutex<String?>(nil)

    /// Makes opening a path ending in `pathSuffix` for direct writes fail with EINVAL, as on a
    /// file system without `O_DIRECT`, until `nil` is set again.
    static func refuseDirectWrites(pathSuffix: String?) {
        directRefusedSuffix.withLock { $0 = pathSuffix }
    }

    static func directWritesRefused(path: String) -> Bool {
        directRefusedSuffix.withLock { suffix in suffix.map { path.hasSuffix($0) } ?? false }
    }

    /// Arms one fsync failure for the next fsync of a path ending in `pathSuffix`, after letting
    /// `skipping` matching ones succeed.
    static func failNextFsync(pathSuffix: String, errno: Int32, skipping: Int = 0) {
        armedFsyncs.withLock { $0.append(Fault(matches: { $0.hasSuffix(pathSuffix) }, errno: errno, skipping: skipping)) }
    }

    /// Arms one fsync failure for the next fsync of a path containing `fragment` (for files
    /// whose names end in a random part).
    static func failNextFsync(pathContaining fragment: String, errno: Int32) {
        armedFsyncs.withLock { $0.append(Fault(matches: { $0.contains(fragment) }, errno: errno, skipping: 0)) }
    }

    static func takeFsyncFault(path: String) -> Int32? {
        armedFsyncs.withLock { armed in
            guard let index = armed.firstIndex(where: { $0.matches(path) }) else { return nil }
            if armed[index].skipping > 0 {
                armed[index].skipping -= 1
                return nil
            }
            return armed.remove(at: index).errno
        }
    }
}

enum Posix {
    /// Creates `path` for writing; fails if it exists. Mode 0600: only the service reads its files.
    static func createFile(_ path: String) throws(SystemCallError) -> Int32 {
        try Syscall.checked("open", path: path) { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
    }

    /// Opens an existing file for appending: every write lands at the end.
    static func openForAppending(_ path: String) throws(SystemCallError) -> Int32 {
        try Syscall.checked("open", path: path) { open(path, O_WRONLY | O_APPEND | O_CLOEXEC) }
    }

    /// Reads exactly `buffer.count` bytes at `offset`; false when the file ends first.
    static func readExactly(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int, _ path: String) throws(SystemCallError) -> Bool {
        var done = 0
        while done < buffer.count {
            let got = try Syscall.checked("pread", path: path) { pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done)) }
            if got == 0 { return false }
            done += got
        }
        return true
    }

    /// Fills `bytes` from the file at `offset`; false when the file ends first.
    static func readExactly(_ fd: Int32, into bytes: inout [UInt8], at offset: Int, _ path: String) throws(SystemCallError) -> Bool {
        var outcome: Result<Bool, SystemCallError> = .success(false)
        bytes.withUnsafeMutableBytes { buffer in
            do throws(SystemCallError) { outcome = .success(try readExactly(fd, buffer, at: offset, path)) } catch { outcome = .failure(error) }
        }
        return try outcome.get()
    }

    /// Cuts the file at `length` bytes.
    static func truncate(_ fd: Int32, length: Int, _ path: String) throws(SystemCallError) {
        _ = try Syscall.checked("ftruncate", path: path) { ftruncate(fd, off_t(length)) }
    }

    /// Seconds since the epoch of the file's last modification, or nil when it cannot be read.
    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard (try? Syscall.checked("stat", path: path, { stat(path, &info) })) != nil else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    static func openForReading(_ path: String) throws(SystemCallError) -> Int32 {
        try Syscall.checked("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
    }

    static func close(_ fd: Int32) { Syscall.close(fd) }

    static func fsync(_ fd: Int32, _ path: String) throws(SystemCallError) {
        if let injected = PosixFaults.takeFsyncFault(path: path) {
            throw SystemCallError(call: "fsync", path: path, errno: injected)
        }
        _ = try Syscall.checked("fsync", path: path) { Glibc.fsync(fd) }
    }

    /// fsync of a directory, so that a rename or unlink inside it is durable.
    static func fsyncDirectory(_ path: String) throws(SystemCallError) {
        let fd = try Syscall.checked("open", path: path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try fsync(fd, path)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let written = try Syscall.checked("write", path: path) { write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            offset += written
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(SystemCallError) {
        var failure: SystemCallError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) { try writeAll(fd, raw, path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads exactly `buffer.count` bytes; false when the file ends first.
    static func readExactly(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ path: String) throws(SystemCallError) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let got = try Syscall.checked("read", path: path) { read(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            if got == 0 { return false }
            offset += got
        }
        return true
    }

    static func fileSize(_ fd: Int32, _ path: String) throws(SystemCallError) -> Int {
        var info = stat()
        _ = try Syscall.checked("fstat", path: path) { fstat(fd, &info) }
        return Int(info.st_size)
    }

    enum Kind: Sendable { case file, directory, other }

    /// What `path` is, or nil when it does not exist (lstat: symbolic links are `other`).
    static func kind(_ path: String) throws(SystemCallError) -> Kind? {
        var info = stat()
        do {
            _ = try Syscall.checked("lstat", path: path) { lstat(path, &info) }
        } catch where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    static func rename(_ from: String, _ to: String) throws(SystemCallError) {
        _ = try Syscall.checked("rename", path: from) { Glibc.rename(from, to) }
    }

    /// Removes a file; a missing file is not an error.
    static func unlink(_ path: String) throws(SystemCallError) {
        do {
            _ = try Syscall.checked("unlink", path: path) { Glibc.unlink(path) }
        } catch where error.errno == ENOENT {}
    }

    /// Creates a directory (mode 0700); an existing directory is fine when `existingOK`.
    static func makeDirectory(_ path: String, existingOK: Bool) throws(SystemCallError) {
        do {
            _ = try Syscall.checked("mkdir", path: path) { mkdir(path, 0o700) }
        } catch where error.errno == EEXIST && existingOK && (try? kind(path)) == .directory {}
    }

    /// The names in a directory, without `.` and `..`.
    static func list(_ path: String) throws(SystemCallError) -> [String] {
        let dir = try Syscall.nonNull("opendir", path: path) { opendir(path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes `path` and everything below it (symbolic links are removed, never followed).
    static func removeTree(_ path: String) throws(SystemCallError) {
        guard let what = try kind(path) else { return }
        if what == .directory {
            for name in try list(path) { try removeTree(path + "/" + name) }
            do {
                _ = try Syscall.checked("rmdir", path: path) { rmdir(path) }
            } catch where error.errno == ENOENT {}
        } else {
            try unlink(path)
        }
    }

    /// Opens (creating) `path` and takes an exclusive advisory lock without waiting. Returns the
    /// descriptor holding the lock, or nil when another process (or descriptor) holds it.
    static func tryLock(_ path: String) throws(SystemCallError) -> Int32? {
        let fd = try Syscall.checked("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        do {
            switch try Syscall.nonBlocking("flock", path: path, { flock(fd, LOCK_EX | LOCK_NB) }) {
            case .done: return fd
            case .wouldBlock:
                close(fd)
                return nil
            }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Seconds since `path` was last modified, or nil when it cannot be read.
    static func ageSeconds(_ path: String) -> Double? {
        var info = stat()
        guard (try? Syscall.checked("lstat", path: path, { lstat(path, &info) })) != nil else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec - info.st_mtim.tv_sec)
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
