import Foundation
import Glibc
import Testing
@testable import ScanBridgeService

@Suite("monitor")
struct MonitorTests {
    /// The pids the monitor logged as started, in order.
    static func startedPids(_ home: String) -> [pid_t] {
        Deploy.read("\(home)/log/monitor.log").split(separator: "\n").compactMap { line in
            guard line.contains("Started serve"), let range = line.range(of: "pid=") else { return nil }
            return pid_t(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    static func readyCount(_ home: String) -> Int {
        Deploy.occurrences(of: "Ready; stop with", in: Deploy.read("\(home)/log/scanbridge.log"))
    }

    @Test("a child killed with SIGKILL is replaced by a new one that answers again within two seconds; SIGTERM stops both")
    func restartsAfterSigkill() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        let port = Deploy.freePort()
        let monitor = try Child(Deploy.scanbridge, ["monitor", "--home", home] + Deploy.oneListener(port: port))
        #expect(Deploy.wait(20) { Self.readyCount(home) == 1 }, "\(monitor.stderr)")
        let first = try #require(Self.startedPids(home).first)
        #expect(Deploy.isRunning(first))
        // "Answering" is an HTTP answer on the child's port once the build has an HTTP server;
        // before that, the new child's "Ready" log line (written once it is configured).
        let hasHTTP = Deploy.wait(5) { Deploy.httpAnswers(port: port) }
        print("monitor test: \(hasHTTP ? "HTTP answers on port \(port)" : "no HTTP server in this build; checking the Ready line")")

        let killed = Date()
        kill(first, SIGKILL)
        let recovered = Deploy.wait(2) {
            Self.startedPids(home).count == 2 && Self.readyCount(home) == 2 && (!hasHTTP || Deploy.httpAnswers(port: port))
        }
        let elapsed = Date().timeIntervalSince(killed)
        #expect(recovered, "not answering 2 s after SIGKILL: \(Deploy.read("\(home)/log/monitor.log"))")
        print("monitor: new child \(hasHTTP ? "answering" : "ready") \(String(format: "%.2f", elapsed)) s after SIGKILL of the old one")
        let second = try #require(Self.startedPids(home).last)
        #expect(second != first)
        #expect(Deploy.isRunning(second))
        #expect(Deploy.read("\(home)/log/monitor.log").contains("serve (pid \(first)) was killed by signal 9"))

        monitor.signal(SIGTERM)
        let result = monitor.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!Deploy.isRunning(second))
        #expect(Deploy.read("\(home)/log/scanbridge.log").contains("Received SIGTERM; stopping"))
        #expect(Deploy.read("\(home)/log/monitor.log").contains("Monitor stopped cleanly; serve exited with status 0"))
    }

    @Test("restarts back off: each failure in a row doubles the delay, up to the cap")
    func backoff() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        let monitor = try Child(Deploy.scanbridge, ["monitor", "--home", home, "--restart-delay", "0.1", "--max-restart-delay", "0.4"] + Deploy.noListeners)
        for round in 1...4 {
            #expect(Deploy.wait(20) { Self.readyCount(home) == round })
            if let pid = Self.startedPids(home).last { kill(pid, SIGKILL) }
        }
        #expect(Deploy.wait(20) { Self.readyCount(home) == 5 })
        monitor.signal(SIGINT)
        #expect(monitor.finish().status == 0)
        let log = Deploy.read("\(home)/log/monitor.log")
        for (number, delay) in [(1, "0.1"), (2, "0.2"), (3, "0.4"), (4, "0.4")] {
            #expect(log.contains("restart #\(number) in \(delay) s"), "\(log)")
        }
        // The policy itself, with the defaults.
        let policy = RestartPolicy()
        #expect((1...10).map { policy.delay(afterFailures: $0) } ==
                [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200),
                 .milliseconds(6400), .milliseconds(12800), .milliseconds(25600), .seconds(30), .seconds(30)])
    }

    @Test("when the monitor itself is killed with SIGKILL, its child stops too")
    func childFollowsMonitor() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        let monitor = try Child(Deploy.scanbridge, ["monitor", "--home", home] + Deploy.noListeners)
        #expect(Deploy.wait(20) { Self.readyCount(home) == 1 })
        let child = try #require(Self.startedPids(home).first)
        monitor.signal(SIGKILL)
        _ = monitor.finish()
        #expect(Deploy.wait(5) { !Deploy.isRunning(child) })
        #expect(Deploy.read("\(home)/log/scanbridge.log").contains("Stopped cleanly"))
    }

    @Test("a bad configuration stops the monitor with status 78 before any child starts")
    func badConfiguration() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "[DS]\nLogLevel = loud\n".write(toFile: "\(folder)/DSConfiguration.ini", atomically: true, encoding: .utf8)
        let result = try Deploy.run(Deploy.scanbridge, ["monitor", "--home", folder], timeout: 20)
        #expect(result.status == 78)
        #expect(result.stderr.contains("LogLevel"), "\(result.stderr)")
        #expect(Self.startedPids(folder).isEmpty)
    }

    @Test("a child that exits with a status no restart can fix (78) stops the monitor with that status")
    func fatalChildStatus() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = "\(folder)/home"
        let monitor = try Child(Deploy.scanbridge, ["monitor", "--home", home] + Deploy.noListeners)
        #expect(Deploy.wait(20) { Self.readyCount(home) == 1 })
        // Break the configuration, then kill the child: its successor refuses to start.
        try "[DS]\nLogLevel = loud\n".write(toFile: "\(home)/DSConfiguration.ini", atomically: true, encoding: .utf8)
        if let pid = Self.startedPids(home).first { kill(pid, SIGKILL) }
        let result = monitor.finish(timeout: 20)
        #expect(result.status == 78, "\(result.stderr)")
        #expect(Deploy.read("\(home)/log/monitor.log").contains("exited with status 78: a restart cannot fix this"))
    }
}
