import Foundation
import Glibc

/// The sd_notify protocol without libsystemd: each notification is one datagram of
/// newline-separated `KEY=VALUE` assignments sent to the unix socket named by `$NOTIFY_SOCKET`
/// (a filesystem path, or an abstract-namespace name when it starts with `@`).
/// See sd_notify(3). Outside systemd (no `$NOTIFY_SOCKET`) every call is a no-op.
///
/// This is the only file of the lifecycle code that touches sockets and raw pointers.
public struct SystemdNotifier: Sendable {
    /// The socket address, as given in `$NOTIFY_SOCKET`; nil when not running under systemd
    /// with `Type=notify` (or when the value is unusable).
    public let socketPath: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let value = environment["NOTIFY_SOCKET"] ?? ""
        // Absolute paths and abstract names only (sd_notify(3) also allows vsock; we do not).
        socketPath = (value.hasPrefix("/") || value.hasPrefix("@")) && value.utf8.count < 108 ? value : nil
    }

    public var isEnabled: Bool { socketPath != nil }

    public struct NotifyError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Sends one notification, e.g. `"READY=1\nSTATUS=Serving"`. Returns silently when not under
    /// systemd; throws when the socket exists but the datagram could not be sent.
    public func notify(_ state: String) throws(NotifyError) {
        guard let socketPath else { return }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw NotifyError(description: "socket(AF_UNIX) failed: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 } // abstract namespace
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        // Abstract names are not NUL-terminated: the length says where they end. Filesystem
        // paths get their terminating NUL counted too, as sd_notify does.
        let length = socklen_t(pathOffset + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let payload = Array(state.utf8)
        var sent: Int
        repeat {
            sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    payload.withUnsafeBytes { bytes in
                        sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent == payload.count else {
            throw NotifyError(description: "sd_notify to \(socketPath) failed: \(sent < 0 ? String(cString: strerror(errno)) : "short write")")
        }
    }

    /// The watchdog interval systemd expects pings within (`$WATCHDOG_USEC`), when the watchdog
    /// is enabled for this very process (`$WATCHDOG_PID`, when set, must be our pid).
    public static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment,
                                        pid: pid_t = getpid()) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], let ownerPid = pid_t(owner), ownerPid != pid { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }
}
