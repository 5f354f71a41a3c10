import Foundation
import Testing
@testable import ScanBridgeService

/// `cert trust`, against real NSS databases made and read by certutil (libnss3-tools).
@Suite("certificate trust")
struct CertificateTrustTests {
    /// A service folder whose cert/ca.pem is a fresh CA made by the openssl command.
    static func serviceHomeWithCA() throws -> String {
        let home = try Deploy.temporaryFolder()
        try FileManager.default.createDirectory(atPath: "\(home)/cert", withIntermediateDirectories: true)
        let result = try Deploy.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
            "-subj", "/CN=ScanBridge test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", "\(home)/cert/ca_key.pem", "-out", "\(home)/cert/ca.pem"])
        #expect(result.status == 0, "\(result.stderr)")
        return home
    }

    static func newDatabase(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let result = try Deploy.run("/usr/bin/certutil", ["-N", "-d", "sql:\(directory)", "--empty-password"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// The trust flags certutil lists for our nickname, one entry per copy.
    static func entries(_ directory: String) throws -> [String] {
        let listing = try Deploy.run("/usr/bin/certutil", ["-L", "-d", "sql:\(directory)"]).stdout
        return listing.split(separator: "\n").filter { $0.hasPrefix(CertificateTrust.nickname) }
            .map { String($0.split(separator: " ").last ?? "") }
    }

    @Test("trust adds the CA to an NSS database as a trusted web CA (C,,); again replaces it; remove takes it out")
    func trustUntrust() throws {
        let home = try Self.serviceHomeWithCA()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let nssdb = "\(home)/nssdb"
        try Self.newDatabase(nssdb)
        let trust = CertificateTrust(serviceHome: home)
        let database = CertificateTrust.Database(directory: nssdb, browser: "test")
        try trust.trust(in: database)
        #expect(try Self.entries(nssdb) == ["C,,"])
        try trust.trust(in: database)
        #expect(try Self.entries(nssdb) == ["C,,"], "a second trust keeps one copy")
        // certutil itself confirms the CA is valid for issuing server certificates.
        let verify = try Deploy.run("/usr/bin/certutil", ["-V", "-d", "sql:\(nssdb)", "-n", CertificateTrust.nickname, "-u", "L"])
        #expect(verify.stdout.contains("certificate is valid"), "\(verify.stdout)\(verify.stderr)")
        try trust.untrust(in: database)
        #expect(try Self.entries(nssdb).isEmpty)
    }

    @Test("the user's databases: Chromium's ~/.pki/nssdb (created when absent) and each Firefox profile's cert9.db")
    func userDatabases() throws {
        let home = try Self.serviceHomeWithCA()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let user = "\(home)/user"
        let profile = "\(user)/.mozilla/firefox/abcd1234.default-release"
        try Self.newDatabase(profile)
        try FileManager.default.createDirectory(atPath: "\(user)/.mozilla/firefox/no-db.profile", withIntermediateDirectories: true)
        let databases = CertificateTrust.userDatabases(userHome: user)
        #expect(databases.map(\.browser) == ["Chromium", "Firefox"])
        #expect(databases.map(\.directory) == ["\(user)/.pki/nssdb", profile])
        let trust = CertificateTrust(serviceHome: home)
        for database in databases { try trust.trust(in: database) }
        #expect(try Self.entries("\(user)/.pki/nssdb") == ["C,,"])
        #expect(try Self.entries(profile) == ["C,,"])
    }

    @Test("without a CA, trust fails with a message that says how to create one")
    func missingCA() throws {
        let home = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let trust = CertificateTrust(serviceHome: home)
        let error = #expect(throws: CertificateTrust.TrustError.self) {
            try trust.trust(in: .init(directory: "\(home)/nssdb", browser: "test"))
        }
        #expect(error?.description == "No local CA at \(home)/cert/ca.pem. Create the certificates first with `scanbridge cert --home \(home)` (the packages do this on install).")
        #expect(!FileManager.default.fileExists(atPath: "\(home)/nssdb"), "nothing is created when there is nothing to trust")
        try FileManager.default.createDirectory(atPath: "\(home)/cert", withIntermediateDirectories: true)
        try "not a certificate".write(toFile: "\(home)/cert/ca.pem", atomically: true, encoding: .utf8)
        #expect(throws: CertificateTrust.TrustError(description: "\(home)/cert/ca.pem is not a PEM certificate.")) {
            try trust.checkCA()
        }
    }

    @Test("a missing certutil is named with the package that provides it")
    func missingCertutil() throws {
        let home = try Self.serviceHomeWithCA()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let trust = CertificateTrust(serviceHome: home, certutil: "/nonexistent/certutil")
        let error = #expect(throws: CertificateTrust.TrustError.self) {
            try trust.trust(in: .init(directory: "\(home)/nssdb", browser: "test"))
        }
        #expect(error?.description.contains("libnss3-tools") == true)
    }
}
