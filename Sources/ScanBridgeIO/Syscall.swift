// Socket syscalls go through ScanBridgeCore's funnel (`Syscall`); this file only turns its
// `SystemCallError` into the module's public `IOError`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ScanBridgeCore

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

    init(_ failure: SystemCallError) {
        self.init(errno: failure.errno, operation: failure.call)
    }

    /// The system's text for `errno` (e.g. "Connection refused"), empty when there is none.
    public var systemMessage: String {
        errno == 0 ? "" : String(cString: strerror(errno))
    }
}

/// `Syscall.nonBlocking` with the module's error type.
@inline(__always)
func syscall<T: FixedWidthInteger & SignedInteger>(
    _ operation: StaticString, inProgressIsWouldBlock: Bool = false, _ body: () -> T
) throws(IOError) -> SyscallResult<T> {
    do {
        return try Syscall.nonBlocking(operation, inProgressIsWouldBlock: inProgressIsWouldBlock, body)
    } catch {
        throw IOError(error)
    }
}

/// `Syscall.checked` with the module's error type (socket, bind, listen, setsockopt, ...).
@inline(__always)
func syscallChecked<T: FixedWidthInteger & SignedInteger>(
    _ operation: StaticString, _ body: () -> T
) throws(IOError) -> T {
    do {
        return try Syscall.checked(operation, body)
    } catch {
        throw IOError(error)
    }
}
