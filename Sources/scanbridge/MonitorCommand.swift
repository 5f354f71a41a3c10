import ArgumentParser
import Foundation
import Logging
import ScanBridgeCore
import ScanBridgeService

/// `scanbridge monitor`: the supervisor for machines without systemd. Runs `scanbridge serve`
/// with the same options as a child and restarts it with capped exponential backoff when it dies.
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Run `serve` as a child and restart it when it dies (for machines without systemd).",
        discussion: """
            Restarts wait --restart-delay, doubling after each failure up to --max-restart-delay; a \
            child that ran --stable-after seconds resets the delay. SIGTERM or SIGINT stops the \
            child (SIGTERM, then SIGKILL after --stop-timeout) and the monitor; SIGHUP restarts \
            the child at once. Exit statuses 73 (service folder) and 78 (configuration) stop the \
            monitor with the same status. Its own log is log/monitor.log.
            """)

    @OptionGroup var options: ServiceOptions
    @OptionGroup var debug: DebugOptions

    @Option(help: "Seconds before the first restart after a failure.")
    var restartDelay: Double = 0.2
    @Option(help: "Upper bound of the doubling restart delay, in seconds.")
    var maxRestartDelay: Double = 30
    @Option(help: "Seconds a child must run for its failure to reset the delay.")
    var stableAfter: Double = 30
    @Option(help: "Seconds a child may take to stop after SIGTERM before SIGKILL.")
    var stopTimeout: Double = 10

    func validate() throws {
        guard restartDelay > 0, maxRestartDelay >= restartDelay, stableAfter >= 0, stopTimeout > 0 else {
            throw ValidationError("Need 0 < --restart-delay <= --max-restart-delay, --stable-after >= 0, --stop-timeout > 0.")
        }
    }

    func run() throws {
        Supervisor.blockSignals()
        let folder = ServiceFolder(root: options.resolvedHome)
        do {
            try folder.prepare()
        } catch {
            printError("scanbridge: \(error)")
            throw ExitCode(73)
        }
        // A bad configuration fails here, once, rather than in a restart loop.
        let configuration = try options.loadConfiguration()
        let (_, logFile) = try ServiceLogging.bootstrap(folder: folder, settings: configuration.settings, fileName: "monitor.log")
        let logger = Logger(label: "scanbridge.monitor")
        logger.info("ScanBridge \(ProductVersion.semantic) monitor starting", metadata: ["home": "\(folder.root)", "pid": "\(getpid())"])

        let policy = RestartPolicy(initialDelay: .seconds(restartDelay), maximumDelay: .seconds(maxRestartDelay),
                                   stableAfter: .seconds(stableAfter), stopGracePeriod: .seconds(stopTimeout))
        let supervisor = Supervisor(
            executable: CrashReports.executablePath(), arguments: ["serve"] + serveArguments(home: folder.root) + debug.arguments,
            environment: CrashReports.environment(ProcessInfo.processInfo.environment, dumpFolder: folder.dump),
            policy: policy, logger: logger)
        let status = supervisor.run()
        logFile.flush()
        if status != 0 { throw ExitCode(status) }
    }

    /// The `serve` options equivalent to the ones the monitor was given.
    func serveArguments(home: String) -> [String] {
        var arguments = ["--home", home]
        if let logLevel = options.logLevel { arguments += ["--log-level", String(logLevel)] }
        if let ioEngine = options.ioEngine { arguments += ["--io-engine", ioEngine] }
        if let bindAddress = options.bindAddress { arguments += ["--bind-address", bindAddress] }
        for setting in options.settings { arguments += ["--set", setting] }
        return arguments
    }
}
