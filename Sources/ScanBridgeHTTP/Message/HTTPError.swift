import HTTPTypes
import ScanBridgeCore

/// An error that renders itself as a response. Anything else a handler throws is rendered by the
/// `HTTPErrorRenderer` the router and the server are given.
public protocol HTTPResponseError: Error, Sendable {
    var response: Response { get }
}

/// An HTTP error answer: a status, a message, an application code and cause that the body
/// carries (`{"code", "message", "statusCode"[, "cause": {"code", "message"}]}`), and extra
/// header fields. The HTTP layer's own answers use `genericCode`; what code an application puts
/// there is the application's business (its `HTTPErrorRenderer` decides).
public struct HTTPError: HTTPResponseError, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// The application's error code (`genericCode` when there is none).
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

    /// The code of errors that carry no application code of their own (malformed HTTP, unknown
    /// route, wrong method): the HTTP layer's own answers.
    public static let genericCode = -1

    public var description: String { "\(status.code) \(code): \(message)" }

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

    /// 405 with `Allow`; the message names the allowed methods.
    public static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> HTTPError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return HTTPError(.methodNotAllowed, message: "Method \(method.rawValue) is not allowed; allowed: \(list)",
                         headerFields: [.allow: list])
    }

    public static func notFound(_ path: String) -> HTTPError {
        HTTPError(.notFound, message: "No such resource: \(path)")
    }

    public static func contentTooLarge(limit: Int) -> HTTPError {
        HTTPError(.contentTooLarge, message: "Request body larger than \(limit) bytes")
    }
}

/// Turns what a handler threw (or an answer the HTTP layer makes itself: 400, 404, 405, 408, 413,
/// 431, 503) into the response. The application supplies one to the router and the server so
/// that every error answer has its shape; `PlainHTTPErrorRenderer` is the default.
public protocol HTTPErrorRenderer: Sendable {
    func response(for error: any Error) -> Response
}

/// Errors that render themselves do; anything else is a 500 naming the error.
public struct PlainHTTPErrorRenderer: HTTPErrorRenderer {
    public init() {}

    public func response(for error: any Error) -> Response {
        if let error = error as? any HTTPResponseError { return error.response }
        return HTTPError(.internalServerError, message: "Internal error: \(error)").response
    }
}
