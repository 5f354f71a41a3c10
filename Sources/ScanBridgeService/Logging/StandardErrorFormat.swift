import Foundation
import Glibc
import Logging

/// How log lines look on stderr. Under systemd, stderr is a stream into journald, which adds its
/// own timestamps and reads a syslog priority from a `<N>` prefix on each line (sd-daemon(3)), so
/// the journal records each line's level (`journalctl -p warning` works). Elsewhere stderr gets
/// the same line as the log file.
public enum StandardErrorFormat: Sendable, Equatable {
    case plain
    case journal

    /// `.journal` when stderr is the very stream systemd connected to journald: `$JOURNAL_STREAM`
    /// holds its `device:inode`, which must match stderr's (a child whose stderr was redirected
    /// elsewhere inherits the variable but not the stream). See systemd.exec(5).
    public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment,
                              descriptor: Int32 = STDERR_FILENO) -> StandardErrorFormat {
        guard let value = environment["JOURNAL_STREAM"] else { return .plain }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return .plain }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return .plain }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode ? .journal : .plain
    }

    /// The syslog priority journald stores for a swift-log level (syslog(3): 2 crit … 7 debug).
    public static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: 2
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug, .trace: 7
        }
    }

    /// The stderr form of a record in journal format: no timestamp, a `<N>` prefix on every line
    /// (journald splits the stream at newlines and reads the prefix of each).
    public static func journalLine(level: Logger.Level, text: String) -> String {
        let prefix = "<\(syslogPriority(level))>"
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { prefix + $0 }.joined(separator: "\n") + "\n"
    }
}
