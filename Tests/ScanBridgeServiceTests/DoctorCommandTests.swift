import Foundation
import ScanBridgeHTTP
import Testing
@testable import ScanBridgeService

/// `scanbridge doctor`, run as a subprocess on a prepared machine state: a service folder made
/// by `scanbridge cert`, a browser's certificate store made by `cert trust --nssdb`,
/// the SANE test backend, and listener ports picked free for each test.
@Suite("scanbridge doctor")
struct DoctorCommandTests {
    struct Setup {
        var root: String
        var home: String { root + "/service" }
        var nssdb: String { root + "/nssdb" }
        var saneConfig: String { root + "/sane.d" }
        var httpPort: UInt16
        var httpsPort: UInt16

        /// The service folder, the trusted CA and the SANE test backend, all healthy.
        static func healthy() throws -> Setup {
            let setup = Setup(root: try TestSupport.temporaryFolder(), httpPort: freePort(), httpsPort: freePort())
            let sane = try ChildProcess.run("/bin/bash", [TestSupport.repositoryRoot.appendingPathComponent("scripts/sane-test-config.sh").path, setup.saneConfig])
            #expect(sane.status == 0, "\(sane.stderr)")
            let cert = try ChildProcess.scanbridge(["cert", "--home", setup.home])
            #expect(cert.status == 0, "\(cert.stderr)")
            let trust = try ChildProcess.scanbridge(["cert", "trust", "--home", setup.home, "--nssdb", setup.nssdb])
            #expect(trust.status == 0, "\(trust.stdout)\(trust.stderr)")
            return setup
        }

        var environment: [String: String] { ["SANE_CONFIG_DIR": saneConfig] }

        /// One HTTP and one HTTPS core listener on this setup's ports, and an allowed origin.
        var settings: [String] {
            ["--set", "Port=1", "--set", "Port_mn_0=dwt", "--set", "Port_mp_0=\(httpPort)",
             "--set", "SSLPort=1", "--set", "SSLPort_mn_0=dwt", "--set", "SSLPort_mp_0=\(httpsPort)",
             "--set", "AllowedOrigins=https://app.example"]
        }

        func doctor() throws -> (status: Int32, findings: [[String: Any]], stderr: String) {
            let result = try ChildProcess.scanbridge(["doctor", "--json", "--home", home, "--nssdb", nssdb, "--timeout", "5"] + settings, environment: environment)
            let findings = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]],
                                        "\(result.stdout)\(result.stderr)")
            return (result.status, findings, result.stderr)
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static func findings(_ all: [[String: Any]], _ check: String) -> [[String: Any]] {
        all.filter { $0["check"] as? String == check }
    }

    static func summary(_ all: [[String: Any]]) -> String {
        all.map { "\($0["check"] ?? "?") \($0["status"] ?? "?"): \($0["detail"] ?? "") → \($0["advice"] ?? "")" }.joined(separator: "\n")
    }

    @Test("healthy: exit 0 and every check ok, with the ports free and with `serve` running on them")
    func healthy() throws {
        let setup = try Setup.healthy()
        defer { setup.remove() }

        let idle = try setup.doctor()
        #expect(idle.status == 0, "\(Self.summary(idle.findings))\(idle.stderr)")
        for check in ["configuration", "service-folder", "port", "certificate", "browser-trust", "sane", "io_uring", "local-network-access"] {
            #expect(!Self.findings(idle.findings, check).isEmpty, "no \(check) line")
        }
        for finding in idle.findings {
            #expect(finding["status"] as? String == "ok", "\(Self.summary([finding]))")
            #expect(finding["advice"] is NSNull, "ok lines carry no advice")
        }
        let ports = Self.findings(idle.findings, "port").compactMap { $0["detail"] as? String }
        #expect(ports.count == 2 && ports.allSatisfy { $0.contains("is free") }, "\(ports)")
        let sane = Self.findings(idle.findings, "sane").first?["detail"] as? String ?? ""
        #expect(sane.contains("backends test") && sane.contains("sane:test:0"), "\(sane)")

        // The same ports held by ScanBridge itself are fine: the doctor asks who answers.
        let serve = ChildProcess(TestSupport.scanbridgeBinary, ["serve", "--home", setup.home] + setup.settings, environment: setup.environment)
        try serve.start()
        defer { kill(serve.process.processIdentifier, SIGTERM); _ = serve.finish() }
        let ready = Date().addingTimeInterval(15)
        while Date() < ready, !((try? String(contentsOfFile: "\(setup.home)/log/scanbridge.log", encoding: .utf8))?.contains("Ready") ?? false) {
            usleep(20_000)
        }
        let running = try setup.doctor()
        #expect(running.status == 0, "\(Self.summary(running.findings))")
        let held = Self.findings(running.findings, "port")
        #expect(held.count == 2)
        for finding in held {
            #expect(finding["status"] as? String == "ok")
            #expect((finding["detail"] as? String)?.contains("is in use by ScanBridge 0.1.0") == true, "\(Self.summary([finding]))")
        }
        let access = Self.findings(running.findings, "local-network-access").first?["detail"] as? String ?? ""
        #expect(access.contains("the service answers on 127.0.0.1:\(setup.httpPort)"), "\(access)")
    }

    @Test("broken: a foreign program on a port, an expired certificate, a file instead of log/, no SANE backend → exit 1, each named with advice")
    func broken() throws {
        let setup = try Setup.healthy()
        defer { setup.remove() }
        // A plain TCP server that is not ScanBridge holds the HTTP port.
        let foreign = try ForeignServer(port: setup.httpPort)
        defer { foreign.stop() }
        // An expired server certificate from the folder's own CA.
        let authority = PEMCredential(certificate: try String(contentsOfFile: "\(setup.home)/cert/ca.pem", encoding: .utf8),
                                      privateKey: try String(contentsOfFile: "\(setup.home)/cert/private/ca_key.pem", encoding: .utf8))
        let expired = try LocalCertificateAuthority.issueServerCertificate(authority: authority, days: -1)
        try expired.certificate.write(toFile: "\(setup.home)/cert/server.pem", atomically: true, encoding: .utf8)
        try expired.privateKey.write(toFile: "\(setup.home)/cert/server_key.pem", atomically: true, encoding: .utf8)
        // A file where a subfolder must be: unwritable as a folder even for root.
        try FileManager.default.removeItem(atPath: "\(setup.home)/log")
        try "not a folder".write(toFile: "\(setup.home)/log", atomically: true, encoding: .utf8)
        try "".write(toFile: "\(setup.saneConfig)/dll.conf", atomically: true, encoding: .utf8)

        let result = try setup.doctor()
        #expect(result.status == 1, "\(Self.summary(result.findings))")
        func failed(_ check: String, _ detail: String) {
            let matching = Self.findings(result.findings, check).filter { $0["status"] as? String == "fail" }
            #expect(matching.contains { ($0["detail"] as? String)?.contains(detail) == true }, "\(check): \(Self.summary(result.findings))")
            #expect(matching.allSatisfy { !(($0["advice"] as? String) ?? "").isEmpty }, "\(check) has advice")
        }
        failed("port", "\(setup.httpPort) (dwt http) is held by ")
        failed("port", "pid \(getpid())")
        failed("port", "answered \"HTTP/1.0 200 OK\" (Server: NotScanBridge/1.0)")
        failed("certificate", "expired on")
        failed("service-folder", "\(setup.home)/log is not a directory")
        failed("sane", "no SANE backend is configured (\(setup.saneConfig)/dll.conf)")
        // The HTTPS port is still free, and the CA still trusted.
        let https = Self.findings(result.findings, "port").first { ($0["detail"] as? String)?.contains("\(setup.httpsPort)") == true }
        #expect(https?["status"] as? String == "ok")
        #expect(Self.findings(result.findings, "browser-trust").first?["status"] as? String == "ok")

        // Text output: the same verdicts, one line each, advice under a failure.
        let text = try ChildProcess.scanbridge(["doctor", "--home", setup.home, "--nssdb", setup.nssdb, "--timeout", "5"] + setup.settings, environment: setup.environment)
        #expect(text.status == 1)
        #expect(text.stdout.contains("FAIL    certificate: \(setup.home)/cert/server.pem expired on"), "\(text.stdout)")
        #expect(text.stdout.contains("        → Remove \(setup.home)/cert/server.pem"), "\(text.stdout)")
        #expect(text.stdout.contains("4 failed"), "\(text.stdout)")
    }

    @Test("a missing certificate, an empty AllowedOrigins and an untrusting browser are named, with what to do")
    func missingCertificate() throws {
        let setup = try Setup.healthy()
        defer { setup.remove() }
        for name in ["server.pem", "server_key.pem"] { try FileManager.default.removeItem(atPath: "\(setup.home)/cert/\(name)") }
        try FileManager.default.removeItem(atPath: setup.nssdb)
        let result = try ChildProcess.scanbridge(["doctor", "--json", "--home", setup.home, "--nssdb", setup.nssdb, "--set", "Port=0", "--set", "SSLPort=0"],
                                                 environment: setup.environment)
        #expect(result.status == 1)
        let findings = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let certificate = Self.findings(findings, "certificate").first
        #expect(certificate?["status"] as? String == "fail")
        #expect(certificate?["detail"] as? String == "no certificate at \(setup.home)/cert/server.pem")
        #expect((certificate?["advice"] as? String)?.contains("scanbridge cert --home \(setup.home)") == true)
        let trust = Self.findings(findings, "browser-trust").first
        #expect(trust?["status"] as? String == "warning")
        #expect((trust?["detail"] as? String)?.contains("NSS (no certificate store at \(setup.nssdb))") == true, "\(Self.summary(findings))")
        #expect((trust?["advice"] as? String)?.contains("scanbridge cert trust --home \(setup.home)") == true)
        let access = Self.findings(findings, "local-network-access").first
        #expect(access?["status"] as? String == "warning")
        #expect((access?["detail"] as? String)?.hasPrefix("AllowedOrigins is empty: no web page can use the service") == true)
        #expect((access?["advice"] as? String)?.contains("LocalNetworkAccessAllowedForUrls") == true)
        #expect((access?["advice"] as? String)?.contains("allow=\"local-network-access\"") == true)
    }

    @Test("SANE's configuration folders follow SANE_CONFIG_DIR (a trailing colon adds the defaults) and dll.d")
    func saneConfiguration() throws {
        let root = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: "\(root)/dll.d", withIntermediateDirectories: true)
        try "# comment\ntest\nnet # network\n\ntest\n".write(toFile: "\(root)/dll.conf", atomically: true, encoding: .utf8)
        try "airscan\n".write(toFile: "\(root)/dll.d/airscan", atomically: true, encoding: .utf8)
        try "ignored\n".write(toFile: "\(root)/dll.d/airscan~", atomically: true, encoding: .utf8)
        let own = SANEDiagnosis.configuration(environment: ["SANE_CONFIG_DIR": root])
        #expect(own.folders == [root])
        #expect(own.dllConf == "\(root)/dll.conf")
        #expect(own.backends == ["test", "net", "airscan"])
        let appended = SANEDiagnosis.configuration(environment: ["SANE_CONFIG_DIR": root + ":"])
        #expect(appended.folders == [root, ".", "/etc/sane.d"])
        let empty = SANEDiagnosis.configuration(environment: ["SANE_CONFIG_DIR": "\(root)/nothing"])
        #expect(empty.dllConf == nil && empty.backends.isEmpty)
    }

    @Test("an HTTP answer is parsed into status, Server header and body; anything else is not HTTP")
    func answerParsing() {
        let answer = LoopbackProbe.parse(Array("HTTP/1.1 200 OK\r\nserver: ScanBridge\r\nContent-Length: 2\r\n\r\n{}".utf8))
        #expect(answer == LoopbackAnswer(statusLine: "HTTP/1.1 200 OK", status: 200, server: "ScanBridge", body: "{}"))
        #expect(answer?.isScanBridge == true)
        #expect(LoopbackProbe.parse(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8)) == nil)
        #expect(LoopbackProbe.parse(Array("HTTP/1.1 200 OK\r\n".utf8)) == nil, "a head without its end is not an answer")
    }
}

/// A TCP port that was free a moment ago.
private func freePort() -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(descriptor, pointer, length) == 0 ? getsockname(descriptor, pointer, &length) : -1
        }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// A plain TCP server in this test process that answers every connection with a fixed HTTP
/// response from another server product.
private final class ForeignServer: @unchecked Sendable {
    let descriptor: Int32
    private let thread: Thread

    init(port: UInt16) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 8) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        descriptor = listener
        thread = Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = recv(client, &buffer, buffer.count, 0)
                let response = Array("HTTP/1.0 200 OK\r\nServer: NotScanBridge/1.0\r\nContent-Type: text/plain\r\n\r\nhello".utf8)
                _ = send(client, response, response.count, Int32(MSG_NOSIGNAL))
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        // shutdown wakes the blocked accept, which then fails and ends the thread.
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }
}

extension ChildProcess {
    /// Runs any program to completion.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = ChildProcess(executable, arguments)
        try child.start()
        return child.finish()
    }
}
