import Foundation
import ScanBridgeHTTP
@testable import ScanBridgeService

/// A real service behind the real core router, answered in process: a temporary service folder,
/// a `ScanningService` opened from it as the server opens it, and SANE's `test` backend.
///
/// The routes under test are put together in `router(service:folder:)` only, the way
/// `ServiceServer.start` puts together the core (`dwt`) listener's router, without the security
/// middleware (its decisions are tested in BrowserSecurityTests and Tests/Browser).
final class RouteFixture: Sendable {
    let folder: ServiceFolder
    let service: ScanningService
    let router: Router

    private init(folder: ServiceFolder, service: ScanningService, router: Router) {
        self.folder = folder
        self.service = service
        self.router = router
    }

    /// The core listener's router over `service`, as `ServiceServer.start` builds it.
    static func router(service: ScanningService, folder: ServiceFolder) -> Router {
        let status = ServiceStatus(logLevel: ServiceLogLevel(dwtLevel: 1), ioEngine: "epoll")
        var core = CoreRoutes.router(status: status, service: service, folder: folder)
        WebAssets.register(on: &core, endpoints: ServiceEndpoints())
        return core
    }

    /// A fresh service folder with the default configuration, the service opened on it, and
    /// its router. Call `close()` at the end.
    static func start() async throws -> RouteFixture {
        _ = TestSANEConfiguration.directory
        let folder = ServiceFolder(root: try TestSupport.temporaryFolder())
        try folder.prepare()
        let configuration = try LoadedConfiguration.load(home: folder.root, environment: [:])
        let service = try await ScanningService.open(folder: folder, configuration: configuration)
        return RouteFixture(folder: folder, service: service, router: router(service: service, folder: folder))
    }

    /// Deletes the jobs (freeing the scanner), closes the service and removes the folder.
    func close() async {
        await service.close()
        try? FileManager.default.removeItem(atPath: folder.root)
    }
}

/// SANE reads SANE_CONFIG_DIR once, at its first use in the process. `make test` points it at
/// .dev/sane.d (written by scripts/sane-test-config.sh); when it is unset the same script writes
/// a private folder, set before any SANE call.
enum TestSANEConfiguration {
    static let directory: String = {
        if let existing = ProcessInfo.processInfo.environment["SANE_CONFIG_DIR"], !existing.isEmpty { return existing }
        let folder = NSTemporaryDirectory() + "scanbridge-route-sane-" + UUID().uuidString
        let script = TestSupport.repositoryRoot.appendingPathComponent("scripts/sane-test-config.sh").path
        // Once per process, before any scan: waiting here holds no task that could be waited for.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = [folder]
        do { try process.run() } catch { preconditionFailure("cannot run \(script): \(error)") }
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "\(script) \(folder) failed")
        setenv("SANE_CONFIG_DIR", folder, 1)
        return folder
    }()
}
