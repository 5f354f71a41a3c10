import Foundation
import ScanBridgeCore

/// Whether the current user's browsers (the NSS databases `CertificateTrust` writes: Chromium's
/// `~/.pki/nssdb`, each Firefox profile) hold the service's local CA as a trusted web CA, read
/// with `certutil` like `scanbridge cert trust` writes them.
public enum BrowserTrustDiagnosis {
    public static let check = CertificateDiagnosis.trustCheck

    /// `databases` defaults to the current user's (`CertificateTrust.userDatabases`).
    public static func run(folder: ServiceFolder, databases: [CertificateTrust.Database] = CertificateTrust.userDatabases(),
                           certutil: String? = nil, timeout: Double = 5) -> DiagnosticFinding {
        let trust = CertificateTrust(serviceHome: folder.root, certutil: certutil)
        let trustCommand = "Run `scanbridge cert trust --home \(folder.root)` as the user who browses, then restart the browsers."
        guard FileManager.default.fileExists(atPath: trust.caFile) else {
            if FileManager.default.fileExists(atPath: ServerCertificates(folder: folder).certificate) {
                return .ok(check, "no local CA in \(folder.cert): the certificate was supplied by an administrator, whose CA the browsers must trust")
            }
            return .warning(check, "no local CA at \(trust.caFile)", advice: "Make the certificates first (`scanbridge cert --home \(folder.root)`). \(trustCommand)")
        }
        let authority: Certificate
        do {
            authority = try Certificate(pem: String(contentsOfFile: trust.caFile, encoding: .utf8))
        } catch {
            return .warning(check, "cannot read the local CA \(trust.caFile): \(error)", advice: "Run the doctor as the service's user, or check the file.")
        }
        guard FileManager.default.isExecutableFile(atPath: trust.certutil) else {
            return .warning(check, "certutil is not installed, so the browsers' certificate stores cannot be read",
                            advice: "Install it (Debian/Ubuntu: apt install libnss3-tools; Fedora/RHEL: dnf install nss-tools). \(trustCommand)")
        }
        // A browser that never ran has no store (Chromium makes ~/.pki/nssdb on its first
        // start): that matters only when no browser trusts the CA.
        var trusted: [String] = [], missing: [String] = [], storeless: [String] = []
        for database in databases {
            guard FileManager.default.fileExists(atPath: "\(database.directory)/cert9.db") else {
                storeless.append("\(database.browser) (no certificate store at \(database.directory))")
                continue
            }
            switch state(of: authority, in: database, certutil: trust.certutil, timeout: timeout) {
            case .trusted: trusted.append("\(database)")
            case .absent: missing.append("\(database): CA not present")
            case .replaced: missing.append("\(database): holds an older ScanBridge CA, not the current one")
            case .notTrustedForWeb(let flags): missing.append("\(database): CA present with trust \"\(flags)\", not trusted for web servers (C)")
            case .unreadable(let reason): missing.append("\(database): \(reason)")
            }
        }
        let user = currentUserName()
        if trusted.isEmpty {
            let rootNote = geteuid() == 0 ? " The doctor runs as root: browsers run as a desktop user, so run it as that user." : ""
            return .warning(check, "the browsers of \(user) do not trust the local CA: " + (missing + storeless).joined(separator: "; "),
                            advice: "HTTPS pages on https://127.0.0.1 show a certificate error until then. \(trustCommand)\(rootNote)")
        }
        if !missing.isEmpty {
            return .warning(check, "trusted in " + trusted.joined(separator: ", ") + "; not in " + missing.joined(separator: "; "),
                            advice: trustCommand)
        }
        return .ok(check, "the local CA is trusted by " + trusted.joined(separator: ", ")
                   + (storeless.isEmpty ? "" : "; no store yet: " + storeless.joined(separator: ", ")))
    }

    enum State: Equatable {
        case trusted
        case absent
        case replaced
        case notTrustedForWeb(flags: String)
        case unreadable(String)
    }

    static func state(of authority: Certificate, in database: CertificateTrust.Database, certutil: String, timeout: Double) -> State {
        let spec = "sql:\(database.directory)"
        guard let listing = BoundedProgram.run(certutil, ["-L", "-d", spec], timeout: timeout) else {
            return .unreadable("certutil did not answer within \(Int(timeout)) s")
        }
        guard listing.status == 0 else {
            return .unreadable("certutil cannot read it: \(listing.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        // Lines are "<nickname padded with spaces> <trust flags>", the flags last.
        let flags = listing.output.split(separator: "\n").filter { $0.hasPrefix(CertificateTrust.nickname + " ") }
            .compactMap { $0.split(separator: " ").last.map(String.init) }
        guard !flags.isEmpty else { return .absent }
        guard let copies = BoundedProgram.run(certutil, ["-L", "-d", spec, "-n", CertificateTrust.nickname, "-a"], timeout: timeout),
              copies.status == 0 else {
            return .unreadable("certutil cannot export \"\(CertificateTrust.nickname)\"")
        }
        let pems = copies.output.components(separatedBy: "-----END CERTIFICATE-----").dropLast()
            .map { $0 + "-----END CERTIFICATE-----\n" }
        guard pems.contains(where: authority.isSame(as:)) else { return .replaced }
        // The first of the three comma-separated fields is the trust for TLS servers.
        guard flags.contains(where: { $0.split(separator: ",", omittingEmptySubsequences: false).first?.contains("C") ?? false }) else {
            return .notTrustedForWeb(flags: flags[0])
        }
        return .trusted
    }
}

/// Runs a program with its output captured, killing it after `timeout` seconds (nil then).
enum BoundedProgram {
    struct Outcome {
        var status: Int32
        var output: String
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Double) -> Outcome? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            return nil
        }
        // Read while the program runs, so that a full pipe never stops it.
        let collected = BlockingResult<Data>()
        let reader = Thread {
            collected.fulfil(output.fileHandleForReading.readDataToEndOfFile())
        }
        reader.start()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: collected.wait(), as: UTF8.self))
    }
}
