import Foundation
import Glibc
import Testing

/// Replacing cert/server.pem and cert/server_key.pem and restarting, as the README documents.
/// Needs the HTTPS server, which builds with `scanbridge cert` have; skipped in builds without.
@Suite("certificate replacement")
struct CertificateReplacementTests {
    static let hasTLS: Bool = {
        guard let help = try? Deploy.run(Deploy.scanbridge, ["--help"]) else { return false }
        return help.stdout.split(separator: "\n").contains { $0.hasPrefix("  cert ") }
    }()

    /// SHA-256 fingerprint of the certificate the server on `port` presents, as openssl prints it.
    static func servedFingerprint(port: UInt16) -> String {
        let command = "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
        return (try? Deploy.run("/bin/sh", ["-c", command], timeout: 20).stdout) ?? ""
    }

    static func fileFingerprint(_ path: String) throws -> String {
        try Deploy.run("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-fingerprint", "-sha256"]).stdout
    }

    @Test("dropping a new server.pem/server_key.pem into cert/ and restarting (monitor SIGHUP) serves the new certificate",
          .enabled(if: hasTLS, "needs the HTTPS server (builds with `scanbridge cert`)"))
    func replaceAndRestart() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        #expect(try Deploy.run(Deploy.scanbridge, ["cert", "--home", home]).status == 0)
        let port = Deploy.freePort()
        let listener = ["--set", "Port=0", "--set", "SSLPort=1", "--set", "SSLPort_mn_0=dwt", "--set", "SSLPort_mp_0=\(port)"]
        let monitor = try Child(Deploy.scanbridge, ["monitor", "--home", home] + listener)
        defer { monitor.signal(SIGTERM); _ = monitor.finish() }
        #expect(Deploy.wait(20) { MonitorTests.readyCount(home) == 1 }, "\(monitor.stderr)")
        let generated = try Self.fileFingerprint("\(home)/cert/server.pem")
        #expect(generated.contains("Fingerprint="))
        #expect(Self.servedFingerprint(port: port) == generated)

        // The administrator's own certificate (self-signed here), dropped over the generated one.
        let replacement = "\(folder)/mine"
        let made = try Deploy.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
            "-subj", "/CN=replaced", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", "\(replacement)_key.pem", "-out", "\(replacement).pem"])
        #expect(made.status == 0, "\(made.stderr)")
        try FileManager.default.removeItem(atPath: "\(home)/cert/server.pem")
        try FileManager.default.removeItem(atPath: "\(home)/cert/server_key.pem")
        try FileManager.default.copyItem(atPath: "\(replacement).pem", toPath: "\(home)/cert/server.pem")
        try FileManager.default.copyItem(atPath: "\(replacement)_key.pem", toPath: "\(home)/cert/server_key.pem")
        let mine = try Self.fileFingerprint("\(home)/cert/server.pem")
        #expect(mine != generated)

        monitor.signal(SIGHUP)
        #expect(Deploy.wait(20) { MonitorTests.readyCount(home) == 2 && Deploy.tcpConnects(port: port) })
        #expect(Self.servedFingerprint(port: port) == mine)
        #expect(Deploy.read("\(home)/log/monitor.log").contains("Received SIGHUP; restarting serve"))
        // The generated certificate was not made again over the administrator's.
        #expect(try Self.fileFingerprint("\(home)/cert/server.pem") == mine)
    }
}
