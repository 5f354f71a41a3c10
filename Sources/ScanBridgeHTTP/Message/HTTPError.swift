import HTTPTypes
import ScanBridgeCore

/// An error that renders itself as a response. Handlers throw these (or `ScanBridgeError`,
/// which is mapped by its DWT code); anything else becomes a 500.
public protocol HTTPResponseError: Error, Sendable {
    var response: Response { get }
}

/// A DWT error response: `{"code": <int ≤ 0>, "message": "...", "statusCode": <status>}`, with
/// an optional `"cause": {"code", "message"}` for the underlying system error.
public struct HTTPError: HTTPResponseError, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// The DWT error code (≤ 0).
    public var code: Int
    public var message: String
    public var cause: ScanBridgeError.Cause?
    /// Extra header fields (e.g. `Allow` on a 405).
    public var headerFields: HTTPFields

    public init(_ status: HTTPResponse.Status, code: Int = HTTPError.genericCode, message: String,
                cause: ScanBridgeError.Cause? = nil, headerFields: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.cause = cause
        self.headerFields = headerFields
    }

    /// A `ScanBridgeError`, with the HTTP status its DWT code stands for.
    public init(_ error: ScanBridgeError) {
        self.init(Self.status(forDWTCode: error.code), code: error.code, message: error.message, cause: error.cause)
    }

    /// The code of errors that have no DWT code of their own (malformed HTTP, unknown route).
    public static let genericCode = -1

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The HTTP status each DWT error code of the public reference is answered with.
    public static func status(forDWTCode code: Int) -> HTTPResponse.Status {
        switch code {
        case -2112: .methodNotAllowed
        // Parameter not valid; capability or value the device cannot take; index out of
        // range; password too long.
        case -2113, -1006, -1010, -2352, -2849: .badRequest
        // Product key; document password; another origin's job.
        case -2800, -1043, -2801: .forbidden
        case -1004: HTTPResponse.Status(code: 423, reasonPhrase: "Locked")
        // Job, document, device, page or image unknown.
        case -1034, -1040, -1003, -2847, -2399: .notFound
        case -1011: .conflict
        // The buffer is full (page-count limit).
        case -1002: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
        // The scanner stopped answering.
        case -1023: .serviceUnavailable
        // Uploads: unknown upload; the target refused or failed; the target timed out.
        case -2400: .notFound
        case -2401, -2402: .badGateway
        case -2403: .gatewayTimeout
        default: .internalServerError
        }
    }

    public var response: Response {
        var json = JSONWriter()
        json.open("{")
        json.key("code"); json.int(code)
        json.key("message"); json.string(message)
        json.key("statusCode"); json.int(status.code)
        if let cause {
            json.key("cause"); json.open("{")
            json.key("code"); json.int(cause.code)
            json.key("message"); json.string(cause.message)
            json.close("}")
        }
        json.close("}")
        return Response.json(raw: json.bytes, status: status, headerFields: headerFields)
    }

    // MARK: - The common ones

    /// 405 with `Allow` and the DWT code -2112; the message names the allowed methods.
    public static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> HTTPError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return HTTPError(.methodNotAllowed, code: -2112, message: "Method \(method.rawValue) is not allowed; allowed: \(list)",
                         headerFields: [.allow: list])
    }

    /// 400, DWT code -2113 (parameter not valid).
    public static func invalidParameter(_ message: String) -> HTTPError {
        HTTPError(.badRequest, code: -2113, message: message)
    }

    public static func notFound(_ path: String) -> HTTPError {
        HTTPError(.notFound, message: "No such resource: \(path)")
    }

    public static func contentTooLarge(limit: Int) -> HTTPError {
        HTTPError(.contentTooLarge, message: "Request body larger than \(limit) bytes")
    }
}

extension ScanBridgeError: HTTPResponseError {
    public var response: Response { HTTPError(self).response }
}
