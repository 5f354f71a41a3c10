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

/// The DWT REST API and ScanBridge's extensions on the core (`dwt`) listeners: every route group,
/// one per path prefix, with the service's DWT error answers; every request is counted by route
/// pattern and status (`scanbridge_http_requests_total`).
public enum CoreRoutes {
    public static func router(status: ServiceStatus, service: ScanningService, folder: ServiceFolder) -> Router {
        var router = Router()
        router.errorRenderer = DWTErrorRenderer()
        router.use(service.metrics.httpMiddleware(renderer: router.errorRenderer))
        ServerRoutes(status: status).register(on: &router)
        DeviceRoutes(service: service).register(on: &router)
        CameraRoutes(service: service).register(on: &router)
        StorageRoutes(service: service, folder: folder).register(on: &router)
        ProcessRoutes(service: service).register(on: &router)
        BufferRoutes(service: service).register(on: &router)
        UploadRoutes(service: service, folder: folder).register(on: &router)
        EventRoutes(events: service.jobs.events).register(on: &router)
        SeedRoutes(service: service).register(on: &router)
        LegacyRoutes(service: service).register(on: &router)
        return router
    }
}
