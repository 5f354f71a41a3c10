import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP

/// Facts about the running service that routes report.
public struct ServiceStatus: Sendable {
    public var logLevel: ServiceLogLevel
    public var ioEngine: String
    public var started: ContinuousClock.Instant

    public init(logLevel: ServiceLogLevel, ioEngine: String, started: ContinuousClock.Instant = .now) {
        self.logLevel = logLevel
        self.ioEngine = ioEngine
        self.started = started
    }

    /// Whole seconds since start.
    public var uptime: Int { Int((ContinuousClock.now - started).components.seconds) }
}

/// The DWT REST API on the core (`dwt`) listeners, rooted at `/api`. Each area of the API adds
/// its routes in its own `register…` function here (see README, "HTTP server").
public enum CoreRoutes {
    public static func router(status: ServiceStatus, service: ScanningService, folder: ServiceFolder) -> Router {
        var router = Router()
        router.errorRenderer = DWTErrorRenderer()
        registerServer(on: &router, status: status)
        ScanRoutes.register(on: &router, service: service)
        DocumentRoutes.register(on: &router, service: service, folder: folder)
        ProcessRoutes.register(on: &router, service: service)
        SeedRoutes.register(on: &router, service: service)
        UploadRoutes.register(on: &router, service: service, folder: folder)
        OpenAPIDocument.register(on: &router)
        return router
    }

    struct ServerSettings: Codable {
        var logLevel: Int
        var ioEngine: String
        var version: String
        var uptime: Int
    }

    struct ServerSettingsPatch: Decodable {
        var logLevel: Int?
    }

    /// `GET /api/server`, `PATCH /api/server`, `GET /api/server/version`.
    static func registerServer(on router: inout Router, status: ServiceStatus) {
        @Sendable func current() -> ServerSettings {
            ServerSettings(logLevel: status.logLevel.dwt, ioEngine: status.ioEngine, version: ProductVersion.semantic, uptime: status.uptime)
        }
        router.get("/api/server") { _ in try .json(current()) }
        router.patch("/api/server") { request in
            let body = try await request.body.collect(upTo: 64 * 1024)
            let patch: ServerSettingsPatch
            do {
                patch = try JSONDecoder().decode(ServerSettingsPatch.self, from: Data(body))
            } catch {
                throw DWTErrors.invalidParameter("The body must be a JSON object such as {\"logLevel\": 1}")
            }
            if let level = patch.logLevel {
                guard (0...100).contains(level) else {
                    throw DWTErrors.invalidParameter("logLevel must be 0 (off), 1 (normal) … 30 (verbose); got \(level)")
                }
                status.logLevel.dwt = level
            }
            return try .json(current())
        }
        router.get("/api/server/version") { _ in
            .json(raw: Array(#"{"version":"\#(ProductVersion.apiVersion)","compatible":true}"#.utf8))
        }
    }
}
