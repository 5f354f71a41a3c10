import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeHTTP

/// The service (`dcp`) listeners: the welcome and setup page at `/` (and `/welcome.htm`), the
/// settings form it posts to (`POST /settings`), the demo, the SDK and the Prometheus metrics
/// (`GET /metrics`).
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
        MetricsRoutes(service: service).register(on: &router)
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

    /// Web/Assets/welcome.html; its slots are the keys `render` fills in.
    static let template = PageTemplate(WebAssets.welcomeHTML)

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
        let cameras = await CameraDiscovery.cameras(deviceDirectory: service.cameraFolder)
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
        let html = Self.template.render([
            "MESSAGE": message,
            "VERSION": Self.escape(ProductVersion.semantic),
            "API_VERSION": Self.escape(ProductVersion.apiVersion),
            "IO_ENGINE": Self.escape(status.ioEngine),
            "UPTIME": "\(status.uptime)",
            "LOG_LEVEL": "\(level)",
            "SCANNERS": scanners,
            "CAMERAS": cameraItems,
            "LISTENERS": listeners,
            "TOKEN": token,
            "LOG_LEVEL_OPTIONS": options.joined(),
            "ALLOWED_ORIGINS": Self.escape(origins),
            "CONFIGURATION_FILE": Self.escape(configuration.filePath),
            "SDK": Self.escape(endpoints.sdkURL),
        ])
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
