import Foundation
import Glibc

/// Crash reports: the Swift runtime's backtracer (swift-backtrace) writes a report of every
/// crashing thread into `dump/` of the service folder. The runtime reads `SWIFT_BACKTRACE` once,
/// at process start, so `serve` re-executes itself with it set when it is absent (`monitor`
/// sets it for its child; the systemd units set it with `Environment=`). An administrator's own
/// `SWIFT_BACKTRACE` is respected.
public enum CrashReports {
    public static let environmentVariable = "SWIFT_BACKTRACE"

    /// The backtracer settings that write reports into `dumpFolder` without waiting for a
    /// debugger: one file per crash, named `<program>-<pid>-<timestamp>.log` by the runtime.
    /// When a backtracer sits next to the executable (the packages install the static one as
    /// `bin/swift-backtrace`), it is named explicitly so that no Swift toolchain is needed.
    public static func backtraceSetting(dumpFolder: String, executable: String = executablePath()) -> String {
        var settings = ["enable=yes", "interactive=no", "color=no", "threads=all", "output-to=\(dumpFolder)"]
        let sibling = ((executable as NSString).deletingLastPathComponent as NSString).appendingPathComponent("swift-backtrace")
        if access(sibling, X_OK) == 0 { settings.append("swift-backtrace=\(sibling)") }
        return settings.joined(separator: ",")
    }

    /// The environment a child of ours (the `monitor`'s `serve`) should get.
    public static func environment(_ environment: [String: String], dumpFolder: String) -> [String: String] {
        var result = environment
        if result[environmentVariable] == nil { result[environmentVariable] = backtraceSetting(dumpFolder: dumpFolder) }
        return result
    }

    /// When `SWIFT_BACKTRACE` is unset, replaces this process with itself (same pid, arguments
    /// and environment) plus the setting. Call it early, before any thread starts. Returns only
    /// when nothing had to be done or the exec failed (then the service runs without reports).
    public static func reexecIfNeeded(dumpFolder: String) -> String? {
        let environment = ProcessInfo.processInfo.environment
        guard environment[environmentVariable] == nil else { return nil }
        let setting = backtraceSetting(dumpFolder: dumpFolder)
        var entries = environment.map { "\($0.key)=\($0.value)" }
        entries.append("\(environmentVariable)=\(setting)")
        let arguments = CommandLine.arguments
        let failure = withCStrings(arguments) { argv in
            withCStrings(entries) { envp in
                execve(executablePath(), argv, envp)
                return errno
            }
        }
        return "Cannot re-execute with \(environmentVariable) set (\(String(cString: strerror(failure)))); crash reports are off."
    }

    /// The running executable's path (`/proc/self/exe`).
    public static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The report files in `dumpFolder`, newest last.
    public static func reports(in dumpFolder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dumpFolder)) ?? []
        return names.filter { $0.hasSuffix(".log") }.sorted().map { (dumpFolder as NSString).appendingPathComponent($0) }
    }
}

/// A NULL-terminated `char *[]` for execve/posix_spawn, alive for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

#if DEBUG
/// Debug builds only: crash on purpose after a delay, so tests can check that a crash leaves a
/// report in `dump/` (`serve --debug-crash-after SECONDS`). Release builds have no such option.
public enum DebugCrash {
    public static func arm(afterSeconds seconds: Double) {
        let thread = Thread {
            Thread.sleep(forTimeInterval: seconds)
            crash()
        }
        thread.name = "scanbridge.debug-crash"
        thread.start()
    }

    /// A trap of the kind a failed precondition makes (SIGILL), in a frame of its own so that
    /// the report can be seen to name it.
    @inline(never)
    private static func crash() -> Never {
        preconditionFailure("Deliberate crash requested with --debug-crash-after")
    }
}
#endif
