import Foundation
import ScanBridgeService
import Testing
@testable import ScanBridgeHTTP
@testable import ScanBridgeIO

/// The built `scanbridge` binary, next to the test bundle.
let scanbridgeBinary: String = {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("scanbridge").path
}()

/// `scanbridge serve` in a new service folder, every listener on port 0 (the log names the ports).
final class ServeProcess: @unchecked Sendable {
    let home: String
    let process = Process()
    private(set) var ports: [String: Int] = [:]   // "http dwt", "https dcp", …

    init(engine: IOEngineKind, home: String? = nil, extra: [String] = []) throws {
        self.home = try home ?? temporaryFolder()
        process.executableURL = URL(fileURLWithPath: scanbridgeBinary)
        process.arguments = ["serve", "--home", self.home, "--io-engine", engine.rawValue,
                             "--set", "Port_mp_0=0", "--set", "Port_mp_1=0", "--set", "SSLPort_mp_0=0", "--set", "SSLPort_mp_1=0"] + extra
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SCANBRIDGE_HOME")
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
    }

    var log: String { (try? String(contentsOfFile: home + "/log/scanbridge.log", encoding: .utf8)) ?? "" }

    /// Starts the service and waits for "Ready" (or its exit).
    func start() async throws {
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if log.contains("Ready;") || !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        for line in log.split(separator: "\n") where line.contains("Listening on ") {
            // "… Listening on https://127.0.0.1:4711/ (dwt)"
            let text = String(line)
            guard let scheme = text.range(of: "Listening on ")?.upperBound,
                  let colon = text.range(of: ":", options: .backwards, range: scheme..<text.endIndex),
                  let slash = text.range(of: "/ (", range: colon.upperBound..<text.endIndex),
                  let port = Int(text[colon.upperBound..<slash.lowerBound]) else { continue }
            let secure = text[scheme...].hasPrefix("https")
            let role = text.hasSuffix("(dwt)") ? "dwt" : "dcp"
            ports["\(secure ? "https" : "http") \(role)"] = port
        }
    }

    /// SIGTERM, then the exit status.
    func stop() async -> Int32 {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

func curlJSON(_ arguments: [String]) async throws -> [String: Any] {
    let result = try await run("/usr/bin/curl", ["-sS", "--max-time", "10"] + arguments)
    #expect(result.status == 0, "\(arguments): \(result.stderr)")
    return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
}

@Suite("scanbridge serve and cert, on each engine", .serialized)
struct ServeTests {
    @Test("serve: four listeners, /api/server, PATCH logLevel, version, welcome page, HTTPS, clean SIGTERM", arguments: engineKinds)
    func serve(kind: IOEngineKind) async throws {
        let service = try ServeProcess(engine: kind)
        defer { try? FileManager.default.removeItem(atPath: service.home) }
        try await service.start()
        #expect(service.ports.count == 4, "\(service.log)")
        guard let dwt = service.ports["http dwt"], let dwtSecure = service.ports["https dwt"],
              let dcp = service.ports["http dcp"], let dcpSecure = service.ports["https dcp"] else {
            _ = await service.stop()
            return
        }
        #expect(service.log.contains("I/O engine: \(kind.rawValue)"))

        let server = try await curlJSON(["http://127.0.0.1:\(dwt)/api/server"])
        #expect(server["logLevel"] as? Int == 1)
        #expect(server["ioEngine"] as? String == kind.rawValue)
        #expect(server["version"] as? String == "0.1.0")
        #expect(server["uptime"] is Int)

        let patched = try await curlJSON(["-X", "PATCH", "-H", "Content-Type: application/json", "-d", #"{"logLevel":30}"#,
                                          "http://127.0.0.1:\(dwt)/api/server"])
        #expect(patched["logLevel"] as? Int == 30)
        #expect(try await curlJSON(["http://127.0.0.1:\(dwt)/api/server"])["logLevel"] as? Int == 30)
        let bad = try await curlJSON(["-X", "PATCH", "-d", "not json", "http://127.0.0.1:\(dwt)/api/server"])
        #expect(bad["code"] as? Int == -2113)
        #expect(bad["statusCode"] as? Int == 400)
        let notAllowed = try await curlJSON(["-X", "DELETE", "http://127.0.0.1:\(dwt)/api/server"])
        #expect(notAllowed["code"] as? Int == -2112)
        #expect((notAllowed["message"] as? String)?.hasSuffix("allowed: GET, PATCH") == true)

        let ca = service.home + "/cert/ca.pem"
        let version = try await curlJSON(["--cacert", ca, "https://127.0.0.1:\(dwtSecure)/api/server/version"])
        #expect(version["version"] as? String == "20240719")
        #expect(version["compatible"] as? Bool == true)

        for (port, secure) in [(dcp, false), (dcpSecure, true)] {
            let page = try await run("/usr/bin/curl", ["-sS", "--cacert", ca, "\(secure ? "https" : "http")://127.0.0.1:\(port)/"])
            #expect(page.stdout.contains("ScanBridge is running"))
            #expect(page.stdout.contains("I/O engine: \(kind.rawValue)"))
        }
        // The service page doesn't serve the API.
        let noAPI = try await run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(dcp)/api/server"])
        #expect(noAPI.stdout == "404")

        #expect(await service.stop() == 0)
        #expect(service.log.contains("Received SIGTERM; stopping"))
        #expect(service.log.contains("Stopped cleanly"))
        let after = try await run("/usr/bin/curl", ["-sS", "http://127.0.0.1:\(dwt)/api/server"])
        #expect(after.status == 7, "the listener is still open after SIGTERM")
    }

    @Test("SIGTERM during a slow client: the service still stops promptly")
    func stopWithOpenConnection() async throws {
        let service = try ServeProcess(engine: engineKinds[0])
        defer { try? FileManager.default.removeItem(atPath: service.home) }
        try await service.start()
        let port = try #require(service.ports["http dwt"])
        let engine = try engine(engineKinds[0])
        let idle = try await engine.connect(address: "127.0.0.1", port: port, timeout: .seconds(5))
        try await idle.send(Array("GET /api/server HTTP/1.1\r\nHo".utf8), timeout: .seconds(5))
        let start = ContinuousClock.now
        #expect(await service.stop() == 0)
        // The 5 s grace period, then it closes whatever is left (bound generous for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(15))
        await idle.close()
    }

    @Test("cert prints the CA and its fingerprint; replacing server.pem and restarting uses the new certificate")
    func certificateReplacement() async throws {
        let home = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let printed = try await run(scanbridgeBinary, ["cert", "--home", home])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.contains("CA certificate: \(home)/cert/ca.pem"))
        let openssl = try await run("/usr/bin/openssl", ["x509", "-in", home + "/cert/ca.pem", "-noout", "-fingerprint", "-sha256"])
        let fingerprint = try #require(openssl.stdout.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(printed.stdout.contains("SHA-256 fingerprint: \(fingerprint)"))
        // Running it again keeps the same certificate.
        #expect(try await run(scanbridgeBinary, ["cert", "--home", home]).stdout == printed.stdout)

        // An administrator's own certificate (from another CA) replaces the generated one.
        let otherFolder = try makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: otherFolder) }
        for name in ["server.pem", "server_key.pem"] {
            try FileManager.default.removeItem(atPath: home + "/cert/" + name)
            try FileManager.default.copyItem(atPath: otherFolder + "/" + name, toPath: home + "/cert/" + name)
        }
        let service = try ServeProcess(engine: engineKinds[0], home: home)
        try await service.start()
        let port = try #require(service.ports["https dwt"])
        let withNew = try await run("/usr/bin/curl", ["-sS", "--cacert", otherFolder + "/ca.pem", "https://127.0.0.1:\(port)/api/server/version"])
        #expect(withNew.status == 0, "\(withNew.stderr)")
        let withOld = try await run("/usr/bin/curl", ["-sS", "--cacert", home + "/cert/ca.pem", "https://127.0.0.1:\(port)/api/server/version"])
        #expect(withOld.status == 60)
        #expect(await service.stop() == 0)

        // Half a pair is refused with a message naming the missing file.
        try FileManager.default.removeItem(atPath: home + "/cert/server_key.pem")
        let half = try await run(scanbridgeBinary, ["cert", "--home", home])
        #expect(half.status != 0)
        #expect(half.stderr.contains("server_key.pem is missing"))
    }

    @Test("a port already in use stops serve with a message naming it")
    func portInUse() async throws {
        let engine = try engine(engineKinds[0])
        let taken = try engine.listen(address: "127.0.0.1", port: 0)
        let home = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try await run(scanbridgeBinary, ["serve", "--home", home, "--set", "Port=1", "--set", "SSLPort=0",
                                                      "--set", "Port_mp_0=\(taken.port)"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("cannot listen on 127.0.0.1 port \(taken.port)"))
        #expect(result.stderr.contains("Address already in use"))
        await taken.close()
    }
}

@Suite("HTTP limits from DSConfiguration.ini")
struct LimitsConfigurationTests {
    @Test("every HTTP key maps onto HTTPLimits; absent keys keep the documented defaults")
    func mapping() throws {
        let text = """
            [ScanBridge]
            HTTPMaxLineBytes = 1000
            HTTPMaxHeadBytes = 2000 // comment
            HTTPMaxHeaders = 30
            HTTPMaxBodyMB = 3
            HTTPIdleTimeout = 4
            HTTPHeadTimeout = 5
            HTTPSendTimeout = 6
            MaxConnections = 7
            HTTPLingerTimeout = 8
            HTTPMinBodyRate = 9

            """
        let limits = HTTPLimits(configuration: try LoadedConfiguration.load(text: text, path: "/x/DSConfiguration.ini"))
        #expect(limits == HTTPLimits(maxRequestLineLength: 1000, maxHeaderBytes: 2000, maxHeaderCount: 30, maxBodySize: 3 << 20,
                                     idleTimeout: .seconds(4), headerReadTimeout: .seconds(5), minBodyRate: 9, sendTimeout: .seconds(6), maxConnections: 7,
                                     lingerTimeout: .seconds(8)))
        #expect(HTTPLimits(configuration: try LoadedConfiguration.load(text: "", path: "/x/DSConfiguration.ini")) == HTTPLimits())
        #expect(throws: ConfigurationError.self) { try LoadedConfiguration.load(text: "[ScanBridge]\nMaxConnections = 0\n", path: "/x/DSConfiguration.ini") }
    }
}
