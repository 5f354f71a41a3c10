import Foundation
import ScanBridgeCore

/// Where an effective configuration value came from. Precedence, lowest first:
/// built-in default < `DSConfiguration.ini` < environment (`SCANBRIDGE_<KEY>`) < command line.
public enum ValueSource: Sendable, Equatable, CustomStringConvertible {
    case builtInDefault
    case file(path: String, line: Int)
    case environment(variable: String)
    case commandLine(flag: String)

    public var description: String {
        switch self {
        case .builtInDefault: "default"
        case .file(let path, let line): "\(path):\(line)"
        case .environment(let variable): "environment \(variable)"
        case .commandLine(let flag): "command line \(flag)"
        }
    }
}

/// A configuration problem, phrased so that the user can find and fix it: the file and line (or
/// variable, or flag) and the key are named.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A value given on the command line, e.g. `--log-level 30` or `--set IOEngine=epoll`.
public struct ConfigurationOverride: Sendable {
    public var key: String
    public var value: String
    /// How the user wrote it, for `config show` and error messages.
    public var flag: String

    public init(key: String, value: String, flag: String) {
        self.key = key
        self.value = value
        self.flag = flag
    }
}

/// One effective value with its origin.
public struct ConfigurationValue: Sendable {
    public var key: ConfigurationKey
    public var value: String
    public var source: ValueSource
}

/// The configuration of one service folder: the parsed file (kept for rewrites), every
/// effective value with its source, and the typed settings the service runs with.
public struct LoadedConfiguration: Sendable {
    public static let fileName = "DSConfiguration.ini"

    public var filePath: String
    public var fileExists: Bool
    public var document: INIDocument
    public var values: [ConfigurationValue]
    /// Entries of the file that no part of ScanBridge reads; kept on rewrite.
    public var unknownEntries: [INIDocument.Entry]
    public var settings: ServiceSettings

    /// Loads `<home>/DSConfiguration.ini` (absent → defaults) and applies overrides.
    public static func load(
        home: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [ConfigurationOverride] = []
    ) throws(ConfigurationError) -> LoadedConfiguration {
        let path = (home as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            return try resolve(document: INIDocument(), path: path, fileExists: false, environment: environment, overrides: overrides)
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("\(path): cannot read the file: \(error.localizedDescription)")
        }
        return try load(text: text, path: path, environment: environment, overrides: overrides)
    }

    /// Parses `text` as the file at `path` (used by `load` and by tests).
    public static func load(
        text: String, path: String,
        environment: [String: String] = [:],
        overrides: [ConfigurationOverride] = []
    ) throws(ConfigurationError) -> LoadedConfiguration {
        let document: INIDocument
        do {
            document = try INIDocument(parsing: text)
        } catch {
            throw ConfigurationError("\(path): \(error)")
        }
        return try resolve(document: document, path: path, fileExists: true, environment: environment, overrides: overrides)
    }

    static func resolve(
        document: INIDocument, path: String, fileExists: Bool,
        environment: [String: String], overrides: [ConfigurationOverride]
    ) throws(ConfigurationError) -> LoadedConfiguration {
        var resolver = Resolver()
        var unknown: [INIDocument.Entry] = []

        for entry in document.entries {
            guard let key = ConfigurationKey.known(entry.key), key.section.caseInsensitiveEquals(entry.section) else {
                unknown.append(entry)
                continue
            }
            try resolver.set(key, entry.value, from: .file(path: path, line: entry.line ?? 0),
                             context: "\(path):\(entry.line ?? 0): key \(entry.key)")
        }
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix("SCANBRIDGE_") {
            guard let key = ConfigurationKey.known(String(variable.dropFirst("SCANBRIDGE_".count))),
                  key.environmentVariable == variable else { continue }
            try resolver.set(key, value, from: .environment(variable: variable), context: "environment variable \(variable)")
        }
        for override in overrides {
            guard let key = ConfigurationKey.known(override.key) else {
                throw ConfigurationError("\(override.flag): unknown configuration key \"\(override.key)\" (see `scanbridge config defaults`)")
            }
            try resolver.set(key, override.value, from: .commandLine(flag: override.flag), context: override.flag)
        }

        let (settings, values) = try resolver.finish()
        return LoadedConfiguration(filePath: path, fileExists: fileExists, document: document,
                                   values: values, unknownEntries: unknown, settings: settings)
    }

    /// The file with every effective value written back into it; unknown keys, comments and
    /// untouched lines stay as they were.
    public func rewritten(setting changes: [(key: String, value: String)]) throws(ConfigurationError) -> INIDocument {
        var updated = document
        for change in changes {
            guard let key = ConfigurationKey.known(change.key) else {
                throw ConfigurationError("unknown configuration key \"\(change.key)\"")
            }
            if case .failure(let problem) = key.validate(change.value) {
                throw ConfigurationError("key \(key.name): \(problem.message)")
            }
            updated.set(section: key.section, key: key.name, value: change.value)
        }
        return updated
    }
}

/// Collects values by precedence, then turns them into typed settings.
private struct Resolver {
    private var chosen: [String: ConfigurationValue] = [:]

    mutating func set(_ key: ConfigurationKey, _ raw: String, from source: ValueSource, context: String) throws(ConfigurationError) {
        switch key.validate(raw) {
        case .success(let value): chosen[key.name.lowercased()] = ConfigurationValue(key: key, value: value, source: source)
        case .failure(let problem): throw ConfigurationError("\(context): \(problem.message)")
        }
    }

    func value(_ name: String) -> ConfigurationValue? {
        if let value = chosen[name.lowercased()] { return value }
        guard let key = ConfigurationKey.known(name), !key.defaultValue.isEmpty else { return nil }
        return ConfigurationValue(key: key, value: key.defaultValue, source: .builtInDefault)
    }

    func integer(_ name: String) -> Int { Int(value(name)?.value ?? "") ?? 0 }

    func finish() throws(ConfigurationError) -> (ServiceSettings, [ConfigurationValue]) {
        var shown: [ConfigurationValue] = []
        var listeners: [ServiceSettings.Listener] = []
        for key in ConfigurationKey.catalog {
            if let chosen = value(key.name) { shown.append(chosen) }
            guard key.name == "Port" || key.name == "SSLPort" else { continue }
            let secure = key.name == "SSLPort", prefix = key.name
            for index in 0..<integer(prefix) {
                let roleKey = "\(prefix)_mn_\(index)", portKey = "\(prefix)_mp_\(index)"
                guard let role = value(roleKey), let port = value(portKey) else {
                    let missing = value(roleKey) == nil ? roleKey : portKey
                    throw ConfigurationError("\(prefix) is \(integer(prefix)) but \(missing) is not set; add it to \(LoadedConfiguration.fileName)")
                }
                shown += [role, port]
                let listener = ServiceSettings.Listener(role: ListenerRole(rawValue: role.value) ?? .dwt,
                                                        port: Int(port.value) ?? 0, secure: secure)
                if listener.port != 0, let clash = listeners.first(where: { $0.port == listener.port }) {
                    throw ConfigurationError("\(portKey) (\(port.source)): port \(listener.port) is already used by the \(clash.secure ? "HTTPS" : "HTTP") \(clash.role.rawValue) listener")
                }
                listeners.append(listener)
            }
        }
        let settings = ServiceSettings(
            dsVersion: value("DSVersion")?.value ?? "",
            logLevel: integer("LogLevel"),
            bindAddress: value("BindAddress")?.value ?? "127.0.0.1",
            ioEngine: IOEngineChoice(rawValue: value("IOEngine")?.value ?? "auto") ?? .auto,
            logMaxFileSizeBytes: integer("LogMaxFileSizeKB") * 1024,
            logMaxFiles: integer("LogMaxFiles"),
            bufferMemoryLimitBytes: integer("BufferMemoryLimit") << 20,
            bufferMaxPages: integer("BufferMaxPages"),
            listeners: listeners,
            maxBodyBytesInFlight: integer("MaxBodyBytesInFlightMB") << 20,
            importMaxPixels: integer("ImportMaxMegapixels") * 1_000_000)
        return (settings, shown)
    }
}
