import ArgumentParser
import Foundation
import ScanBridgeService

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Inspect the configuration.",
        subcommands: [Show.self, Defaults.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration and where each value came from.")

        @OptionGroup var options: ServiceOptions
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() throws {
            let loaded = try options.loadConfiguration()
            if json {
                print(try renderJSON(loaded))
                return
            }
            print("Configuration file: \(loaded.filePath)\(loaded.fileExists ? "" : " (absent: built-in defaults)")")
            var section = ""
            let width = loaded.values.map(\.key.name.count).max() ?? 0
            for value in loaded.values {
                if value.key.section != section {
                    section = value.key.section
                    print("[\(section)]")
                }
                let padded = value.key.name.padding(toLength: width, withPad: " ", startingAt: 0)
                print("  \(padded) = \(value.value)    (\(value.source))")
            }
            if !loaded.unknownEntries.isEmpty {
                print("Unknown keys (kept, not used):")
                for entry in loaded.unknownEntries {
                    print("  [\(entry.section)] \(entry.key) = \(entry.value)    (\(loaded.filePath):\(entry.line ?? 0))")
                }
            }
            print("Listeners:")
            for listener in loaded.settings.listeners {
                print("  \(listener.role.rawValue)  \(listener.secure ? "https" : "http ")  \(loaded.settings.bindAddress):\(listener.port)")
            }
        }

        private func renderJSON(_ loaded: LoadedConfiguration) throws -> String {
            let object: [String: Any] = [
                "file": loaded.filePath,
                "fileExists": loaded.fileExists,
                "values": loaded.values.map { ["section": $0.key.section, "key": $0.key.name, "value": $0.value, "source": $0.source.description] },
                "unknown": loaded.unknownEntries.map { ["section": $0.section, "key": $0.key, "value": $0.value] },
                "listeners": loaded.settings.listeners.map { ["role": $0.role.rawValue, "port": $0.port, "secure": $0.secure] },
                "logLevel": loaded.settings.logLevel,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            return String(decoding: data, as: UTF8.self)
        }
    }

    struct Defaults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the default DSConfiguration.ini with every key documented.")

        func run() {
            print(DefaultConfigurationFile.render(), terminator: "")
        }
    }
}
