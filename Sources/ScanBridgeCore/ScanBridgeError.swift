/// The one error type that crosses module boundaries.
///
/// `code` is a DWT error code (≤ 0, see docs/API.md) so that the service can map it to an HTTP
/// status in one place (`DWTStatus`); `cause` carries the underlying system error (an errno, a SANE status,
/// a libcurl code) without losing it.
public struct ScanBridgeError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Cause: Sendable, Equatable {
        public var code: Int
        public var message: String

        public init(code: Int, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var code: Int
    public var message: String
    public var cause: Cause?

    public init(code: Int, message: String, cause: Cause? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        guard let cause else { return message }
        return "\(message) (\(cause.message), code \(cause.code))"
    }
}

extension ScanBridgeError.Cause {
    /// The cause for a failed system call, with the C library's text for `errno`.
    public static func errno(_ value: Int32) -> Self {
        Self(code: Int(value), message: String(cString: strerror(value)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
