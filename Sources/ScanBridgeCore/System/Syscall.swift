// The one funnel for libc calls that return -1 and set errno: sockets (ScanBridgeIO) and files
// (ScanBridgeStorage) both go through it, so EINTR is retried and errno is captured the same way
// everywhere.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: its name, the path it was about (empty for descriptors-only calls such
/// as sockets), and `errno`.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var errno: Int32

    public init(call: String, path: String = "", errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    /// The C library's text for `errno` (e.g. "No such file or directory").
    public var systemMessage: String { String(cString: strerror(errno)) }

    public var description: String {
        path.isEmpty ? "\(call): \(systemMessage) (errno \(errno))" : "\(call) \(path): \(systemMessage) (errno \(errno))"
    }
}

/// The outcome of a call on a non-blocking descriptor: done, or it would have had to wait.
public enum SyscallResult<Value> {
    case done(Value)
    case wouldBlock
}

extension SyscallResult: Sendable where Value: Sendable {}
extension SyscallResult: Equatable where Value: Equatable {}

public enum Syscall {
    /// Runs `body` (a libc call returning a negative value and setting `errno` on failure),
    /// retrying it while it fails with EINTR. EAGAIN/EWOULDBLOCK (and EINPROGRESS when
    /// `inProgressIsWouldBlock`, for a non-blocking connect) come back as `.wouldBlock`; any
    /// other errno is thrown.
    @inlinable
    public static func nonBlocking<T: FixedWidthInteger & SignedInteger>(
        _ call: StaticString, path: String = "", inProgressIsWouldBlock: Bool = false, _ body: () -> T
    ) throws(SystemCallError) -> SyscallResult<T> {
        while true {
            let result = body()
            if result >= 0 { return .done(result) }
            let code = currentErrno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                return .wouldBlock
            case EINPROGRESS where inProgressIsWouldBlock:
                return .wouldBlock
            default:
                throw SystemCallError(call: String(describing: call), path: path, errno: code)
            }
        }
    }

    /// Like `nonBlocking`, for calls where waiting is not a possible outcome (open, fsync,
    /// socket, bind, ...): only EINTR is retried, every other errno is thrown.
    @inlinable
    public static func checked<T: FixedWidthInteger & SignedInteger>(
        _ call: StaticString, path: String = "", _ body: () -> T
    ) throws(SystemCallError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = currentErrno
            if code == EINTR { continue }
            throw SystemCallError(call: String(describing: call), path: path, errno: code)
        }
    }

    /// For calls that return a pointer, NULL on failure with `errno` set (opendir, fopen, ...):
    /// EINTR is retried, every other errno is thrown.
    @inlinable
    public static func nonNull<T>(_ call: StaticString, path: String = "", _ body: () -> T?) throws(SystemCallError) -> T {
        while true {
            if let result = body() { return result }
            let code = currentErrno
            if code == EINTR { continue }
            throw SystemCallError(call: String(describing: call), path: path, errno: code)
        }
    }

    /// `close(2)`, never retried: on Linux the descriptor is released even when EINTR is
    /// reported, and a retry could close a descriptor another thread has just been given.
    @inlinable
    public static func close(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #elseif canImport(Musl)
        _ = Musl.close(fd)
        #endif
    }

    /// The calling thread's `errno` (a name that does not collide with the error's field).
    @inlinable
    public static var currentErrno: Int32 {
        #if canImport(Glibc)
        Glibc.errno
        #elseif canImport(Musl)
        Musl.errno
        #endif
    }
}
