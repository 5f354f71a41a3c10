import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeHTTP
import Synchronization

/// The listeners of the running service as browsers reach them, known once they are bound
/// (tests bind port 0). The demo page and the welcome page read them.
public final class ServiceEndpoints: Sendable {
    public struct Endpoint: Sendable, Equatable {
        public var role: ListenerRole
        public var secure: Bool
        public var port: Int

        public var url: String { "\(secure ? "https" : "http")://127.0.0.1:\(port)" }
    }

    private let state = Mutex<[Endpoint]>([])

    public init() {}

    public var all: [Endpoint] { state.withLock { $0 } }

    func set(_ endpoints: [Endpoint]) { state.withLock { $0 = endpoints } }

    /// API roots in the order the SDK should try them: https first, then http.
    var apiRoots: [String] {
        let core = all.filter { $0.role == .dwt }
        return (core.filter(\.secure) + core.filter { !$0.secure }).map(\.url)
    }

    /// The SDK on the first plain-HTTP API listener (browsers trust it without a certificate).
    var sdkURL: String {
        let plain = all.first { $0.role == .dwt && !$0.secure } ?? all.first { $0.role == .dwt }
        return (plain?.url ?? "") + "/scanbridge.js"
    }
}

/// Static browser assets, on every listener: `/scanbridge.js`, `/scanbridge.d.ts` (public: any
/// origin may load them) and the demo at `/demo`.
enum WebAssets {
    static let publicPaths: Set<String> = ["/scanbridge.js", "/scanbridge.d.ts"]

    /// The demo may run inside no frame; it loads the SDK from the service's API port.
    static let demoSecurityPolicy = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

    static func register(on router: inout Router, endpoints: ServiceEndpoints) {
        router.get("/scanbridge.js") { _ in
            Response(headerFields: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                     body: .bytes(Array(SDKScript.sdk.utf8)))
        }
        router.get("/scanbridge.d.ts") { _ in
            Response(headerFields: [.contentType: "application/typescript; charset=utf-8", .cacheControl: "no-cache"],
                     body: .bytes(Array(SDKTypes.typings.utf8)))
        }
        let demo: RouteHandler = { _ in
            let html = DemoPage.html
                .replacingOccurrences(of: "{{ENDPOINTS}}", with: ServicePage.escape(endpoints.apiRoots.joined(separator: " ")))
                .replacingOccurrences(of: "{{SDK}}", with: ServicePage.escape(endpoints.sdkURL))
            var response = Response.html(html)
            response.headerFields[.contentSecurityPolicy] = demoSecurityPolicy
            response.headerFields[.xFrameOptions] = "DENY"
            response.headerFields[.cacheControl] = "no-cache"
            return response
        }
        router.get("/demo", use: demo)
        router.get("/demo/index.html", use: demo)
    }
}

/// The service (`dcp`) listeners: the welcome and setup page at `/` (and `/welcome.htm`), the
/// settings form it posts to (`POST /settings`), the demo and the SDK.
///
/// The page can't be framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`) and its form is
/// protected against cross-site requests three ways: a per-process secret token in the form,
/// `Origin` (when sent) must be the page's own origin, and `Sec-Fetch-Site` (when sent) must be
/// `same-origin`. The security middleware in front refuses foreign origins as well.
public enum ServicePageRoutes {
    public static func router(status: ServiceStatus, service: ScanningService, policy: SecurityPolicy,
                              configuration: LoadedConfiguration, endpoints: ServiceEndpoints) -> Router {
        let page = ServicePage(status: status, service: service, policy: policy, configuration: configuration, endpoints: endpoints)
        var router = Router()
        let welcome: RouteHandler = { request in await page.render(notice: request.query["saved"].map { _ in "Settings saved." }) }
        router.get("/", use: welcome)
        router.get("/welcome.htm", use: welcome)
        router.post("/settings") { request in try await page.save(request) }
        WebAssets.register(on: &router, endpoints: endpoints)
        return router
    }
}

final class ServicePage: Sendable {
    let status: ServiceStatus
    let service: ScanningService
    let policy: SecurityPolicy
    let configuration: LoadedConfiguration
    let endpoints: ServiceEndpoints
    /// The anti-CSRF token of this process's forms.
    let token: String

    static let securityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    init(status: ServiceStatus, service: ScanningService, policy: SecurityPolicy, configuration: LoadedConfiguration, endpoints: ServiceEndpoints) {
        self.status = status
        self.service = service
        self.policy = policy
        self.configuration = configuration
        self.endpoints = endpoints
        var generator = SystemRandomNumberGenerator()
        token = (0..<4).map { _ in String(generator.next(), radix: 16) }.joined()
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    static func protect(_ response: Response) -> Response {
        var response = response
        response.headerFields[.contentSecurityPolicy] = securityPolicy
        response.headerFields[.xFrameOptions] = "DENY"
        response.headerFields[.cacheControl] = "no-store"
        return response
    }

    func render(notice: String? = nil, error: String? = nil, status code: HTTPResponse.Status = .ok) async -> Response {
        let scanners: String
        do {
            let list = try await service.sane.scanners()
            scanners = list.isEmpty ? "<li>No scanner found.</li>"
                : list.map { "<li>\(Self.escape($0.displayName)) <code>\(Self.escape($0.id))</code></li>" }.joined()
        } catch {
            scanners = "<li>Cannot list scanners: \(Self.escape("\(error)"))</li>"
        }
        let cameras = await CameraDiscovery.cameras()
        let cameraItems = cameras.isEmpty ? "<li>No camera found.</li>"
            : cameras.map { "<li>\(Self.escape($0.name)) <code>\(Self.escape($0.path))</code></li>" }.joined()
        let listeners = endpoints.all.map { "<li><code>\(Self.escape($0.url))</code> (\($0.role == .dwt ? "API" : "service page"))</li>" }.joined()
        let level = status.logLevel.dwt
        let levels = [(0, "0 — off"), (1, "1 — normal"), (14, "14 — detailed"), (30, "30 — verbose")]
        var options = levels.map { "<option value=\"\($0.0)\"\($0.0 == level ? " selected" : "")>\($0.1)</option>" }
        if !levels.contains(where: { $0.0 == level }) { options.append("<option value=\"\(level)\" selected>\(level)</option>") }
        let origins = policy.allowedOrigins.joined(separator: "\n")
        let message = (notice.map { "<p class=\"notice\">\(Self.escape($0))</p>" } ?? "")
            + (error.map { "<p class=\"error\" role=\"alert\">\(Self.escape($0))</p>" } ?? "")
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>ScanBridge</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body { font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 46em; color: #1d2330; padding: 0 1em; }
            h1 { color: #1d3557; } code { background: #eef1f5; padding: 0 .3em; border-radius: 3px; }
            dl { display: grid; grid-template-columns: 10em 1fr; gap: .2em 1em; } dt { color: #556; }
            .notice { background: #e3f4e6; padding: .5em 1em; } .error { background: #fde2e1; padding: .5em 1em; }
            textarea { width: 100%; font: 14px monospace; } fieldset { border: 1px solid #ccd; border-radius: 6px; margin: 1em 0; }
            </style></head>
            <body>
            <h1>ScanBridge is running</h1>
            \(message)
            <p id="summary">Version \(Self.escape(ProductVersion.semantic)). I/O engine: \(Self.escape(status.ioEngine)). Up for \(status.uptime) s.</p>
            <dl>
            <dt>Version</dt><dd id="version">\(Self.escape(ProductVersion.semantic)) (DWT Service REST API \(Self.escape(ProductVersion.apiVersion)))</dd>
            <dt>I/O engine</dt><dd id="engine">\(Self.escape(status.ioEngine))</dd>
            <dt>Uptime</dt><dd id="uptime">\(status.uptime) s</dd>
            <dt>Log level</dt><dd id="loglevel">\(level)</dd>
            </dl>
            <h2>Devices</h2>
            <p>Scanners:</p><ul id="scanners">\(scanners)</ul>
            <p>Cameras:</p><ul id="cameras">\(cameraItems)</ul>
            <h2>Listeners</h2><ul>\(listeners)</ul>
            <h2>Settings</h2>
            <form method="post" action="/settings">
            <input type="hidden" name="token" value="\(token)">
            <fieldset><legend>Log level</legend>
            <select name="logLevel" id="logLevelInput">\(options.joined())</select>
            </fieldset>
            <fieldset><legend>Allowed origins</legend>
            <p>Web pages (one origin per line, such as <code>https://app.example</code> or <code>http://localhost:8080</code>)
            that may use this scanner service from the browser. The service's own pages always may. <code>*</code> allows
            every website and is not recommended.</p>
            <textarea name="allowedOrigins" id="allowedOriginsInput" rows="5">\(Self.escape(origins))</textarea>
            </fieldset>
            <button type="submit">Save</button> <small>Saved to <code>\(Self.escape(configuration.filePath))</code>.</small>
            </form>
            <h2>Links</h2>
            <ul>
            <li><a href="/demo">Batch-scan demo</a></li>
            <li><a href="/scanbridge.d.ts">JavaScript SDK API (<code>scanbridge.d.ts</code>)</a> — import <code>\(Self.escape(endpoints.sdkURL))</code></li>
            <li><a href="https://www.dynamsoft.com/web-twain/docs/info/api/restful.html">Dynamic Web TWAIN Service REST API reference</a></li>
            </ul>
            </body></html>

            """
        return Self.protect(.html(html, status: code))
    }

    /// `POST /settings` from the form above.
    func save(_ request: Request) async throws -> Response {
        if let site = request.headerFields[.secFetchSite], site != "same-origin" && site != "none" {
            return refused("the form was posted from another site (Sec-Fetch-Site: \(site))")
        }
        if let origin = request.headerFields[.origin], !policy.isOwnOrigin(origin) {
            return refused("the form was posted from \(origin), not from this page")
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        let form = QueryParameters(parsing: Substring(String(decoding: body, as: UTF8.self)))
        guard let sent = form["token"], Self.constantTimeEquals(sent, token) else {
            return refused("the form's token is missing or stale; reload the page")
        }
        // Everything is checked before anything changes.
        var level: Int?
        if let text = form["logLevel"] {
            guard let value = Int(text), (0...100).contains(value) else {
                return await render(error: "Log level must be 0…100.", status: .badRequest)
            }
            level = value
        }
        var changes: [(key: String, value: String)] = []
        if let text = form["allowedOrigins"] {
            let entries = text.split(whereSeparator: { $0.isNewline || $0 == "," || $0 == " " }).map(String.init)
            do {
                try policy.setAllowedOrigins(entries)
            } catch {
                return await render(error: error.message, status: .badRequest)
            }
            changes.append(("AllowedOrigins", policy.allowedOrigins.joined(separator: ",")))
        }
        if let level {
            status.logLevel.dwt = level
            changes.append(("LogLevel", String(level)))
        }
        do {
            let document = try configuration.rewritten(setting: changes)
            let path = configuration.filePath
            try await PageRendering.pool.run {
                try document.render().write(toFile: path, atomically: true, encoding: .utf8)
            }
        } catch {
            return await render(error: "Applied, but not saved to \(configuration.filePath): \(error)")
        }
        return Self.protect(Response(status: .seeOther, headerFields: [.location: "/?saved=1"]))
    }

    private func refused(_ reason: String) -> Response {
        Self.protect(HTTPError(.forbidden, code: -1016, message: "Settings not changed: \(reason)").response)
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
