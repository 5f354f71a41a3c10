import Foundation
import Testing

/// The units in Deploy/systemd, checked by systemd's own `systemd-analyze verify`.
///
/// `verify` insists that ExecStart= names an executable file, and /opt/scanbridge/bin/scanbridge
/// exists only on installed machines, so each test verifies a copy of the unit whose
/// /opt/scanbridge paths point into a temporary folder holding the freshly built binary
/// (a symlink). Nothing else in the unit is changed.
@Suite("systemd units")
struct SystemdUnitTests {
    /// A copy of `unit` rewritten to a temporary /opt/scanbridge with the built binary.
    static func relocated(_ unit: String, binary: Bool = true) throws -> (folder: String, unit: String) {
        let folder = try Deploy.temporaryFolder()
        let opt = "\(folder)/opt/scanbridge"
        try FileManager.default.createDirectory(atPath: "\(opt)/bin", withIntermediateDirectories: true)
        if binary { try FileManager.default.createSymbolicLink(atPath: "\(opt)/bin/scanbridge", withDestinationPath: Deploy.scanbridge) }
        let text = try String(contentsOfFile: Deploy.unitFile(unit), encoding: .utf8)
        let path = "\(folder)/scanbridge.service"
        try text.replacingOccurrences(of: "/opt/scanbridge", with: opt).write(toFile: path, atomically: true, encoding: .utf8)
        return (folder, path)
    }

    /// `[Service]` and friends as key → values (a key may repeat).
    static func directives(_ unit: String) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for line in try String(contentsOfFile: Deploy.unitFile(unit), encoding: .utf8).split(separator: "\n") {
            guard !line.hasPrefix("#"), !line.hasPrefix("["), let equals = line.firstIndex(of: "=") else { continue }
            result[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return result
    }

    @Test("systemd-analyze verify passes on the system unit")
    func verifySystemUnit() throws {
        let (folder, unit) = try Self.relocated("scanbridge.service")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try Deploy.run("/usr/bin/systemd-analyze", ["verify", unit])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("scanbridge.service"), "verify had something to say about the unit: \(result.stderr)")
    }

    @Test("systemd-analyze --user verify passes on the user unit")
    func verifyUserUnit() throws {
        let (folder, unit) = try Self.relocated("scanbridge-user.service")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A user manager needs a runtime folder; a private one stands in for /run/user/UID.
        let runtime = "\(folder)/run"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let result = try Deploy.run("/usr/bin/systemd-analyze", ["--user", "verify", unit],
                                    environment: Deploy.environment(["XDG_RUNTIME_DIR": runtime]))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("scanbridge.service"), "verify had something to say about the unit: \(result.stderr)")
    }

    @Test("verify fails when the unit's binary is missing (the check can fail)")
    func verifyCatchesMissingBinary() throws {
        let (folder, unit) = try Self.relocated("scanbridge.service", binary: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try Deploy.run("/usr/bin/systemd-analyze", ["verify", unit])
        #expect(result.status != 0)
        #expect(result.stderr.contains("is not executable"), "\(result.stderr)")
    }

    @Test("the system unit is a hardened Type=notify service with a watchdog, as user scanbridge in group scanner")
    func systemUnitDirectives() throws {
        let unit = try Self.directives("scanbridge.service")
        #expect(unit["Type"] == ["notify"])
        #expect(unit["ExecStart"] == ["/opt/scanbridge/bin/scanbridge serve --home /opt/scanbridge"])
        #expect(unit["WatchdogSec"]?.isEmpty == false)
        #expect(unit["Restart"] == ["on-failure"])
        #expect(unit["User"] == ["scanbridge"])
        #expect(unit["SupplementaryGroups"]?.first?.split(separator: " ").contains("scanner") == true)
        for (key, value) in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ReadWritePaths", "/opt/scanbridge"),
                             ("PrivateTmp", "yes"), ("ProtectHome", "yes")] {
            #expect(unit[key] == [value], "\(key)")
        }
        #expect(unit["Environment"]?.contains { $0.hasPrefix("SWIFT_BACKTRACE=") && $0.contains("output-to=/opt/scanbridge/dump") } == true)
        let user = try Self.directives("scanbridge-user.service")
        #expect(user["Type"] == ["notify"])
        #expect(user["ExecStart"] == ["/opt/scanbridge/bin/scanbridge serve --home %h/.local/share/scanbridge"])
        #expect(user["WatchdogSec"]?.isEmpty == false)
    }

    @Test("systemd-analyze security rates the system unit's exposure low")
    func exposure() throws {
        let (folder, unit) = try Self.relocated("scanbridge.service")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try Deploy.run("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", unit])
        let line = result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let score = line.flatMap { $0.split(separator: " ").compactMap { Double($0) }.first }
        print("systemd-analyze security --offline=true: \(line.map(String.init) ?? "no score")")
        // 0 = fully locked down, 10 = unprotected; systemd calls below 3 "OK". Scanners and
        // cameras need device access, so PrivateDevices= stays off.
        #expect((score ?? 10) < 3.0, "\(result.stdout)")
    }
}
