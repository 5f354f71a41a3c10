import ScanBridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a writer's bytes go, in order. Implementations may block (file I/O): call them off
/// the cooperative pool.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// The same for an array (by default through its bytes; a sink may keep the array instead).
    func write(_ bytes: [UInt8]) throws
    /// Flushes and releases the destination.
    func close() throws
}

extension ByteSink {
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    func write(_ text: String) throws { try write(Array(text.utf8)) }
}

/// Bytes collected in memory.
public final class MemoryByteSink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
    public func close() throws {}
}

/// Bytes kept in memory in the pieces they were written in, until taken: for passing a writer's
/// output on as it is produced (a PDF streamed to an HTTP response page by page). Large arrays (a
/// page's image data) are kept as they are, not copied; small writes are gathered into one piece.
public final class PieceByteSink: ByteSink {
    private var pieces: [[UInt8]] = []
    private var gathered: [UInt8] = []
    /// Writes from this size on are kept as their own piece.
    static let ownPiece = 64 << 10

    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) throws { gathered.append(contentsOf: bytes) }

    public func write(_ bytes: [UInt8]) throws {
        guard bytes.count >= Self.ownPiece else { return gathered.append(contentsOf: bytes) }
        endGathered()
        pieces.append(bytes)
    }

    public func close() throws {}

    /// The pieces written since the last call, in order, removed from the sink.
    public func take() -> [[UInt8]] {
        endGathered()
        defer { pieces = [] }
        return pieces
    }

    private func endGathered() {
        guard !gathered.isEmpty else { return }
        pieces.append(gathered)
        gathered = []
    }
}

/// A file written with plain POSIX calls (created or truncated, mode 0644).
public final class FileByteSink: ByteSink {
    private var descriptor: Int32
    public let path: String

    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ScanBridgeError(code: ImagingError.code, message: "cannot create \(path)", cause: .errno(errno)) }
    }

    deinit { if descriptor >= 0 { _ = Glibc.close(descriptor) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard descriptor >= 0 else { throw ImagingError.invalid("\(path) is already closed") }
        var done = 0
        while done < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw ScanBridgeError(code: ImagingError.code, message: "cannot write \(path)", cause: .errno(errno))
            }
            done += written
        }
    }

    public func close() throws {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        guard Glibc.close(fd) == 0 else { throw ScanBridgeError(code: ImagingError.code, message: "cannot close \(path)", cause: .errno(errno)) }
    }
}
