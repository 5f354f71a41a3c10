import ArgumentParser
import Glibc
import Logging
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeOCR
import ScanBridgeService
import ScanBridgeStorage

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service in the foreground until SIGINT or SIGTERM.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var debug: DebugOptions // deploy: debug-build-only options, hidden

    func run() throws {
        // First of all: may start the process again with OMP_THREAD_LIMIT=1 (OCR, see there).
        OpenMPThreadLimit.restartLimitedIfNeeded()
        // Before any thread exists, so that only the main thread ever receives these signals.
        ShutdownSignal.block()
        // Process-wide: page buffers are allocated on one thread and freed on another.
        MemoryPolicy.returnLargeAllocationsToSystem()
        // Everything the service writes under its folder (documents, the buffer's cache, staged
        // uploads, logs, keys) is for the service's user alone, whatever mode a writer asks for.
        umask(0o077)

        let folder = try options.preparedFolder()
        ServiceProcess.prepare(folder: folder) // deploy: crash reports into dump/, monitor lifeline
        let configuration = try options.loadConfiguration()
        let settings = configuration.settings
        let (logLevel, logFile) = try ServiceLogging.bootstrap(folder: folder, settings: settings)
        let logger = Logger(label: "scanbridge")

        logger.info("ScanBridge \(ProductVersion.semantic) starting", metadata: [
            "home": "\(folder.root)", "config": "\(configuration.filePath)", "pid": "\(getpid())"])
        if !SANEContext.readerCancellationIsDeferred {
            logger.warning("SANE reader threads keep asynchronous cancellation (this build does not export pthread_setcanceltype); long batches may hang")
        }
        for entry in configuration.unknownEntries {
            logger.debug("Keeping unknown configuration key", metadata: ["key": "[\(entry.section)] \(entry.key)"])
        }
        logger.info("Configured listeners", metadata: [
            "bind": "\(settings.bindAddress)",
            "listeners": "\(settings.listeners.map(\.description).joined(separator: ", "))"])
        // The process's one swift-metrics backend is the registry `GET /metrics` shows.
        let metrics = ServiceMetrics()
        metrics.bootstrapMetricsSystem()
        let server: ServiceServer
        do {
            server = try runBlocking { () async throws(ServiceServer.StartError) -> ServiceServer in
                try await ServiceServer.start(configuration: configuration, folder: folder, logLevel: logLevel, metrics: metrics)
            }
        } catch {
            logger.error("Cannot start: \(error)")
            logFile.flush()
            throw ExitCode(69)
        }
        logger.info("Ready; stop with SIGINT or SIGTERM")
        // Where a person goes next: the demo (scans through the SDK) and the settings page.
        let endpoints = ServiceEndpoints(running: server.running)
        let places = [endpoints.demoURL.map { "demo \($0)" }, endpoints.servicePageURL.map { "service page \($0)" }].compactMap { $0 }
        if !places.isEmpty { logger.info("ScanBridge ready: \(places.joined(separator: ", "))") }

        let systemd = SystemdSession.ready(status: "Ready", logger: logger) // deploy: READY=1, watchdog
        debug.arm() // deploy

        let signal = ShutdownSignal.wait()
        systemd.stopping() // deploy: STOPPING=1
        logger.info("Received \(signal); stopping")
        runBlocking { await server.stop() }
        logger.info("Stopped cleanly")
        logFile.flush()
    }
}
