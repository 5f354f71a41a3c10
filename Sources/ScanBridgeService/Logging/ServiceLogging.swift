import Foundation
import Logging
import Synchronization

/// The service's log level, shared by every handler so that `PATCH /api/server {"logLevel"}`
/// takes effect at once. DWT levels: 0 = errors only, 1 = normal, 2-29 = debug, ≥ 30 = verbose.
public final class ServiceLogLevel: Sendable {
    private let dwtLevel: Mutex<Int>

    public init(dwtLevel: Int) { self.dwtLevel = Mutex(dwtLevel) }

    public var dwt: Int {
        get { dwtLevel.withLock { $0 } }
        set { dwtLevel.withLock { $0 = newValue } }
    }

    public var swiftLogLevel: Logger.Level { Self.swiftLogLevel(forDWT: dwt) }

    public static func swiftLogLevel(forDWT level: Int) -> Logger.Level {
        switch level {
        case ...0: .error
        case 1: .info
        case 2..<30: .debug
        default: .trace
        }
    }

    public static func dwtLevel(for level: Logger.Level) -> Int {
        switch level {
        case .trace: 30
        case .debug: 2
        case .info, .notice, .warning: 1
        case .error, .critical: 0
        }
    }
}

/// Writes each record to the log sink (stderr and the rotating file in `log/`) at the shared level.
public struct ServiceLogHandler: LogHandler {
    private let label: String
    private let level: ServiceLogLevel
    private let sink: RotatingLogFile
    private let standardErrorFormat: StandardErrorFormat
    public var metadata: Logger.Metadata = [:]

    public init(label: String, level: ServiceLogLevel, sink: RotatingLogFile, standardErrorFormat: StandardErrorFormat = .plain) {
        self.label = label
        self.level = level
        self.sink = sink
        self.standardErrorFormat = standardErrorFormat
    }

    public var logLevel: Logger.Level {
        get { level.swiftLogLevel }
        set { level.dwt = ServiceLogLevel.dwtLevel(for: newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let details = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(label): \(event.message)\(details)"
        let line = "\(Self.timestamp()) \(event.level) \(text)\n"
        switch standardErrorFormat {
        case .plain: sink.append(line)
        case .journal: sink.append(line, standardError: StandardErrorFormat.journalLine(level: event.level, text: text))
        }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1_000_000))
    }
}

/// Sets up swift-log for the whole process once: stderr plus `log/scanbridge.log` (or another
/// file of `log/`, e.g. `monitor.log` for the supervisor). Under systemd, stderr lines carry
/// journald priority prefixes (`StandardErrorFormat.detect()`).
public enum ServiceLogging {
    public static func bootstrap(folder: ServiceFolder, settings: ServiceSettings,
                                 fileName: String = "scanbridge.log") throws -> (ServiceLogLevel, RotatingLogFile) {
        let level = ServiceLogLevel(dwtLevel: settings.logLevel)
        let file = try RotatingLogFile(path: (folder.log as NSString).appendingPathComponent(fileName),
                                       maxFileSize: settings.logMaxFileSizeBytes, maxFiles: settings.logMaxFiles,
                                       echoToStandardError: true)
        let format = StandardErrorFormat.detect()
        LoggingSystem.bootstrap { label in ServiceLogHandler(label: label, level: level, sink: file, standardErrorFormat: format) }
        return (level, file)
    }
}
