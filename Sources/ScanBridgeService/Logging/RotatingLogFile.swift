import Foundation
import ScanBridgeCore

/// An append-only log file that rotates by size and keeps a bounded number of old files:
/// `scanbridge.log` → `scanbridge.1.log` → … → `scanbridge.<maxFiles>.log` (then deleted),
/// optionally echoing every line to stderr.
///
/// Writes are blocking I/O, so they happen on the file's own thread (never the cooperative
/// pool); callers only enqueue.
public final class RotatingLogFile: Sendable {
    public let path: String
    private let maxFileSize: Int
    private let maxFiles: Int
    private let echoToStandardError: Bool
    private let thread = DedicatedThreads(name: "sb-log-file")
    // Only touched on `thread`.
    private nonisolated(unsafe) var descriptor: Int32 = -1
    private nonisolated(unsafe) var size = 0

    public init(path: String, maxFileSize: Int, maxFiles: Int, echoToStandardError: Bool = false) throws(ScanBridgeError) {
        self.path = path
        self.echoToStandardError = echoToStandardError
        self.maxFileSize = maxFileSize
        self.maxFiles = maxFiles
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw ScanBridgeError(code: -1, message: "Cannot open the log file \(path)", cause: .errno(errno))
        }
        descriptor = fd
        var status = stat()
        size = fstat(fd, &status) == 0 ? Int(status.st_size) : 0
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Appends `line` to the file; the stderr echo (when enabled) writes `standardError` instead
    /// when given (the journal wants its own form of the line, see `StandardErrorFormat`).
    public func append(_ line: String, standardError: String? = nil) {
        thread.submit { self.write(Array(line.utf8), echo: standardError.map { Array($0.utf8) }) }
    }

    /// Waits until every line appended so far is in the file.
    public func flush() {
        thread.sync {}
    }

    private func write(_ bytes: [UInt8], echo: [UInt8]?) {
        if echoToStandardError { Self.writeAll(STDERR_FILENO, echo ?? bytes) }
        if size > 0, size + bytes.count > maxFileSize { rotate() }
        guard descriptor >= 0 else { return }
        Self.writeAll(descriptor, bytes)
        size += bytes.count
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return // Disk full or similar: dropping a log line beats blocking the service.
            }
            offset += written
        }
    }

    private func rotate() {
        close(descriptor)
        let base = (path as NSString).deletingPathExtension
        let numbered = { (index: Int) in "\(base).\(index).log" }
        unlink(numbered(maxFiles))
        if maxFiles > 1 {
            for index in stride(from: maxFiles - 1, through: 1, by: -1) { rename(numbered(index), numbered(index + 1)) }
        }
        rename(path, numbered(1))
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        size = 0
    }
}
