import Foundation

/// Makes Chromium and Firefox trust the service's local CA (`cert/ca.pem` of the service folder)
/// for the current user, so that `https://127.0.0.1:18623` and `:18626` open without a warning.
/// Both browsers read NSS databases: Chromium `~/.pki/nssdb`, Firefox one `cert9.db` per
/// profile. The work is done by `certutil` (Debian: libnss3-tools; Fedora: nss-tools).
public struct CertificateTrust: Sendable {
    /// The nickname the CA gets in every database; trusting again replaces it.
    public static let nickname = "ScanBridge local CA"

    public struct TrustError: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// One NSS database, as `certutil -d` names it (`sql:DIR`).
    public struct Database: Sendable, Hashable, CustomStringConvertible {
        public var directory: String
        public var browser: String
        public init(directory: String, browser: String) {
            self.directory = directory
            self.browser = browser
        }
        public var description: String { "\(browser) (\(directory))" }
    }

    public var serviceHome: String
    public var caFile: String
    public var certutil: String

    /// `home` is the service folder; the CA is `home/cert/ca.pem`.
    public init(serviceHome home: String, certutil: String? = nil) {
        serviceHome = home
        caFile = ((home as NSString).appendingPathComponent("cert") as NSString).appendingPathComponent("ca.pem")
        self.certutil = certutil ?? Self.findCertutil() ?? "certutil"
    }

    /// The current user's NSS databases: Chromium's (created when absent, as Chromium would) and
    /// every Firefox profile that has a `cert9.db` (regular and snap installs).
    public static func userDatabases(userHome: String = NSHomeDirectory()) -> [Database] {
        var result = [Database(directory: "\(userHome)/.pki/nssdb", browser: "Chromium")]
        for profiles in ["\(userHome)/.mozilla/firefox", "\(userHome)/snap/firefox/common/.mozilla/firefox"] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: profiles)) ?? []).sorted()
            for name in names where FileManager.default.fileExists(atPath: "\(profiles)/\(name)/cert9.db") {
                result.append(Database(directory: "\(profiles)/\(name)", browser: "Firefox"))
            }
        }
        return result
    }

    /// Checks that the CA exists and looks like a PEM certificate; the message says how to make one.
    public func checkCA() throws(TrustError) {
        guard let text = try? String(contentsOfFile: caFile, encoding: .utf8) else {
            throw TrustError(description: "No local CA at \(caFile). Create the certificates first with `scanbridge cert --home \(serviceHome)` (the packages do this on install).")
        }
        guard text.contains("-----BEGIN CERTIFICATE-----") else {
            throw TrustError(description: "\(caFile) is not a PEM certificate.")
        }
    }

    /// Adds the CA (trusted to identify web servers: `C,,`) to `database`, replacing an older
    /// copy; creates the database when its folder has none yet.
    public func trust(in database: Database) throws(TrustError) {
        try checkCA()
        let spec = "sql:\(database.directory)"
        if !FileManager.default.fileExists(atPath: "\(database.directory)/cert9.db") {
            do {
                try FileManager.default.createDirectory(atPath: database.directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw TrustError(description: "Cannot create \(database.directory): \(error.localizedDescription)")
            }
            try run(["-N", "-d", spec, "--empty-password"], what: "create the NSS database \(database.directory)")
        }
        _ = try? run(["-D", "-d", spec, "-n", Self.nickname], what: "")
        try run(["-A", "-d", spec, "-n", Self.nickname, "-t", "C,,", "-i", caFile], what: "add the CA to \(database)")
    }

    /// Removes the CA from `database` (no error when it was not there).
    public func untrust(in database: Database) throws(TrustError) {
        guard FileManager.default.fileExists(atPath: "\(database.directory)/cert9.db") else { return }
        let spec = "sql:\(database.directory)"
        while (try? run(["-D", "-d", spec, "-n", Self.nickname], what: "")) != nil {}
    }

    /// The nicknames and trust flags `certutil -L` lists for `database`.
    public func list(_ database: Database) throws(TrustError) -> String {
        try run(["-L", "-d", "sql:\(database.directory)"], what: "list \(database)")
    }

    @discardableResult
    private func run(_ arguments: [String], what: String) throws(TrustError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: certutil)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw TrustError(description: "Cannot run \(certutil): \(error.localizedDescription). Install it (Debian/Ubuntu: apt install libnss3-tools; Fedora/RHEL: dnf install nss-tools).")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw TrustError(description: "certutil could not \(what): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return text
    }

    private static func findCertutil() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/certutil"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
