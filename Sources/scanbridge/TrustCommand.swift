import ArgumentParser
import Foundation
import ScanBridgeService

/// `scanbridge cert trust`: adds the service's local CA (`cert/ca.pem`) to the current user's
/// NSS databases so Chromium and Firefox accept the HTTPS ports. Hooked under `cert`.
struct TrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Make Chromium and Firefox of the current user trust the service's local CA.",
        discussion: """
            Adds DIR/cert/ca.pem to ~/.pki/nssdb (Chromium; created when absent) and to every \
            Firefox profile's cert9.db, with certutil (Debian: libnss3-tools). Run it as the user \
            who browses, not as root. Restart the browsers afterwards.
            """)

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("nssdb"), help: ArgumentHelp(
        "An NSS database folder to use instead of the user's browsers; repeatable.", valueName: "DIR"))
    var databases: [String] = []

    @Flag(help: "Remove the CA instead of adding it.")
    var remove = false

    func run() throws {
        let trust = CertificateTrust(serviceHome: options.resolvedHome)
        let targets = databases.isEmpty
            ? CertificateTrust.userDatabases()
            : databases.map { CertificateTrust.Database(directory: URL(fileURLWithPath: $0).standardizedFileURL.path, browser: "NSS") }
        do {
            if !remove { try trust.checkCA() }
            for database in targets {
                if remove {
                    try trust.untrust(in: database)
                    print("Removed \"\(CertificateTrust.nickname)\" from \(database)")
                } else {
                    try trust.trust(in: database)
                    print("Trusted \(trust.caFile) as \"\(CertificateTrust.nickname)\" in \(database)")
                }
            }
        } catch {
            printError("scanbridge: \(error)")
            throw ExitCode(1)
        }
    }
}
