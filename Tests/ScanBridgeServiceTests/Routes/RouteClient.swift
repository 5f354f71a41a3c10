import Foundation
import HTTPTypes
@testable import ScanBridgeHTTP
import Synchronization
import Testing

/// A response with its body read to the end (a streamed body is run to completion here, as the
/// connection would send it).
struct RouteResponse {
    var status: Int
    var headerFields: HTTPFields
    var body: [UInt8]
    /// Whether the body was produced while sent (PDF, events) rather than held in memory.
    var streamed: Bool

    subscript(field: HTTPField.Name) -> String? { headerFields[field] }

    var contentType: String? { headerFields[.contentType] }
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (an empty one when it is not an object).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// The body as a JSON array (empty when it is not an array).
    var array: [Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [Any] ?? []
    }
}

/// Where a streamed body's producer writes in process: every piece, in order.
private final class CollectingSink: ResponseBodySink {
    private let bytes = Mutex<[UInt8]>([])

    func writeBody(_ piece: [UInt8]) async { bytes.withLock { $0 += piece } }

    var collected: [UInt8] { bytes.withLock { $0 } }
}

extension RouteFixture {
    /// Sends a request through the router (no socket) and reads the whole response.
    func send(_ method: HTTPRequest.Method, _ target: String, headers: HTTPFields = [:], body: [UInt8] = []) async throws -> RouteResponse {
        let response = await router.respond(to: Request(method: method, target: target, headerFields: headers, body: body))
        switch response.body.storage {
        case .bytes(let bytes):
            return RouteResponse(status: response.status.code, headerFields: response.headerFields, body: bytes, streamed: false)
        case .stream(let length, let produce):
            let sink = CollectingSink()
            try await produce(ResponseBodyWriter(sink: sink))
            let bytes = sink.collected
            if let length { #expect(bytes.count == length, "a stream announced with a length writes exactly that many bytes") }
            return RouteResponse(status: response.status.code, headerFields: response.headerFields, body: bytes, streamed: true)
        }
    }

    /// Sends `json` (any JSON text) as the body.
    func send(_ method: HTTPRequest.Method, _ target: String, json: String, headers: HTTPFields = [:]) async throws -> RouteResponse {
        var fields = headers
        fields[.contentType] = "application/json"
        return try await send(method, target, headers: fields, body: Array(json.utf8))
    }

    /// The path and query of an absolute URL this service handed out (`http://localhost/api/…`).
    static func target(of url: String) throws -> String {
        let components = try #require(URLComponents(string: url))
        return components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }
}

/// Checks the DWT error shape: the status, and a body `{code, message, statusCode}` with the
/// same status and the expected code.
func expectDWTError(_ response: RouteResponse, status: Int, code: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "\(response.status) \(response.text)", sourceLocation: sourceLocation)
    #expect(response.contentType == "application/json", sourceLocation: sourceLocation)
    let body = response.object
    #expect(body["statusCode"] as? Int == status, "\(response.text)", sourceLocation: sourceLocation)
    #expect(body["code"] as? Int == code, "\(response.text)", sourceLocation: sourceLocation)
    #expect((body["message"] as? String)?.isEmpty == false, "\(response.text)", sourceLocation: sourceLocation)
}
