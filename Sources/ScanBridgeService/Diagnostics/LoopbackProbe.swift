// A minimal blocking HTTP(S) client for `scanbridge doctor`: one GET to a local port, to learn
// who holds it. Blocking on purpose: the doctor runs its checks on the command's main thread,
// never on the cooperative pool, and every wait is bounded by socket time-outs.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import COpenSSL
import Foundation
import ScanBridgeCore

/// The answer of one HTTP request: its status line, `Server` header and body.
struct LoopbackAnswer: Sendable, Equatable {
    var statusLine: String
    var status: Int
    var server: String?
    var body: String

    /// ScanBridge's HTTP layer names itself in every response (`Server: ScanBridge`).
    var isScanBridge: Bool { server?.hasPrefix("ScanBridge") ?? false }
}

enum LoopbackProbe {
    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// Sends `GET path` to `host:port` (TLS without certificate checks when `secure`: the goal is
    /// to learn who answers, the certificate has its own check) and reads the answer, giving up
    /// after about `timeout` seconds in each step.
    static func get(host: String, port: Int, path: String, secure: Bool, timeout: Double = 2) throws(Failure) -> LoopbackAnswer {
        let descriptor = try connectedSocket(host: host, port: port, timeout: timeout)
        defer { Syscall.close(descriptor) }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: scanbridge-doctor\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
        let bytes = secure
            ? try exchangeTLS(descriptor, request)
            : try exchangePlain(descriptor, request)
        guard let answer = parse(bytes) else {
            if bytes.isEmpty { throw Failure(description: "the connection was closed without an answer") }
            throw Failure(description: "the answer is not HTTP (\(bytes.count) bytes starting \(printable(bytes.prefix(24))))")
        }
        return answer
    }

    /// Parses an HTTP/1.x response (head and whatever body arrived).
    static func parse(_ bytes: [UInt8]) -> LoopbackAnswer? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let headEnd = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<headEnd.lowerBound].split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = String(lines[0])
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var server: String?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "server" {
                server = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return LoopbackAnswer(statusLine: statusLine, status: status, server: server, body: String(text[headEnd.upperBound...]))
    }

    // MARK: - Sockets

    private static func connectedSocket(host: String, port: Int, timeout: Double) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        let info = first.pointee
        do {
            let descriptor = try Syscall.checked("socket") { socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0) }
            do {
                let flags = try Syscall.checked("fcntl") { fcntl(descriptor, F_GETFL) }
                _ = try Syscall.checked("fcntl") { fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) }
                let started = try Syscall.nonBlocking("connect", inProgressIsWouldBlock: true) {
                    connect(descriptor, info.ai_addr, info.ai_addrlen)
                }
                if case .wouldBlock = started {
                    var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    let ready = try Syscall.checked("poll") { poll(&poller, 1, Int32(timeout * 1000)) }
                    guard ready > 0 else { throw Failure(description: "no connection within \(timeout) s") }
                    var problem: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = try Syscall.checked("getsockopt") { getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &problem, &length) }
                    if problem != 0 { throw SystemCallError(call: "connect", errno: problem) }
                }
                _ = try Syscall.checked("fcntl") { fcntl(descriptor, F_SETFL, flags) }
                var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
                for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
                    _ = try Syscall.checked("setsockopt") { setsockopt(descriptor, SOL_SOCKET, option, &limit, socklen_t(MemoryLayout<timeval>.size)) }
                }
                return descriptor
            } catch {
                Syscall.close(descriptor)
                throw error
            }
        } catch let error as Failure {
            throw error
        } catch let error as SystemCallError {
            throw Failure(description: "cannot connect: \(error.systemMessage)")
        } catch {
            throw Failure(description: "cannot connect: \(error)")
        }
    }

    private static let maximumAnswer = 64 * 1024

    private static func exchangePlain(_ descriptor: Int32, _ request: [UInt8]) throws(Failure) -> [UInt8] {
        var sent = 0
        while sent < request.count {
            do {
                sent += try Syscall.checked("send") {
                    request[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                throw Failure(description: "cannot send the request: \(error.systemMessage)")
            }
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while answer.count < maximumAnswer {
            // A time-out (SO_RCVTIMEO: would block), a reset or the end of the stream ends the
            // answer: what arrived so far is what the peer said.
            guard case .done(let count)? = try? Syscall.nonBlocking("recv", { recv(descriptor, &buffer, buffer.count, 0) }),
                  count > 0 else { break }
            answer += buffer[..<count]
        }
        return answer
    }

    private static func exchangeTLS(_ descriptor: Int32, _ request: [UInt8]) throws(Failure) -> [UInt8] {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw Failure(description: "cannot set up TLS") }
        defer { SSL_CTX_free(context) }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        guard let connection = SSL_new(context) else { throw Failure(description: "cannot set up TLS") }
        defer { SSL_free(connection) }
        SSL_set_fd(connection, descriptor)
        ERR_clear_error()
        guard SSL_connect(connection) == 1 else {
            throw Failure(description: "no TLS handshake (\(lastOpenSSLError() ?? "the peer does not speak TLS or did not answer"))")
        }
        guard SSL_write(connection, request, Int32(request.count)) == Int32(request.count) else {
            throw Failure(description: "cannot send the request over TLS")
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while answer.count < maximumAnswer {
            let count = SSL_read(connection, &buffer, Int32(buffer.count))
            if count <= 0 { break }
            answer += buffer[..<Int(count)]
        }
        SSL_shutdown(connection)
        return answer
    }

    private static func lastOpenSSLError() -> String? {
        let code = ERR_get_error()
        guard code != 0 else { return nil }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        "\"" + String(bytes.map { (32..<127).contains($0) ? Character(UnicodeScalar($0)) : "." }) + "\""
    }
}
