import ArgumentParser
import ScanBridgeCore

@main
struct ScanBridgeCommand: ParsableCommand {
    // Synchronous on purpose: `serve` must block SIGINT/SIGTERM before any other thread exists
    // (see ShutdownSignal); an async root would start the concurrency runtime first.
    static let configuration = CommandConfiguration(
        commandName: "scanbridge",
        abstract: "A local scanning service speaking the Dynamic Web TWAIN Service REST API.",
        version: ProductVersion.semantic,
        subcommands: [Serve.self, MonitorCommand.self, VersionCommand.self, ConfigCommand.self, Devices.self, ScanCommand.self, CaptureCommand.self,
                      CertCommand.self, DoctorCommand.self])
}
