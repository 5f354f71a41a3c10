import Foundation
import Testing

/// The `scanbridge` binary, run as a subprocess the way a user runs it.
@Suite("scanbridge command line")
struct CommandLineTests {
    @Test("version prints the product and API versions")
    func version() throws {
        let result = try ChildProcess.scanbridge(["version"])
        #expect(result.status == 0)
        #expect(result.stdout == "scanbridge 0.1.0 (DWT Service REST API 20240719)\n")
        let json = try ChildProcess.scanbridge(["version", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: String]
        #expect(object?["version"] == "0.1.0")
        #expect(object?["apiVersion"] == "20240719")
    }

    @Test("config show on the seed's file reports ports 18622, 18623, 18625, 18626 and LogLevel 1")
    func configShowSeed() throws {
        let home = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try TestSupport.fixture("seed-DSConfiguration.ini").write(toFile: "\(home)/DSConfiguration.ini", atomically: true, encoding: .utf8)

        let text = try ChildProcess.scanbridge(["config", "show", "--home", home])
        #expect(text.status == 0, "\(text.stderr)")
        // Key names are padded to the longest key, so match the line whatever the padding.
        #expect(text.stdout.split(separator: "\n").contains {
            $0.hasPrefix("  LogLevel ") && $0.hasSuffix(" = 1    (\(home)/DSConfiguration.ini:13)")
        })
        #expect(text.stdout.contains("dwt  http   127.0.0.1:18622"))
        #expect(text.stdout.contains("dwt  https  127.0.0.1:18623"))
        #expect(text.stdout.contains("dcp  http   127.0.0.1:18625"))
        #expect(text.stdout.contains("dcp  https  127.0.0.1:18626"))

        let json = try ChildProcess.scanbridge(["config", "show", "--json"], environment: ["SCANBRIDGE_HOME": home, "SCANBRIDGE_IOENGINE": "epoll"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let ports = (object["listeners"] as? [[String: Any]])?.compactMap { $0["port"] as? Int }.sorted()
        #expect(ports == [18622, 18623, 18625, 18626])
        #expect(object["logLevel"] as? Int == 1)
        let engine = (object["values"] as? [[String: Any]])?.first { $0["key"] as? String == "IOEngine" }
        #expect(engine?["value"] as? String == "epoll")
        #expect(engine?["source"] as? String == "environment SCANBRIDGE_IOENGINE")
    }

    @Test("a bad configuration exits 78 and names file, line and key")
    func configShowBadValue() throws {
        let home = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try "[DS]\nLogLevel = 1\nPort_mp_1 = abc // broken\n".write(toFile: "\(home)/DSConfiguration.ini", atomically: true, encoding: .utf8)
        let result = try ChildProcess.scanbridge(["config", "show", "--home", home])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(home)/DSConfiguration.ini:3: key Port_mp_1: expected an integer, got \"abc\""))
        let serve = try ChildProcess.scanbridge(["serve", "--home", home])
        #expect(serve.status == 78)
    }

    @Test("serve prepares the folder, logs, and exits cleanly on SIGTERM and SIGINT", arguments: [SIGTERM, SIGINT])
    func serveStartsAndStops(signal: Int32) throws {
        let home = try TestSupport.temporaryFolder() + "/home"
        defer { try? FileManager.default.removeItem(atPath: home) }
        // Every listener on port 0 (any free port): serve binds its ports, and tests run side by side.
        let child = ChildProcess(TestSupport.scanbridgeBinary, ["serve", "--home", home, "--log-level", "30",
                                                                "--set", "Port_mp_0=0", "--set", "Port_mp_1=0",
                                                                "--set", "SSLPort_mp_0=0", "--set", "SSLPort_mp_1=0"])
        try child.start()
        let logPath = "\(home)/log/scanbridge.log"
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !((try? String(contentsOfFile: logPath, encoding: .utf8))?.contains("Ready") ?? false) {
            usleep(20_000)
        }
        #expect(child.process.isRunning)
        kill(child.process.processIdentifier, signal)
        let result = child.finish()
        #expect(result.status == 0, "\(result.stderr)")
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(log.contains("ScanBridge 0.1.0 starting"))
        #expect(log.contains("Received \(signal == SIGINT ? "SIGINT" : "SIGTERM"); stopping"))
        #expect(log.contains("Stopped cleanly"))
        #expect(result.stderr.contains("Stopped cleanly"), "the log also goes to stderr")
        for name in ["cache", "cert", "dump", "log", "upload", "storage", "DSConfiguration.ini", "service.ini", "user_config.ini"] {
            #expect(FileManager.default.fileExists(atPath: "\(home)/\(name)"), "\(name)")
        }
    }

    @Test("serve refuses an unwritable service folder with a clear message")
    func serveUnwritable() throws {
        let home = try TestSupport.temporaryFolder()
        defer { chmod(home, 0o755); try? FileManager.default.removeItem(atPath: home) }
        chmod(home, 0o555)
        // Root writes anywhere, so as root the binary runs as `nobody` through util-linux's setpriv.
        let result: (status: Int32, stdout: String, stderr: String)
        if geteuid() == 0 {
            chmod(TestSupport.productsDirectory.path, 0o755)
            let child = ChildProcess("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                                          TestSupport.scanbridgeBinary, "serve", "--home", home])
            try child.start()
            result = child.finish()
        } else {
            result = try ChildProcess.scanbridge(["serve", "--home", home])
        }
        #expect(result.status == 73)
        #expect(result.stderr.contains("Service folder \(home) is not writable: Permission denied."), "\(result.stderr)")
    }

    @Test("devices lists scanners and cameras (details in ScanBridgeDevicesTests)")
    func devices() throws {
        let result = try ChildProcess.scanbridge(["devices", "--no-capabilities"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Scanners") && result.stdout.contains("Cameras:"), "\(result.stdout)")
    }
}
