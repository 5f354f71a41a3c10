import HTTPTypes

/// The HTTP version of a request.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

/// How the body of a request is framed (RFC 9112 §6).
public enum HTTPBodyFraming: Sendable, Hashable {
    /// No body (no Content-Length, no Transfer-Encoding, or Content-Length: 0).
    case none
    /// `Content-Length: n`, n > 0.
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
}

/// A parsed request head: the request line and the header fields, with the facts the
/// connection needs (framing, keep-alive, `Expect: 100-continue`) already worked out.
public struct HTTPRequestHead: Sendable, Hashable {
    public var method: HTTPRequest.Method
    /// The request target exactly as sent (origin form `/path?query`, `*`, or absolute form).
    public var target: String
    public var version: HTTPVersion
    public var headerFields: HTTPFields
    public var framing: HTTPBodyFraming
    /// Whether the connection may carry another request after this one.
    public var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request that has a body.
    public var expectsContinue: Bool

    /// The head as a swift-http-types request (authority from `Host`, path = the target).
    public var request: HTTPRequest {
        HTTPRequest(method: method, scheme: nil, authority: headerFields[HTTPField.Name.hostField], path: target, headerFields: headerFields)
    }
}

/// Why a request was rejected. `status` is what the server answers before closing.
public struct HTTPParserError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var reason: String

    public init(_ status: HTTPResponse.Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status.code) \(status.reasonPhrase): \(reason)" }

    static func bad(_ reason: String) -> Self { Self(.badRequest, reason) }
}

/// HTTP/1.1 request parser: a pure state machine. Feed it bytes as they arrive, split anywhere,
/// with `append`, then call `next()` until it answers `.needMoreData`. It does no I/O and keeps
/// no clock; the connection owns timeouts.
///
/// Policies (request-smuggling defences, RFC 9112):
/// - lines end with CRLF; a bare LF or a lone CR is rejected (400);
/// - obsolete line folding (a field line starting with SP/HTAB) is rejected (400);
/// - more than one Content-Length (even equal ones, or a list) is rejected (400);
/// - Content-Length together with Transfer-Encoding is rejected (400);
/// - Transfer-Encoding other than exactly `chunked` is 501, and on HTTP/1.0 it is 400;
/// - HTTP/1.1 without exactly one Host is 400; whitespace before a field's colon is 400;
/// - chunk sizes are hex only, at most 15 digits; chunk lines (with extensions) are bounded;
/// - after any error the parser stays failed: the connection answers and closes.
public struct HTTPRequestParser: Sendable {
    public enum Event: Sendable, Hashable {
        /// Nothing more can be parsed until more bytes are appended.
        case needMoreData
        /// A complete request head. Body events follow, then `.end`.
        case head(HTTPRequestHead)
        /// Some bytes of the current request's body.
        case body([UInt8])
        /// The current request is complete; the next event belongs to the next request.
        case end
        /// The input is malformed or over a limit. Every later call returns the same error.
        case error(HTTPParserError)
    }

    private enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case endOfMessage
        case failed(HTTPParserError)
    }

    public let limits: HTTPLimits
    private var state: State = .head
    private var buffer: [UInt8] = []
    /// Everything before `readIndex` has been consumed.
    private var readIndex = 0
    /// Where the search for the next LF resumes (≥ readIndex).
    private var scanIndex = 0

    // The head being assembled.
    private var requestLine: (method: HTTPRequest.Method, target: String, version: HTTPVersion)?
    private var fields = HTTPFields()
    private var fieldCount = 0
    private var headBytes = 0
    private var leadingEmptyLines = 0
    private var bodyReceived = 0

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Bytes appended but not yet consumed by `next()`.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Whether the parser is between two requests with nothing buffered (a clean place to close).
    public var isIdle: Bool {
        if case .head = state { return requestLine == nil && headBytes == 0 && bufferedByteCount == 0 }
        return false
    }

    /// Whether a request head has been started but not finished.
    public var isReadingHead: Bool {
        if case .head = state { return requestLine != nil || headBytes > 0 || bufferedByteCount > 0 }
        return false
    }

    public mutating func append<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next event the buffered bytes allow.
    public mutating func next() -> Event {
        switch state {
        case .failed(let error):
            return .error(error)
        case .head:
            return parseHead()
        case .fixedBody(let remaining):
            let available = buffer.count - readIndex
            guard available > 0 else { return .needMoreData }
            let take = min(available, remaining)
            let chunk = Array(buffer[readIndex..<readIndex + take])
            consume(take)
            state = remaining == take ? .endOfMessage : .fixedBody(remaining: remaining - take)
            return .body(chunk)
        case .chunkSize:
            return parseChunkSize()
        case .chunkData(let remaining):
            let available = buffer.count - readIndex
            guard available > 0 else { return .needMoreData }
            let take = min(available, remaining)
            let chunk = Array(buffer[readIndex..<readIndex + take])
            consume(take)
            state = remaining == take ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            return .body(chunk)
        case .chunkDataEnd:
            guard buffer.count - readIndex >= 2 else {
                if buffer.count - readIndex == 1 && buffer[readIndex] != .cr { return fail(.bad("chunk data not followed by CRLF")) }
                return .needMoreData
            }
            guard buffer[readIndex] == .cr, buffer[readIndex + 1] == .lf else {
                return fail(.bad("chunk data not followed by CRLF"))
            }
            consume(2)
            state = .chunkSize
            return parseChunkSize()
        case .trailers:
            return parseTrailers()
        case .endOfMessage:
            resetForNextRequest()
            return .end
        }
    }

    // MARK: - Lines

    private enum LineResult {
        case line(Range<Int>)
        case incomplete
        /// More than the allowed bytes before the LF (known as soon as they are buffered, so
        /// the answer doesn't depend on how the input was split).
        case tooLong
        case error(HTTPParserError)
    }

    /// Finds the next CRLF-terminated line from `readIndex` and consumes it (with its CRLF).
    /// `limit` bounds the bytes before the LF (the CR included).
    private mutating func nextLine(limit: Int) -> LineResult {
        let found: Int? = buffer.withUnsafeBufferPointer { bytes in
            var index = scanIndex
            while index < bytes.count {
                if bytes[index] == .lf { return index }
                index += 1
            }
            return nil
        }
        guard let lf = found else {
            scanIndex = buffer.count
            return buffer.count - readIndex > limit ? .tooLong : .incomplete
        }
        if lf - readIndex > limit { return .tooLong }
        guard lf > readIndex, buffer[lf - 1] == .cr else { return .error(.bad("line ends with a bare LF")) }
        let line = readIndex..<(lf - 1)
        readIndex = lf + 1
        scanIndex = readIndex
        return .line(line)
    }

    private mutating func consume(_ count: Int) {
        readIndex += count
        scanIndex = max(scanIndex, readIndex)
    }

    private mutating func fail(_ error: HTTPParserError) -> Event {
        state = .failed(error)
        return .error(error)
    }

    private mutating func resetForNextRequest() {
        state = .head
        requestLine = nil
        fields = HTTPFields()
        fieldCount = 0
        headBytes = 0
        leadingEmptyLines = 0
        bodyReceived = 0
    }

    // MARK: - Head

    private mutating func parseHead() -> Event {
        while true {
            let lineStart = readIndex
            // The whole head (CRLFs included) must fit in maxHeaderBytes; the request line (CRLF
            // excluded) in maxRequestLineLength.
            let headBudget = limits.maxHeaderBytes - headBytes - 1
            let lineBudget = requestLine == nil ? min(limits.maxRequestLineLength + 1, headBudget) : headBudget
            switch nextLine(limit: max(lineBudget, 0)) {
            case .error(let error):
                return fail(error)
            case .incomplete:
                return .needMoreData
            case .tooLong:
                if requestLine == nil && limits.maxRequestLineLength + 1 <= headBudget {
                    return fail(HTTPParserError(.uriTooLong, "request line longer than \(limits.maxRequestLineLength) bytes"))
                }
                return fail(HTTPParserError(.requestHeaderFieldsTooLarge, "request head larger than \(limits.maxHeaderBytes) bytes"))
            case .line(let line):
                headBytes += readIndex - lineStart
                if requestLine == nil {
                    if line.isEmpty {
                        // RFC 9112 §2.2: ignore at least one empty line before the request line.
                        leadingEmptyLines += 1
                        headBytes = 0
                        if leadingEmptyLines > 8 { return fail(.bad("too many empty lines before the request line")) }
                        continue
                    }
                    switch parseRequestLine(line) {
                    case .success(let parsed): requestLine = parsed
                    case .failure(let error): return fail(error)
                    }
                    continue
                }
                if line.isEmpty { return finishHead() }
                if let error = parseFieldLine(line, into: &fields) { return fail(error) }
                fieldCount += 1
                if fieldCount > limits.maxHeaderCount {
                    return fail(HTTPParserError(.requestHeaderFieldsTooLarge, "more than \(limits.maxHeaderCount) header fields"))
                }
            }
        }
    }

    private func parseRequestLine(_ line: Range<Int>) -> Result<(method: HTTPRequest.Method, target: String, version: HTTPVersion), HTTPParserError> {
        guard let firstSpace = buffer[line].firstIndex(of: .space) else { return .failure(.bad("malformed request line")) }
        let methodBytes = buffer[line.lowerBound..<firstSpace]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(\.isTokenCharacter),
              let method = HTTPRequest.Method(String(decoding: methodBytes, as: UTF8.self)) else {
            return .failure(.bad("malformed method"))
        }
        let rest = (firstSpace + 1)..<line.upperBound
        guard let secondSpace = buffer[rest].firstIndex(of: .space) else { return .failure(.bad("malformed request line")) }
        let targetBytes = buffer[rest.lowerBound..<secondSpace]
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(.bad("malformed request target"))
        }
        let first = targetBytes.first!
        let originForm = first == UInt8(ascii: "/")
        let asterisk = targetBytes.count == 1 && first == UInt8(ascii: "*")
        let absoluteForm = targetBytes.starts(with: Array("http://".utf8)) || targetBytes.starts(with: Array("https://".utf8))
        let authorityForm = method == .connect
        guard originForm || asterisk || absoluteForm || authorityForm else {
            return .failure(.bad("request target must be an absolute path"))
        }
        if asterisk && method != .options { return .failure(.bad("'*' is only valid with OPTIONS")) }
        let versionBytes = buffer[(secondSpace + 1)..<line.upperBound]
        guard versionBytes.count == 8, versionBytes.starts(with: Array("HTTP/".utf8)) else {
            return .failure(.bad("malformed HTTP version"))
        }
        let major = versionBytes[versionBytes.startIndex + 5], dot = versionBytes[versionBytes.startIndex + 6]
        let minor = versionBytes[versionBytes.startIndex + 7]
        guard major.isDigit, dot == UInt8(ascii: "."), minor.isDigit else { return .failure(.bad("malformed HTTP version")) }
        let version = HTTPVersion(major: Int(major - 0x30), minor: Int(minor - 0x30))
        guard version == .http1_1 || version == .http1_0 else {
            return .failure(HTTPParserError(.httpVersionNotSupported, "\(version) is not supported"))
        }
        return .success((method, String(decoding: targetBytes, as: UTF8.self), version))
    }

    /// Parses `name: value` into `fields`; returns an error for a malformed line.
    private func parseFieldLine(_ line: Range<Int>, into fields: inout HTTPFields) -> HTTPParserError? {
        let firstByte = buffer[line.lowerBound]
        if firstByte == .space || firstByte == .tab { return .bad("obsolete line folding is not accepted") }
        guard let colon = buffer[line].firstIndex(of: .colon) else { return .bad("header field without a colon") }
        let nameBytes = buffer[line.lowerBound..<colon]
        guard !nameBytes.isEmpty else { return .bad("empty header field name") }
        guard nameBytes.allSatisfy(\.isTokenCharacter) else {
            return .bad("invalid header field name (whitespace before the colon, or a non-token byte)")
        }
        var start = colon + 1, end = line.upperBound
        while start < end, buffer[start] == .space || buffer[start] == .tab { start += 1 }
        while end > start, buffer[end - 1] == .space || buffer[end - 1] == .tab { end -= 1 }
        let valueBytes = buffer[start..<end]
        guard valueBytes.allSatisfy({ $0 == .tab || ($0 >= 0x20 && $0 != 0x7F) }) else {
            return .bad("control character in a header field value")
        }
        guard let name = HTTPField.Name(String(decoding: nameBytes, as: UTF8.self)) else {
            return .bad("invalid header field name")
        }
        fields.append(HTTPField(name: name, value: valueBytes))
        return nil
    }

    private mutating func finishHead() -> Event {
        guard let (method, target, version) = requestLine else { return fail(.bad("missing request line")) }
        let hosts = fields[values: .hostField]
        if version == .http1_1 && hosts.count != 1 { return fail(.bad(hosts.isEmpty ? "missing Host header" : "more than one Host header")) }
        if hosts.count > 1 { return fail(.bad("more than one Host header")) }

        let transferEncodings = fields[values: .transferEncoding]
        let contentLengths = fields[values: .contentLength]
        var framing = HTTPBodyFraming.none
        if !transferEncodings.isEmpty {
            guard contentLengths.isEmpty else { return fail(.bad("both Content-Length and Transfer-Encoding")) }
            guard version == .http1_1 else { return fail(.bad("Transfer-Encoding on an HTTP/1.0 request")) }
            let codings = transferEncodings.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingHTTPWhitespace().lowercased() }
            guard codings.last == "chunked" else { return fail(.bad("Transfer-Encoding does not end with chunked")) }
            guard codings.count == 1 else {
                return fail(HTTPParserError(.notImplemented, "only Transfer-Encoding: chunked is supported"))
            }
            framing = .chunked
        } else if !contentLengths.isEmpty {
            guard contentLengths.count == 1 else { return fail(.bad("more than one Content-Length")) }
            let text = contentLengths[0]
            guard !text.isEmpty, text.utf8.allSatisfy(\.isDigit) else { return fail(.bad("invalid Content-Length")) }
            guard text.utf8.count <= 15, let length = Int(text) else {
                return fail(HTTPParserError(.contentTooLarge, "body larger than \(limits.maxBodySize) bytes"))
            }
            if length > limits.maxBodySize {
                return fail(HTTPParserError(.contentTooLarge, "body larger than \(limits.maxBodySize) bytes"))
            }
            framing = length == 0 ? .none : .length(length)
        }

        var expectsContinue = false
        if let expect = fields[.expect] {
            guard expect.trimmingHTTPWhitespace().lowercased() == "100-continue" else {
                return fail(HTTPParserError(.expectationFailed, "unsupported expectation \"\(expect)\""))
            }
            expectsContinue = version == .http1_1 && framing != .none
        }

        let connection = fields[values: .connection].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingHTTPWhitespace().lowercased() }
        let keepAlive = version == .http1_1 ? !connection.contains("close") : connection.contains("keep-alive")

        let head = HTTPRequestHead(method: method, target: target, version: version, headerFields: fields,
                                   framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue)
        switch framing {
        case .none: state = .endOfMessage
        case .length(let length): state = .fixedBody(remaining: length)
        case .chunked: state = .chunkSize
        }
        fields = HTTPFields()
        fieldCount = 0
        headBytes = 0
        return .head(head)
    }

    // MARK: - Chunked body

    private mutating func parseChunkSize() -> Event {
        switch nextLine(limit: max(limits.maxChunkLineLength - 1, 0)) {
        case .error(let error):
            return fail(error)
        case .incomplete:
            return .needMoreData
        case .tooLong:
            return fail(.bad("chunk size line longer than \(limits.maxChunkLineLength) bytes"))
        case .line(let line):
            var index = line.lowerBound, size = 0, digits = 0
            while index < line.upperBound, let value = buffer[index].hexValue {
                digits += 1
                guard digits <= 15 else { return fail(HTTPParserError(.contentTooLarge, "chunk size too large")) }
                size = size << 4 | value
                index += 1
            }
            guard digits > 0 else { return fail(.bad("invalid chunk size")) }
            while index < line.upperBound, buffer[index] == .space || buffer[index] == .tab { index += 1 }
            if index < line.upperBound {
                guard buffer[index] == .semicolon else { return fail(.bad("invalid chunk size")) }
                let extensionBytes = buffer[index..<line.upperBound]
                guard extensionBytes.allSatisfy({ $0 == .tab || ($0 >= 0x20 && $0 != 0x7F) }) else {
                    return fail(.bad("control character in a chunk extension"))
                }
            }
            if size == 0 {
                state = .trailers
                return parseTrailers()
            }
            guard size <= limits.maxBodySize - bodyReceived else {
                return fail(HTTPParserError(.contentTooLarge, "body larger than \(limits.maxBodySize) bytes"))
            }
            bodyReceived += size
            state = .chunkData(remaining: size)
            return next()
        }
    }

    private mutating func parseTrailers() -> Event {
        while true {
            let lineStart = readIndex
            switch nextLine(limit: max(limits.maxHeaderBytes - headBytes - 1, 0)) {
            case .error(let error):
                return fail(error)
            case .incomplete:
                return .needMoreData
            case .tooLong:
                return fail(HTTPParserError(.requestHeaderFieldsTooLarge, "trailer section larger than \(limits.maxHeaderBytes) bytes"))
            case .line(let line):
                headBytes += readIndex - lineStart
                if line.isEmpty {
                    resetForNextRequest()
                    return .end
                }
                // Trailer fields are checked and dropped: nothing in ScanBridge uses them.
                var trailers = HTTPFields()
                if let error = parseFieldLine(line, into: &trailers) { return fail(error) }
                fieldCount += 1
                if fieldCount > limits.maxHeaderCount {
                    return fail(HTTPParserError(.requestHeaderFieldsTooLarge, "more than \(limits.maxHeaderCount) trailer fields"))
                }
            }
        }
    }
}

extension UInt8 {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")

    var isDigit: Bool { self >= 0x30 && self <= 0x39 }

    var hexValue: Int? {
        switch self {
        case 0x30...0x39: Int(self - 0x30)
        case 0x41...0x46: Int(self - 0x41 + 10)
        case 0x61...0x66: Int(self - 0x61 + 10)
        default: nil
        }
    }

    /// RFC 9110 `tchar`.
    var isTokenCharacter: Bool {
        switch self {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}

extension StringProtocol {
    func trimmingHTTPWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}

extension HTTPField.Name {
    /// `Host`: swift-http-types hides its own constant (HTTP/2 uses `:authority`); HTTP/1.1 needs it.
    public static let hostField = HTTPField.Name("Host")!
}
