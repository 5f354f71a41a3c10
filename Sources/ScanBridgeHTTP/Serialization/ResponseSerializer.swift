#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import HTTPTypes
import Synchronization

/// How a response body is delimited on the wire.
enum ResponseFraming: Equatable {
    /// No body at all (1xx, 204, 304).
    case none
    case contentLength(Int)
    case chunked
    /// HTTP/1.0 client, length unknown: the body ends when the connection closes.
    case untilClose
}

/// Turns response heads and body pieces into bytes. Pure, apart from the cached Date.
enum ResponseSerializer {
    static let serverName = "ScanBridge"

    /// The framing for `response` to a request with `method` and `version`.
    static func framing(for response: Response, method: HTTPRequest.Method, version: HTTPVersion) -> ResponseFraming {
        let code = response.status.code
        if code < 200 || code == 204 || code == 304 { return .none }
        switch response.body.storage {
        case .bytes(let bytes):
            return .contentLength(bytes.count)
        case .stream(let length, _):
            if let length { return .contentLength(length) }
            return version == .http1_1 ? .chunked : .untilClose
        }
    }

    /// Status line and header fields, ending with the empty line.
    /// For HEAD, pass the framing a GET would get: the fields are the same, the body is left out.
    static func head(_ response: Response, framing: ResponseFraming, keepAlive: Bool, version: HTTPVersion) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out += "HTTP/1.1 ".utf8
        appendDecimal(response.status.code, to: &out)
        out.append(.space)
        out += response.status.reasonPhrase.utf8
        out += "\r\n".utf8
        for field in response.headerFields {
            // The server owns framing fields: a handler's own are dropped rather than duplicated.
            if field.name == .contentLength || field.name == .transferEncoding || field.name == .connection { continue }
            out += field.name.rawName.utf8
            out += ": ".utf8
            out += field.value.utf8
            out += "\r\n".utf8
        }
        switch framing {
        case .contentLength(let length):
            out += "Content-Length: ".utf8
            appendDecimal(length, to: &out)
            out += "\r\n".utf8
        case .chunked:
            out += "Transfer-Encoding: chunked\r\n".utf8
        case .none, .untilClose:
            break
        }
        if !keepAlive {
            out += "Connection: close\r\n".utf8
        } else if version == .http1_0 {
            out += "Connection: keep-alive\r\n".utf8
        }
        if response.headerFields[.date] == nil {
            out += "Date: ".utf8
            out += HTTPDate.current()
            out += "\r\n".utf8
        }
        if response.headerFields[.server] == nil {
            out += "Server: \(serverName)\r\n".utf8
        }
        out += "\r\n".utf8
        return out
    }

    /// One chunk of a chunked body (size line, data, CRLF).
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        let (open, close) = chunkFrame(bytes.count)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + open.count + close.count)
        out += open
        out += bytes
        out += close
        return out
    }

    /// What goes before and after `count` bytes of data to make them one chunk.
    static func chunkFrame(_ count: Int) -> (open: [UInt8], close: [UInt8]) {
        (Array((String(count, radix: 16) + "\r\n").utf8), Array("\r\n".utf8))
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    @inline(__always)
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 10 { out.append(UInt8(0x30 + value)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 && count < 20 {
                buffer[count] = UInt8(0x30 + rest % 10)
                rest /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }
}

/// The IMF-fixdate for the Date field, computed at most once a second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: [UInt8])>((-1, []))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func current() -> [UInt8] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let second = Int(now.tv_sec)
        if let cached = cache.withLock({ $0.second == second ? $0.text : nil }) { return cached }
        let text = Array(format(seconds: second).utf8)
        cache.withLock { $0 = (second, text) }
        return text
    }

    static func format(seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
