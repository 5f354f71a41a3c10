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

    /// Signs a server certificate for 127.0.0.1 with the CA in `home/cert`.
    static func serverCertificate(home: String) throws {
        let cert = "\(home)/cert"
        let extensions = "\(cert)/server.ext"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
            .write(toFile: extensions, atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "\(cert)/server_key.pem", "-out", "\(cert)/server.csr"],
            ["x509", "-req", "-in", "\(cert)/server.csr", "-CA", "\(cert)/ca.pem", "-CAkey", "\(cert)/ca_key.pem", "-days", "30",
             "-extfile", extensions, "-out", "\(cert)/server.pem"],
        ] {
            let result = try Deploy.run("/usr/bin/openssl", arguments)
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    /// NSS's own TLS client (what Chromium and Firefox are built on): does it accept the server
    /// on `port` with the trust of `database`? Returns tstclnt's status and messages.
    static func nssHandshake(port: UInt16, database: String) throws -> Child.Result {
        try Deploy.run("/usr/bin/tstclnt", ["-h", "127.0.0.1", "-p", String(port), "-d", "sql:\(database)", "-Q"], timeout: 20)
    }

    @Test("after trust, NSS's TLS client accepts an HTTPS server whose certificate the CA signed; before, it refuses")
    func nssAcceptsTrustedServer() throws {
        let home = try Self.serviceHomeWithCA()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try Self.serverCertificate(home: home)
        let port = Deploy.freePort()
        let server = try Child("/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", "\(home)/cert/server.pem",
                                                    "-key", "\(home)/cert/server_key.pem", "-www", "-quiet"])
        defer { server.signal(SIGTERM); _ = server.finish() }
        #expect(Deploy.wait(10) { Deploy.tcpConnects(port: port) }, "\(server.stderr)")
        let nssdb = "\(home)/nssdb"
        try Self.newDatabase(nssdb)

        let before = try Self.nssHandshake(port: port, database: nssdb)
        #expect(before.status != 0)
        #expect(before.stderr.contains("SEC_ERROR_UNKNOWN_ISSUER"), "\(before.stderr)")

        try CertificateTrust(serviceHome: home).trust(in: .init(directory: nssdb, browser: "test"))
        let after = try Self.nssHandshake(port: port, database: nssdb)
        #expect(after.status == 0, "\(after.stderr)")
    }
}

