import HTTPTypes
import ScanBridgeCore

/// A route handler: gets the request (with path parameters filled in) and returns a response,
/// or throws; the router's `errorRenderer` turns what it throws into the response.
public typealias RouteHandler = @Sendable (Request) async throws -> Response

/// Runs around every routed request (Host checks, CORS, logging…): call `next` to continue.
public typealias Middleware = @Sendable (Request, _ next: RouteHandler) async throws -> Response

/// What the server asks for a response. `Router` is one; anything else can be.
public protocol HTTPResponder: Sendable {
    /// Never throws: errors are rendered as responses.
    func respond(to request: Request) async -> Response
}

/// The result of looking a path up.
public enum RouteMatch: Sendable {
    case handler(RouteHandler, Parameters)
    /// The path exists, not with this method.
    case methodNotAllowed(allowed: [HTTPRequest.Method])
    case notFound
}

/// A small router: literal segments, `{name}` parameters (one segment), and a trailing
/// `{name...}` that takes the rest of the path. Literals win over parameters, parameters over
/// the rest-of-path. `HEAD` falls back to the `GET` handler (the server drops the body). A path
/// that exists with other methods answers 405 with `Allow`. Errors, the router's own 404 and 405
/// included, are rendered by `errorRenderer`.
///
/// ```swift
/// var router = Router()
/// router.get("/api/server") { request in try .json(settings) }
/// router.delete("/api/device/scanners/jobs/{jobuid}") { request in
///     let uid = try request.parameters.require("jobuid")
///     …
///     return .noContent
/// }
/// router.use { request, next in /* before */ let response = try await next(request); /* after */ return response }
/// ```
public struct Router: HTTPResponder {
    private struct Node: Sendable {
        var literals: [String: Node] = [:]
        var parameterName: String?
        var parameterChild: [Node] = []   // zero or one element
        var restName: String?
        var restHandlers: [HTTPRequest.Method: RouteHandler] = [:]
        var handlers: [HTTPRequest.Method: RouteHandler] = [:]
        var methodOrder: [HTTPRequest.Method] = []
        var restMethodOrder: [HTTPRequest.Method] = []
        /// The pattern that registered `handlers` (and `restHandlers`), as `Request.route` reports it.
        var pattern: String?
        var restPattern: String?
    }

    private var root = Node()
    private var middlewares: [Middleware] = []
    /// Answers requests no route matches; by default a 404.
    public var notFoundHandler: RouteHandler = { request in throw HTTPError.notFound(request.path) }
    /// Renders what handlers and middleware throw.
    public var errorRenderer: any HTTPErrorRenderer = PlainHTTPErrorRenderer()

    public init() {}

    // MARK: - Building

    /// Adds a handler for `method` on `pattern` (e.g. `/api/storage/documents/{uid}/content`).
    public mutating func on(_ method: HTTPRequest.Method, _ pattern: String, use handler: @escaping RouteHandler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        Self.insert(into: &root, segments: segments[...], pattern: "/" + segments.joined(separator: "/"), method: method, handler: handler)
    }

    private static func insert(into node: inout Node, segments: ArraySlice<String>, pattern: String, method: HTTPRequest.Method,
                               handler: @escaping RouteHandler) {
        guard let segment = segments.first else {
            node.pattern = pattern
            if node.handlers[method] == nil { node.methodOrder.append(method) }
            node.handlers[method] = handler
            return
        }
        if segment.hasPrefix("{") && segment.hasSuffix("...}") {
            precondition(segments.count == 1, "a {rest...} segment must be the last one")
            node.restName = String(segment.dropFirst().dropLast(4))
            node.restPattern = pattern
            if node.restHandlers[method] == nil { node.restMethodOrder.append(method) }
            node.restHandlers[method] = handler
        } else if segment.hasPrefix("{") && segment.hasSuffix("}") {
            let name = String(segment.dropFirst().dropLast())
            precondition(node.parameterName == nil || node.parameterName == name,
                         "conflicting parameter names {\(node.parameterName ?? "")} and {\(name)} at the same position")
            node.parameterName = name
            if node.parameterChild.isEmpty { node.parameterChild = [Node()] }
            insert(into: &node.parameterChild[0], segments: segments.dropFirst(), pattern: pattern, method: method, handler: handler)
        } else {
            insert(into: &node.literals[segment, default: Node()], segments: segments.dropFirst(), pattern: pattern, method: method,
                   handler: handler)
        }
    }

    public mutating func get(_ pattern: String, use handler: @escaping RouteHandler) { on(.get, pattern, use: handler) }
    public mutating func post(_ pattern: String, use handler: @escaping RouteHandler) { on(.post, pattern, use: handler) }
    public mutating func put(_ pattern: String, use handler: @escaping RouteHandler) { on(.put, pattern, use: handler) }
    public mutating func patch(_ pattern: String, use handler: @escaping RouteHandler) { on(.patch, pattern, use: handler) }
    public mutating func delete(_ pattern: String, use handler: @escaping RouteHandler) { on(.delete, pattern, use: handler) }

    /// Adds middleware; the first added runs outermost.
    public mutating func use(_ middleware: @escaping Middleware) { middlewares.append(middleware) }

    // MARK: - Matching

    /// Looks up `method` on the request's path segments.
    public func match(_ method: HTTPRequest.Method, segments: [String]) -> RouteMatch {
        lookup(method, segments: segments).match
    }

    /// The match, and the pattern of the route whose path matched (for 405s too); nil when none did.
    private func lookup(_ method: HTTPRequest.Method, segments: [String]) -> (match: RouteMatch, pattern: String?) {
        var parameters = Parameters()
        var allowed: [HTTPRequest.Method]?
        var pattern: String?
        if let handler = Self.find(root, segments[...], method, &parameters, &allowed, &pattern) {
            return (.handler(handler, parameters), pattern)
        }
        if let allowed { return (.methodNotAllowed(allowed: allowed), pattern) }
        return (.notFound, nil)
    }

    private static func handler(in handlers: [HTTPRequest.Method: RouteHandler], for method: HTTPRequest.Method) -> RouteHandler? {
        if let handler = handlers[method] { return handler }
        if method == .head { return handlers[.get] }
        return nil
    }

    /// `pattern` ends as the pattern of the handler found or, when none is, of the route whose
    /// methods `allowed` lists.
    private static func find(_ node: Node, _ segments: ArraySlice<String>, _ method: HTTPRequest.Method,
                             _ parameters: inout Parameters, _ allowed: inout [HTTPRequest.Method]?,
                             _ pattern: inout String?) -> RouteHandler? {
        guard let segment = segments.first else {
            if let handler = handler(in: node.handlers, for: method) {
                pattern = node.pattern
                return handler
            }
            if allowed == nil, !node.methodOrder.isEmpty {
                allowed = node.methodOrder
                pattern = node.pattern
            }
            return restMatch(node, segments, method, &parameters, &allowed, &pattern)
        }
        if let child = node.literals[segment], let found = find(child, segments.dropFirst(), method, &parameters, &allowed, &pattern) {
            return found
        }
        if let name = node.parameterName, let child = node.parameterChild.first {
            var attempt = parameters
            attempt.append(name, segment)
            if let found = find(child, segments.dropFirst(), method, &attempt, &allowed, &pattern) {
                parameters = attempt
                return found
            }
        }
        return restMatch(node, segments, method, &parameters, &allowed, &pattern)
    }

    private static func restMatch(_ node: Node, _ segments: ArraySlice<String>, _ method: HTTPRequest.Method,
                                  _ parameters: inout Parameters, _ allowed: inout [HTTPRequest.Method]?,
                                  _ pattern: inout String?) -> RouteHandler? {
        guard let name = node.restName else { return nil }
        if let handler = handler(in: node.restHandlers, for: method) {
            parameters.append(name, segments.joined(separator: "/"))
            pattern = node.restPattern
            return handler
        }
        if allowed == nil {
            allowed = node.restMethodOrder
            pattern = node.restPattern
        }
        return nil
    }

    // MARK: - Responding

    public func respond(to request: Request) async -> Response {
        let route: RouteHandler
        var routed = request
        let (match, pattern) = lookup(request.method, segments: request.pathSegments)
        routed.route = pattern
        switch match {
        case .handler(let handler, let parameters):
            routed.parameters = parameters
            route = handler
        case .methodNotAllowed(let allowed):
            let method = request.method
            route = { _ in throw HTTPError.methodNotAllowed(method, allowed: allowed) }
        case .notFound:
            route = notFoundHandler
        }
        var chain = route
        for middleware in middlewares.reversed() {
            let next = chain
            chain = { request in try await middleware(request, next) }
        }
        do {
            return try await chain(routed)
        } catch {
            return errorRenderer.response(for: error)
        }
    }
}
