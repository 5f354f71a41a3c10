import Foundation
import HTTPTypes
import ScanBridgeHTTP
import Synchronization

extension HTTPField.Name {
    static let accessControlRequestPrivateNetwork = HTTPField.Name("Access-Control-Request-Private-Network")!
    static let accessControlAllowPrivateNetwork = HTTPField.Name("Access-Control-Allow-Private-Network")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}

/// Who may talk to the service from a browser. It runs in front of every route of every
/// listener (`router.use(policy.middleware(…))`):
///
/// 1. **Host check (DNS rebinding).** The `Host` header must name this machine as the page
///    addressed it: `127.0.0.1`, `localhost` or `[::1]` (with the listener's port or none), the
///    bind address when it is a specific address, or a name in `AllowedHosts`. A page of
///    `evil.example` whose DNS later points at 127.0.0.1 sends `Host: evil.example:18622` and is
///    refused before any route runs. Requests without `Host` (HTTP/1.0 tools) pass: browsers
///    always send one.
/// 2. **CORS.** A request with an `Origin` header must come from an allowed origin: one of the
///    service's own pages (loopback name with one of its ports), an entry of `AllowedOrigins`,
///    or anyone when `AllowedOrigins` contains `*` explicitly. Allowed requests get
///    `Access-Control-Allow-Origin` for that origin; others are refused with 403 *before* the
///    route runs, so even "simple" cross-site requests (a form POST) cannot start a scan.
///    Requests without `Origin` are local programs (curl, DWT's REST clients) and pass.
/// 3. **Preflights** (`OPTIONS` with `Access-Control-Request-Method`) are answered here for
///    allowed origins only, including Private/Local Network Access
///    (`Access-Control-Request-Private-Network: true` → `Access-Control-Allow-Private-Network: true`).
///
/// Public assets (the JS SDK and its typings) carry no state and no side effects: they are
/// served to any origin with `Access-Control-Allow-Origin: *` so a page that is not allowed can
/// still load the SDK and show the user why it was refused.
public final class SecurityPolicy: Sendable {
    struct State: Sendable {
        var allowedOrigins: [String]
        var allowAnyOrigin: Bool
        var servicePorts: Set<Int>
    }

    private let state: Mutex<State>
    /// Lower-cased host names (IPv6 in brackets) a `Host` header may carry.
    public let allowedHostNames: Set<String>

    static let loopbackNames: Set<String> = ["127.0.0.1", "localhost", "[::1]"]
    static let allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE"
    static let exposedHeaders = "Content-Disposition, Content-Length, Content-Type, Location"

    public init(allowedOrigins: [String], allowedHosts: [String] = [], bindAddress: String = "127.0.0.1", servicePorts: Set<Int> = []) {
        var names = Self.loopbackNames
        for host in allowedHosts {
            let trimmed = host.trimmingCharacters(in: .whitespaces).lowercased()
            if !trimmed.isEmpty { names.insert(trimmed) }
        }
        let bind = bindAddress.lowercased()
        if !["0.0.0.0", "::", "", "*"].contains(bind) {
            names.insert(bind.contains(":") && !bind.hasPrefix("[") ? "[\(bind)]" : bind)
        }
        allowedHostNames = names
        let (origins, any) = Self.normalise(allowedOrigins)
        state = Mutex(State(allowedOrigins: origins, allowAnyOrigin: any, servicePorts: servicePorts))
    }

    /// The policy of a loaded configuration (`AllowedOrigins`, `AllowedHosts`, `BindAddress`).
    public convenience init(configuration: LoadedConfiguration) {
        func list(_ name: String) -> [String] {
            (configuration.values.first { $0.key.name == name }?.value ?? "").split(separator: ",").map(String.init)
        }
        self.init(allowedOrigins: list("AllowedOrigins"), allowedHosts: list("AllowedHosts"),
                  bindAddress: configuration.settings.bindAddress)
    }

    // MARK: - Settings that change while running

    /// The entries of `AllowedOrigins` as configured now (`*` included when present).
    public var allowedOrigins: [String] {
        state.withLock { $0.allowAnyOrigin ? ["*"] + $0.allowedOrigins : $0.allowedOrigins }
    }

    /// Replaces the allowlist (from the service page). Entries are checked with `parseOrigin`.
    public func setAllowedOrigins(_ entries: [String]) throws(HTTPError) {
        for entry in entries where entry.trimmingCharacters(in: .whitespaces) != "*" {
            guard Self.canonicalOrigin(entry) != nil else {
                throw HTTPError(.badRequest, code: -2113, message: "\"\(entry)\" is not an origin such as https://app.example or http://localhost:8080")
            }
        }
        let (origins, any) = Self.normalise(entries)
        state.withLock {
            $0.allowedOrigins = origins
            $0.allowAnyOrigin = any
        }
    }

    /// The ports the service listens on (known once bound): its own pages are always allowed.
    public func setServicePorts(_ ports: Set<Int>) {
        state.withLock { $0.servicePorts = ports }
    }

    static func normalise(_ entries: [String]) -> (origins: [String], any: Bool) {
        var origins: [String] = []
        var any = false
        for entry in entries {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed == "*" { any = true; continue }
            let canonical = canonicalOrigin(trimmed) ?? trimmed.lowercased()
            if !origins.contains(canonical) { origins.append(canonical) }
        }
        return (origins, any)
    }

    /// `scheme://host[:port]` lower-cased, default ports removed; nil when `text` is not an
    /// http(s) origin (a path, a query or user info make it not one). `null` stays `null`.
    static func canonicalOrigin(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "null" { return "null" }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
              components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil,
              components.user == nil, components.password == nil else { return nil }
        let lowerHost = host.lowercased()
        let bracketed = lowerHost.contains(":") && !lowerHost.hasPrefix("[") ? "[\(lowerHost)]" : lowerHost
        var result = "\(scheme)://\(bracketed)"
        if let port = components.port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) {
            result += ":\(port)"
        }
        return result
    }

    // MARK: - Decisions

    /// Whether the `Host` header names this service (see the type's documentation).
    public func isHostAllowed(_ host: String?, localPort: Int) -> Bool {
        guard let host else { return true }
        let lower = host.trimmingCharacters(in: .whitespaces).lowercased()
        let name: Substring, port: Substring?
        if lower.hasPrefix("[") {
            guard let close = lower.firstIndex(of: "]") else { return false }
            name = lower[...close]
            let rest = lower[lower.index(after: close)...]
            if rest.isEmpty { port = nil } else {
                guard rest.hasPrefix(":") else { return false }
                port = rest.dropFirst()
            }
        } else if let colon = lower.lastIndex(of: ":") {
            name = lower[..<colon]
            port = lower[lower.index(after: colon)...]
        } else {
            name = lower[...]
            port = nil
        }
        guard allowedHostNames.contains(String(name)) else { return false }
        if let port {
            guard let number = Int(port), (1...65535).contains(number) else { return false }
            if localPort != 0 && number != localPort { return false }
        }
        return true
    }

    /// Whether a page of `origin` may use the API.
    public func isOriginAllowed(_ origin: String) -> Bool {
        guard let canonical = Self.canonicalOrigin(origin) else { return false }
        return state.withLock { state in
            if state.allowAnyOrigin || state.allowedOrigins.contains(canonical) { return true }
            return Self.isOwnOrigin(canonical, ports: state.servicePorts)
        }
    }

    /// Whether `origin` is one of the service's own pages (loopback name, one of its ports).
    public func isOwnOrigin(_ origin: String) -> Bool {
        guard let canonical = Self.canonicalOrigin(origin) else { return false }
        return state.withLock { Self.isOwnOrigin(canonical, ports: $0.servicePorts) }
    }

    private static func isOwnOrigin(_ canonical: String, ports: Set<Int>) -> Bool {
        guard let components = URLComponents(string: canonical), let host = components.host else { return false }
        let name = host.contains(":") ? "[\(host)]" : host
        guard loopbackNames.contains(name) else { return false }
        let port = components.port ?? (components.scheme == "https" ? 443 : 80)
        return ports.contains(port)
    }

    // MARK: - The middleware

    /// The middleware for a router. `publicPaths` are served to any origin (`*`).
    public func middleware(publicPaths: Set<String> = []) -> Middleware {
        { [self] request, next in
            guard isHostAllowed(request.headerFields[.hostField], localPort: request.connection.localPort) else {
                throw HTTPError(.forbidden, code: -1016, message: """
                    Host "\(request.headerFields[.hostField] ?? "")" is not a name of this service; requests must address \
                    127.0.0.1, localhost or [::1] (DNS rebinding protection). Add other names to AllowedHosts.
                    """)
            }
            guard let origin = request.headerFields[.origin] else { return try await next(request) }

            if publicPaths.contains(request.path), request.method == .get || request.method == .head || request.method == .options {
                if request.method == .options {
                    return Response(status: .noContent, headerFields: [.accessControlAllowOrigin: "*",
                                                                       .accessControlAllowMethods: "GET, HEAD",
                                                                       .accessControlMaxAge: "600"])
                }
                var response = try await Self.run(next, request)
                response.headerFields[.accessControlAllowOrigin] = "*"
                return response
            }

            let allowed = isOriginAllowed(origin)
            if request.method == .options, let method = request.headerFields[.accessControlRequestMethod] {
                return preflight(origin: origin, allowed: allowed, method: method, request: request)
            }
            guard allowed else {
                // Refused before any route runs. The refusal itself is readable by the page
                // (it reveals nothing) so the SDK can tell the user what to configure.
                var response = HTTPError(.forbidden, code: -1016, message: """
                    Origin \(origin) is not allowed to use this scanning service. The administrator can add it to \
                    AllowedOrigins (DSConfiguration.ini or the service page).
                    """).response
                response.headerFields[.accessControlAllowOrigin] = origin
                response.headerFields[.vary] = "Origin"
                return response
            }
            var response = try await Self.run(next, request)
            response.headerFields[.accessControlAllowOrigin] = origin
            response.headerFields[.accessControlExposeHeaders] = Self.exposedHeaders
            response.headerFields[.vary] = "Origin"
            return response
        }
    }

    /// Runs the route; a thrown error becomes its response here so CORS headers can be added.
    private static func run(_ next: RouteHandler, _ request: Request) async throws -> Response {
        do {
            return try await next(request)
        } catch {
            return DWTErrorRenderer().response(for: error)
        }
    }

    private func preflight(origin: String, allowed: Bool, method: String, request: Request) -> Response {
        guard allowed else {
            // No CORS headers: the browser fails the real request.
            return HTTPError(.forbidden, code: -1016, message: "Origin \(origin) is not allowed (preflight refused)").response
        }
        var fields: HTTPFields = [
            .accessControlAllowOrigin: origin,
            .accessControlAllowMethods: Self.allowedMethods,
            .accessControlMaxAge: "600",
            .vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network",
        ]
        if let headers = request.headerFields[.accessControlRequestHeaders], !headers.isEmpty {
            fields[.accessControlAllowHeaders] = headers
        }
        if request.headerFields[.accessControlRequestPrivateNetwork]?.lowercased() == "true" {
            fields[.accessControlAllowPrivateNetwork] = "true"
        }
        return Response(status: .noContent, headerFields: fields)
    }
}
