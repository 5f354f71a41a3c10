import ArgumentParser
import Foundation
import ScanBridgeCore
import ScanBridgeService

/// `scanbridge doctor`: the checks a help desk runs on a user's machine, one line each.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check ports, certificate, browser trust, SANE, io_uring, the service folder and browser access.",
        discussion: """
            Prints one line per check with its verdict (ok, warning, fail), what was found and, \
            when not ok, what to do. Changes nothing. Exit status 0 when no check failed \
            (warnings allowed), 1 when one did. Run it as the user who browses for the \
            browser-trust check; run it as the service's user to check a folder only that user \
            may read.
            """)

    @OptionGroup var options: ServiceOptions
    @Flag(help: "Print a JSON array of {check, status, detail, advice} instead of text.") var json = false
    @Option(help: "Seconds to wait for SANE discovery (network backends can hang).") var timeout: Double = 10
    @Option(name: .customLong("nssdb"), help: ArgumentHelp(
        "An NSS database folder to check for the CA instead of the user's browsers; repeatable.", valueName: "DIR"))
    var databases: [String] = []

    func run() throws {
        // Blocking checks (sockets, files, certutil): they run here, on the main thread, which
        // may block; SANE's async discovery is waited for with a bound inside `Doctor`.
        let trustDatabases = databases.isEmpty
            ? CertificateTrust.userDatabases()
            : databases.map { CertificateTrust.Database(directory: URL(fileURLWithPath: $0).standardizedFileURL.path, browser: "NSS") }
        let doctor = Doctor(folder: ServiceFolder(root: options.resolvedHome), overrides: try options.overrides(),
                            trustDatabases: trustDatabases, saneTimeout: timeout)
        let findings = doctor.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(findings), as: UTF8.self))
        } else {
            print("ScanBridge \(ProductVersion.semantic) doctor: \(doctor.folder.root)")
            for finding in findings {
                let label = switch finding.status {
                case .ok: "ok     "
                case .warning: "WARNING"
                case .fail: "FAIL   "
                }
                print("\(label) \(finding.check): \(finding.detail)")
                if let advice = finding.advice { print("        → \(advice)") }
            }
            let failed = findings.filter { $0.status == .fail }.count
            let warned = findings.filter { $0.status == .warning }.count
            print(failed == 0 && warned == 0 ? "All checks passed."
                  : "\(failed) failed, \(warned) warning\(warned == 1 ? "" : "s").")
        }
        if findings.worstStatus == .fail { throw ExitCode(1) }
    }
}
