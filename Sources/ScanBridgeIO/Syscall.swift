// The one funnel every socket syscall of ScanBridgeIO goes through: EINTR is retried, EAGAIN is
// returned as a value, any other errno becomes a typed `IOError`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLibURing

/// The outcome of a non-blocking system call.
enum SyscallResult<Value> {
    case done(Value)
    case wouldBlock
}

extension SyscallResult: Sendable where Value: Sendable {}

extension IOError.Kind {
    /// The kind a system error code maps to.
    init(errno code: Int32) {
        switch code {
        case ECONNRESET, EPIPE, ECONNABORTED: self = .connectionReset
        case ETIMEDOUT: self = .timedOut
        case ECANCELED: self = .cancelled
        default: self = .system
        }
    }
}

extension IOError {
    /// The error for a failed call with `errno` `code`.
    init(errno code: Int32, operation: String) {
        self.init(Kind(errno: code), operation: operation, errno: code)
    }

    /// The system's text for `errno` (e.g. "Connection refused"), empty when there is none.
    public var systemMessage: String {
        errno == 0 ? "" : String(cString: strerror(errno))
    }
}

/// Runs `body` (a libc call returning -1 and setting `errno` on failure) and retries it on
/// EINTR. EAGAIN/EWOULDBLOCK (and EINPROGRESS when `inProgressIsWouldBlock`) come back as
/// `.wouldBlock`.
@inline(__always)
func syscall<T: FixedWidthInteger & SignedInteger>(
    _ operation: StaticString, inProgressIsWouldBlock: Bool = false, _ body: () -> T
) throws(IOError) -> SyscallResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = errno
        switch code {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        case EINPROGRESS where inProgressIsWouldBlock:
            return .wouldBlock
        default:
            throw IOError(errno: code, operation: String(describing: operation))
        }
    }
}

/// A call that must not report EAGAIN (socket, bind, listen, setsockopt, ...).
@inline(__always)
func syscallChecked<T: FixedWidthInteger & SignedInteger>(
    _ operation: StaticString, _ body: () -> T
) throws(IOError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw IOError(errno: code, operation: String(describing: operation))
    }
}

/// `close(2)`, never retried: on Linux the descriptor is gone even when EINTR is reported.
@inline(__always)
func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}
