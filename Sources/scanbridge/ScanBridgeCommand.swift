import ArgumentParser
import ScanBridgeCore

@main
struct ScanBridgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scanbridge",
        abstract: "A local scanning service speaking the Dynamic Web TWAIN Service REST API.",
        version: ProductVersion.semantic,
        subcommands: [Serve.self, MonitorCommand.self, VersionCommand.self, ConfigCommand.self, Devices.self])
}
