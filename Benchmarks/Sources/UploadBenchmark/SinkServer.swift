// The sink both contenders upload to: a minimal HTTP/1.1 server on 127.0.0.1 that reads each
// request body to the end, discards it and answers 200, one thread per connection.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

final class SinkServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(fd, 64)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { continue }
                Thread { SinkServer.serve(connection) }.start()
            }
        }.start()
    }

    private static func serve(_ connection: Int32) {
        defer { close(connection) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var header = [UInt8]()
        var bodyStart = 0
        while true {
            let n = read(connection, &buffer, buffer.count)
            if n <= 0 { return }
            header += buffer[0..<n]
            if let end = find(header, [13, 10, 13, 10]) {
                bodyStart = end + 4
                break
            }
        }
        let text = String(decoding: header[0..<bodyStart], as: UTF8.self).lowercased()
        var remaining = 0
        if let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
            remaining = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        if text.contains("expect: 100-continue") {
            let go = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
            _ = write(connection, go, go.count)
        }
        remaining -= header.count - bodyStart
        while remaining > 0 {
            let n = read(connection, &buffer, min(buffer.count, remaining))
            if n <= 0 { return }
            remaining -= n
        }
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
        _ = write(connection, answer, answer.count)
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<index + needle.count].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
