import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's Tesseract runs parts of every page on an OpenMP team (libgomp) of its own choosing,
/// whose idle workers spin. ScanBridge already reads one page per core, so those teams only take
/// CPU from the other pages: a page cost three times the CPU of the same page alone. libgomp
/// reads its thread limit from `OMP_THREAD_LIMIT` once, when it is loaded, before any Swift
/// code runs; so the service sets it and starts itself again.
public enum OpenMPThreadLimit {
    static let variable = "OMP_THREAD_LIMIT"

    /// When `OMP_THREAD_LIMIT` is unset: sets it to 1 and replaces the process with a fresh run
    /// of the same executable and arguments (same pid). Returns when the variable was already set
    /// (the administrator's value is kept) or the restart failed. Call it first thing.
    public static func restartLimitedIfNeeded(arguments: [String] = CommandLine.arguments) {
        guard getenv(variable) == nil else { return }
        setenv(variable, "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // Still here: exec failed. Run on, with OpenMP's own teams.
        for pointer in argv { free(pointer) }
    }
}
