#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import ScanBridgeIO

/// A response: status, header fields (swift-http-types) and a body. The server adds the
/// framing fields (Content-Length or Transfer-Encoding, Connection, Date) itself.
public struct Response: Sendable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: ResponseBody

    public init(status: HTTPResponse.Status = .ok, headerFields: HTTPFields = [:], body: ResponseBody = .empty) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// The swift-http-types view of the head.
    public var httpResponse: HTTPResponse { HTTPResponse(status: status, headerFields: headerFields) }

    /// `value` encoded as JSON (`Content-Type: application/json`).
    public static func json<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok,
                                              headerFields: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return json(raw: [UInt8](data), status: status, headerFields: headerFields)
    }

    /// Bytes that already are JSON.
    public static func json(raw: [UInt8], status: HTTPResponse.Status = .ok, headerFields: HTTPFields = [:]) -> Response {
        var fields = headerFields
        fields[.contentType] = "application/json"
        return Response(status: status, headerFields: fields, body: .bytes(raw))
    }

    public static func text(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headerFields: [.contentType: contentType], body: .bytes(Array(text.utf8)))
    }

    public static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        text(html, status: status, contentType: "text/html; charset=utf-8")
    }

    /// Binary content (an image, a PDF): answers `Range` requests with 206 and `Accept-Ranges: bytes`.
    public static func binary(_ bytes: [UInt8], contentType: String, status: HTTPResponse.Status = .ok,
                              headerFields: HTTPFields = [:]) -> Response {
        var fields = headerFields
        fields[.contentType] = contentType
        var body = ResponseBody.bytes(bytes)
        body.acceptsRanges = true
        return Response(status: status, headerFields: fields, body: body)
    }

    public static var noContent: Response { Response(status: .noContent) }

    /// A body produced while it is sent (a page while it is encoded). With `length` it goes out
    /// with Content-Length (the producer must write exactly that many bytes); without, chunked.
    public static func stream(status: HTTPResponse.Status = .ok, headerFields: HTTPFields = [:], length: Int? = nil,
                              _ produce: @escaping @Sendable (ResponseBodyWriter) async throws -> Void) -> Response {
        Response(status: status, headerFields: headerFields, body: .stream(length: length, produce))
    }

    /// Server-sent events (`text/event-stream`): `produce` sends events until it returns or the
    /// client goes away (then `send` throws).
    public static func eventStream(headerFields: HTTPFields = [:],
                                   _ produce: @escaping @Sendable (EventStreamWriter) async throws -> Void) -> Response {
        var fields = headerFields
        fields[.contentType] = "text/event-stream"
        fields[.cacheControl] = "no-cache"
        return stream(headerFields: fields) { writer in try await produce(EventStreamWriter(writer: writer)) }
    }
}

/// A response body: bytes in memory, or a producer that writes it while it is sent.
public struct ResponseBody: Sendable {
    enum Storage: Sendable {
        case bytes([UInt8])
        case stream(length: Int?, @Sendable (ResponseBodyWriter) async throws -> Void)
    }

    var storage: Storage
    /// Whether `Range: bytes=…` requests are served from this body (206/416).
    public var acceptsRanges = false

    public static let empty = ResponseBody(storage: .bytes([]))

    public static func bytes(_ bytes: [UInt8]) -> ResponseBody { ResponseBody(storage: .bytes(bytes)) }

    public static func stream(length: Int? = nil, _ produce: @escaping @Sendable (ResponseBodyWriter) async throws -> Void) -> ResponseBody {
        ResponseBody(storage: .stream(length: length, produce))
    }

    /// The bytes of an in-memory body (nil for a stream).
    public var bytes: [UInt8]? {
        if case .bytes(let bytes) = storage { return bytes }
        return nil
    }
}

/// Where the connection sends a streamed body.
protocol ResponseBodySink: Sendable {
    func writeBody(_ bytes: [UInt8]) async throws(IOError)
}

/// Writes a streamed response body. Each `write` goes to the client before it returns (with
/// chunked framing when the length was not given); it throws once the client has gone away.
public struct ResponseBodyWriter: Sendable {
    let sink: any ResponseBodySink

    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await sink.writeBody(bytes)
    }

    public func write(_ text: String) async throws { try await write(Array(text.utf8)) }
}

/// One server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html).
public struct ServerSentEvent: Sendable, Hashable {
    public var event: String?
    public var data: String
    public var id: String?
    /// Reconnection time in milliseconds.
    public var retry: Int?

    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }

    /// The event in wire form; multi-line data becomes several `data:` lines, and line breaks
    /// in `event`/`id` are removed so that a value can't inject fields.
    public var encoded: [UInt8] {
        var text = ""
        func clean(_ value: String) -> String { value.filter { $0 != "\n" && $0 != "\r" } }
        if let id { text += "id: \(clean(id))\n" }
        if let event { text += "event: \(clean(event))\n" }
        if let retry { text += "retry: \(retry)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            text += "data: \(line.filter { $0 != "\r" })\n"
        }
        text += "\n"
        return Array(text.utf8)
    }
}

/// Sends server-sent events on a streamed response.
public struct EventStreamWriter: Sendable {
    let writer: ResponseBodyWriter

    public func send(_ event: ServerSentEvent) async throws { try await writer.write(event.encoded) }

    /// A comment line: keeps proxies and idle timers from closing a quiet stream.
    public func heartbeat(_ comment: String = "") async throws {
        try await writer.write(Array(": \(comment.filter { $0 != "\n" && $0 != "\r" })\n\n".utf8))
    }
}
