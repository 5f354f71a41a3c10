import ArgumentParser
import Foundation
import ScanBridgeService

/// Options shared by every command that works on a service folder. Command-line values override
/// the environment, which overrides DSConfiguration.ini (see Config/DSConfiguration.ini).
struct ServiceOptions: ParsableArguments {
    static let defaultHome = "/opt/scanbridge"

    @Option(name: .long, help: ArgumentHelp(
        "Service folder; DIR/DSConfiguration.ini is its configuration. Also SCANBRIDGE_HOME. (default: \(defaultHome))",
        valueName: "DIR"))
    var home: String?

    @Option(name: .long, help: "Log level: 0 errors only, 1 normal, 2-29 debug, 30 verbose (LogLevel).")
    var logLevel: Int?

    @Option(name: .long, help: "Socket engine: auto, io_uring or epoll (IOEngine).")
    var ioEngine: String?

    @Option(name: .long, help: "Address every listener binds to (BindAddress).")
    var bindAddress: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override any configuration key; repeatable.", valueName: "KEY=VALUE"))
    var settings: [String] = []

    var resolvedHome: String {
        let chosen = home ?? ProcessInfo.processInfo.environment["SCANBRIDGE_HOME"] ?? Self.defaultHome
        return URL(fileURLWithPath: chosen).standardizedFileURL.path
    }

    func overrides() throws -> [ConfigurationOverride] {
        var result: [ConfigurationOverride] = []
        if let logLevel { result.append(.init(key: "LogLevel", value: String(logLevel), flag: "--log-level")) }
        if let ioEngine { result.append(.init(key: "IOEngine", value: ioEngine, flag: "--io-engine")) }
        if let bindAddress { result.append(.init(key: "BindAddress", value: bindAddress, flag: "--bind-address")) }
        for setting in settings {
            guard let equals = setting.firstIndex(of: "=") else {
                throw ValidationError("--set expects KEY=VALUE, got \"\(setting)\"")
            }
            result.append(.init(key: String(setting[..<equals]), value: String(setting[setting.index(after: equals)...]),
                                flag: "--set \(setting)"))
        }
        return result
    }

    /// The service folder, created and checked (`ServiceFolder.prepare`), or exit status 73
    /// (EX_CANTCREAT) with a message naming the folder and the reason.
    func preparedFolder() throws -> ServiceFolder {
        let folder = ServiceFolder(root: resolvedHome)
        do {
            try folder.prepare()
        } catch {
            printError("scanbridge: \(error)")
            throw ExitCode(73)
        }
        return folder
    }

    /// Loads the configuration or exits with status 78 (EX_CONFIG) and a message naming the problem.
    func loadConfiguration() throws -> LoadedConfiguration {
        do {
            return try LoadedConfiguration.load(home: resolvedHome, overrides: overrides())
        } catch let error as ConfigurationError {
            printError("scanbridge: configuration error: \(error)")
            throw ExitCode(78)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
