import Foundation
import Glibc
import Testing
@testable import ScanBridgeService

@Suite("crash reports")
struct CrashReportTests {
    #if DEBUG
    @Test("a crash of serve (debug build, --debug-crash-after) leaves a backtrace report in dump/")
    func crashWritesReport() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        let result = try Deploy.run(Deploy.scanbridge, ["serve", "--home", home, "--debug-crash-after", "0.5"] + Deploy.noListeners, timeout: 60)
        #expect(result.uncaughtSignal && result.status == SIGILL, "status \(result.status): \(result.stderr)")
        let reports = CrashReports.reports(in: "\(home)/dump")
        #expect(reports.count == 1, "\(reports)")
        let report = Deploy.read(reports.first ?? "")
        #expect(report.contains("*** Program crashed: Illegal instruction"), "\(report.prefix(500))")
        #expect(report.contains("DebugCrash.crash()"), "the report names the crashing function")
        #expect((reports.first as NSString?)?.lastPathComponent.hasPrefix("scanbridge-") == true)
    }

    @Test("an administrator's own SWIFT_BACKTRACE wins (here: reports off)")
    func administratorSettingWins() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        let result = try Deploy.run(Deploy.scanbridge, ["serve", "--home", home, "--debug-crash-after", "0.3"] + Deploy.noListeners,
                                    environment: Deploy.environment(["SWIFT_BACKTRACE": "enable=no"]), timeout: 60)
        #expect(result.uncaughtSignal)
        #expect(CrashReports.reports(in: "\(home)/dump").isEmpty)
    }

    @Test("children of the monitor write crash reports too, and each crash is restarted")
    func crashUnderMonitor() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        // Every child crashes 0.3 s after starting; the monitor passes SWIFT_BACKTRACE to each.
        let monitor = try Child(Deploy.scanbridge, ["monitor", "--home", home, "--debug-crash-after", "0.3", "--max-restart-delay", "0.5"] + Deploy.noListeners)
        #expect(Deploy.wait(30) { CrashReports.reports(in: "\(home)/dump").count >= 2 && MonitorTests.startedPids(home).count >= 3 })
        monitor.signal(SIGTERM)
        #expect(monitor.finish().status == 0)
        #expect(Deploy.read("\(home)/log/monitor.log").contains("was killed by signal 4 (Illegal instruction)"))
        let report = Deploy.read(CrashReports.reports(in: "\(home)/dump").first ?? "")
        #expect(report.contains("DebugCrash.crash()"))
    }
    #endif

    @Test("the backtracer setting writes into the dump folder without waiting for a debugger")
    func setting() {
        let setting = CrashReports.backtraceSetting(dumpFolder: "/opt/scanbridge/dump", executable: "/nonexistent/bin/scanbridge")
        #expect(setting == "enable=yes,interactive=no,color=no,threads=all,output-to=/opt/scanbridge/dump")
        let inherited = CrashReports.environment(["SWIFT_BACKTRACE": "enable=no"], dumpFolder: "/x")
        #expect(inherited["SWIFT_BACKTRACE"] == "enable=no")
        #expect(CrashReports.environment([:], dumpFolder: "/x")["SWIFT_BACKTRACE"]?.contains("output-to=/x") == true)
    }
}
