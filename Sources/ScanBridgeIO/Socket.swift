// Socket addresses and the synchronous socket set-up calls (socket, bind, listen, options).
// Unsafe pointer code of the socket layer lives here, in Syscall.swift and in the two engines.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
// Also for the socket constants: in some build graphs (the Benchmarks package, with swift-nio) their
// declarations are owned by the C module that included <sys/socket.h> first, not by Glibc.
import CLibURing
import ScanBridgeCore

/// An IPv4 or IPv6 socket address parsed from a literal address and a port.
struct SocketAddress: Sendable, CustomStringConvertible {
    enum Storage: Sendable {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }

    var storage: Storage
    var description: String

    /// Parses `address` ("127.0.0.1", "::1", "[::1]", "0.0.0.0", "::") and `port` (0 ... 65535).
    init(address: String, port: Int) throws(IOError) {
        guard (0...65535).contains(port) else {
            throw IOError(.system, operation: "invalid port \(port)", errno: EINVAL)
        }
        var literal = address
        if literal.hasPrefix("["), literal.hasSuffix("]") {
            literal = String(literal.dropFirst().dropLast())
        }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, literal, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            storage = .v4(v4)
            description = "\(literal):\(port)"
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, literal, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            storage = .v6(v6)
            description = "[\(literal)]:\(port)"
            return
        }
        throw IOError(.system, operation: "invalid IP address literal '\(address)'", errno: EINVAL)
    }

    var family: Int32 {
        switch storage {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    /// Calls `body` with a `sockaddr` pointer and its length.
    func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        switch storage {
        case .v4(var a):
            let size = socklen_t(MemoryLayout<sockaddr_in>.size)
            return try withUnsafePointer(to: &a) { (p) throws(E) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (s) throws(E) -> R in try body(s, size) }
            }
        case .v6(var a):
            let size = socklen_t(MemoryLayout<sockaddr_in6>.size)
            return try withUnsafePointer(to: &a) { (p) throws(E) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (s) throws(E) -> R in try body(s, size) }
            }
        }
    }

    /// A heap copy of the address for operations the kernel reads after the call returns
    /// (io_uring connect). Free with `deallocate()`.
    func heapCopy() -> (UnsafeMutableRawPointer, socklen_t) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<sockaddr_storage>.size,
                                                       alignment: MemoryLayout<sockaddr_storage>.alignment)
        let length = withSockAddr { (p, len) in
            storage.copyMemory(from: UnsafeRawPointer(p), byteCount: Int(len))
            return len
        }
        return (storage, length)
    }
}

enum Socket {
    /// A new TCP socket; non-blocking when the engine waits for readiness (epoll).
    static func makeTCP(family: Int32, nonBlocking: Bool) throws(IOError) -> Int32 {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        return try syscallChecked("socket") { Glibc.socket(family, type, 0) }
    }

    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32, _ operation: StaticString) throws(IOError) {
        var v = value
        _ = try syscallChecked(operation) {
            setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// A bound, listening socket with SO_REUSEADDR. Closes the socket on failure.
    static func makeListener(address: SocketAddress, backlog: Int32, nonBlocking: Bool) throws(IOError) -> (fd: Int32, port: Int) {
        let fd = try makeTCP(family: address.family, nonBlocking: nonBlocking)
        do throws(IOError) {
            try setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, "setsockopt(SO_REUSEADDR)")
            let bound = address.withSockAddr { (p, len) in Glibc.bind(fd, p, len) }
            if bound != 0 {
                let code = errno
                throw IOError(errno: code, operation: "bind \(address)")
            }
            _ = try syscallChecked("listen") { Glibc.listen(fd, backlog) }
            return (fd, try localPort(fd))
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    static func localPort(_ fd: Int32) throws(IOError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (p) throws(IOError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (s) throws(IOError) in
                try syscallChecked("getsockname") { getsockname(fd, s, &length) }
            }
        }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        default:
            return 0
        }
    }

    /// Options every connected stream gets: no Nagle delay (request/response traffic).
    static func configureStream(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// The pending error of a socket (after a non-blocking connect), 0 when none.
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0 { return errno }
        return value
    }

    /// One non-blocking `recv`: the bytes (empty at end of stream), or nil when it would block.
    static func receiveNow(_ fd: Int32, maxLength: Int) throws(IOError) -> [UInt8]? {
        var wouldBlock = false
        var failure: IOError?
        let bytes = [UInt8](unsafeUninitializedCapacity: maxLength) { buffer, count in
            do throws(IOError) {
                switch try syscall("receive", { recv(fd, buffer.baseAddress, maxLength, Int32(MSG_DONTWAIT)) }) {
                case .done(let n): count = n
                case .wouldBlock: wouldBlock = true; count = 0
                }
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        if wouldBlock { return nil }
        // Don't let a small read pin a large buffer.
        if maxLength > 4096 && bytes.count < maxLength / 2 { return Array(bytes) }
        return bytes
    }

    /// One non-blocking `send` of `bytes[offset...]`: the count sent, or nil when it would block.
    /// `more`: MSG_MORE, the kernel may hold the bytes until the next send.
    static func sendNow(_ fd: Int32, _ bytes: [UInt8], from offset: Int, more: Bool = false) throws(IOError) -> Int? {
        let flags = Int32(MSG_NOSIGNAL | MSG_DONTWAIT) | (more ? Int32(MSG_MORE) : 0)
        let result = try syscall("send") {
            bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, flags)
            }
        }
        switch result {
        case .done(let n): return n
        case .wouldBlock: return nil
        }
    }
}
