import Foundation

/// Process-level set-up `serve` does right after preparing its folder: crash reports into
/// `dump/` (which may re-execute the process, see `CrashReports`) and, when started by
/// `monitor`, stopping together with it (see `SupervisedProcess`).
public enum ServiceProcess {
    public static func prepare(folder: ServiceFolder) {
        if let warning = CrashReports.reexecIfNeeded(dumpFolder: folder.dump) {
            FileHandle.standardError.write(Data("scanbridge: \(warning)\n".utf8))
        }
        SupervisedProcess.bindToMonitor()
    }
}
