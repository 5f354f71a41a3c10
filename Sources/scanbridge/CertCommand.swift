import ArgumentParser
import Foundation
import ScanBridgeService

struct CertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Make the HTTPS certificate if missing; print the local CA to trust and its fingerprint.",
        discussion: """
            The HTTPS listeners use DIR/cert/server.pem and DIR/cert/server_key.pem. When both are
            missing, ScanBridge makes a local certificate authority (DIR/cert/ca.pem, valid only for
            127.0.0.1, ::1 and localhost by its name constraints; its key in DIR/cert/private) and
            a server certificate for those names signed by it. Trust ca.pem in the browser (check
            the fingerprint). To use your own certificate, replace the two server files and
            restart the service.
            """,
        subcommands: [TrustCommand.self])

    @OptionGroup var options: ServiceOptions
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let folder = try options.preparedFolder()
        let certificates = ServerCertificates(folder: folder)
        do {
            try certificates.ensure()
        } catch {
            printError("scanbridge: \(error)")
            throw ExitCode(73)
        }
        let hasAuthority = FileManager.default.fileExists(atPath: certificates.authorityCertificate)
        let shown = hasAuthority ? certificates.authorityCertificate : certificates.certificate
        let fingerprint: String
        do {
            fingerprint = try ServerCertificates.fingerprint(ofFile: shown)
        } catch {
            printError("scanbridge: cannot read \(shown): \(error)")
            throw ExitCode(65)
        }
        if json {
            let object: [String: Any] = [
                "ca": hasAuthority ? certificates.authorityCertificate : NSNull(),
                "certificate": certificates.certificate,
                "privateKey": certificates.privateKey,
                "sha256": fingerprint,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if hasAuthority {
            print("CA certificate: \(certificates.authorityCertificate)")
            print("SHA-256 fingerprint: \(fingerprint)")
        } else {
            print("No local CA: the server certificate was supplied by an administrator.")
            print("SHA-256 fingerprint (server certificate): \(fingerprint)")
        }
        print("Server certificate: \(certificates.certificate)")
        print("Private key: \(certificates.privateKey)")
    }
}
