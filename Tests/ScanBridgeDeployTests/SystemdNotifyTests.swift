import Foundation
import Glibc
import Logging
import Testing
@testable import ScanBridgeService

/// A stand-in for systemd's notification socket: a unix datagram socket the test reads.
final class NotifyListener {
    let descriptor: Int32
    let address: String // as $NOTIFY_SOCKET names it

    init(path: String? = nil, abstract: String? = nil) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var bytes: [UInt8]
        if let path {
            bytes = Array(path.utf8)
            address = path
        } else {
            let name = abstract ?? "scanbridge-test-\(UUID().uuidString)"
            bytes = [0] + Array(name.utf8)
            address = "@" + name
        }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (path == nil ? 0 : 1))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit { close(descriptor) }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Datagrams until one contains `needle` (inclusive), or nil after `timeout` seconds.
    func receive(until needle: String, timeout: Double) -> [String]? {
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let message = receive(timeout: deadline.timeIntervalSinceNow) else { return nil }
            messages.append(message)
            if message.contains(needle) { return messages }
        }
        return nil
    }
}

@Suite("sd_notify and the watchdog")
struct SystemdNotifyTests {
    @Test("the notifier reaches a filesystem socket and an abstract one")
    func notifierAddresses() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for listener in [try NotifyListener(path: "\(folder)/notify"), try NotifyListener()] {
            let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.address])
            #expect(notifier.isEnabled)
            try notifier.notify("READY=1\nSTATUS=test")
            #expect(listener.receive(timeout: 2) == "READY=1\nSTATUS=test")
        }
    }

    @Test("without NOTIFY_SOCKET nothing is sent; a vanished socket is an error, not a crash")
    func notifierDisabledAndBroken() throws {
        let disabled = SystemdNotifier(environment: [:])
        #expect(!disabled.isEnabled)
        try disabled.notify("READY=1")
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).isEnabled)
        let gone = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent-\(UUID().uuidString)/notify"])
        #expect(throws: SystemdNotifier.NotifyError.self) { try gone.notify("READY=1") }
    }

    @Test("the watchdog interval comes from WATCHDOG_USEC, for this process only")
    func watchdogInterval() {
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == .seconds(30))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) == .seconds(30))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: [:]) == nil)
    }

    @Test("serve under a notify socket: READY=1 once started, WATCHDOG=1 at half the interval, STOPPING=1 on SIGTERM")
    func serveNotifies() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let listener = try NotifyListener(path: "\(folder)/notify")
        let serve = try Child(Deploy.scanbridge, ["serve", "--home", "\(folder)/home"] + Deploy.noListeners,
                              environment: Deploy.environment(["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "400000"]))
        let ready = listener.receive(until: "READY=1", timeout: 20)
        #expect(ready?.last?.contains("MAINPID=\(serve.pid)") == true, "\(ready ?? [])")
        // 200 ms between pings: at least 4 in 1.5 s even on a busy machine.
        let started = Date()
        var pings = 0
        while Date().timeIntervalSince(started) < 1.5, let message = listener.receive(timeout: 1.5) {
            if message == "WATCHDOG=1" { pings += 1 }
        }
        #expect(pings >= 4, "\(pings) watchdog pings in 1.5 s")
        serve.signal(SIGTERM)
        let stopping = listener.receive(until: "STOPPING=1", timeout: 10)
        #expect(stopping != nil)
        let result = serve.finish()
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("a watchdog for another pid (WATCHDOG_PID) is not pinged")
    func serveIgnoresForeignWatchdog() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let listener = try NotifyListener(path: "\(folder)/notify")
        let serve = try Child(Deploy.scanbridge, ["serve", "--home", "\(folder)/home"] + Deploy.noListeners,
                              environment: Deploy.environment(["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "200000",
                                                               "WATCHDOG_PID": "1"]))
        #expect(listener.receive(until: "READY=1", timeout: 20) != nil)
        #expect(listener.receive(timeout: 0.8) == nil, "no WATCHDOG=1 expected")
        serve.signal(SIGTERM)
        #expect(serve.finish().status == 0)
    }
}

@Suite("journal output")
struct JournalOutputTests {
    @Test("under systemd (JOURNAL_STREAM matches stderr) stderr lines carry <N> priorities; the file keeps timestamps")
    func journalPrefixes() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let errorPath = "\(folder)/stderr"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: errorPath))
        var status = stat()
        #expect(fstat(handle.fileDescriptor, &status) == 0)
        let stream = "\(status.st_dev):\(status.st_ino)"
        let serve = try Child(Deploy.scanbridge, ["serve", "--home", "\(folder)/home"] + Deploy.noListeners,
                              environment: Deploy.environment(["JOURNAL_STREAM": stream]), standardError: handle)
        #expect(Deploy.wait(20) { Deploy.read(errorPath).contains("Ready") })
        serve.signal(SIGTERM)
        #expect(serve.finish().status == 0)
        let lines = Deploy.read(errorPath).split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<6>scanbridge: Ready") }, "\(lines)")
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "\(lines)")
        let file = Deploy.read("\(folder)/home/log/scanbridge.log")
        #expect(file.contains(" info scanbridge: Ready"))
        #expect(!file.contains("<6>"))
    }

    @Test("a JOURNAL_STREAM inherited by a process whose stderr goes elsewhere is ignored")
    func foreignJournalStream() throws {
        let serve = try Child(Deploy.scanbridge, ["version"], environment: Deploy.environment(["JOURNAL_STREAM": "1:1"]))
        #expect(serve.finish().status == 0)
        #expect(StandardErrorFormat.detect(environment: ["JOURNAL_STREAM": "1:1"]) == .plain)
        #expect(StandardErrorFormat.detect(environment: [:]) == .plain)
        #expect(StandardErrorFormat.journalLine(level: .error, text: "a\nb") == "<3>a\n<3>b\n")
        #expect(StandardErrorFormat.syslogPriority(.warning) == 4)
        #expect(StandardErrorFormat.syslogPriority(.trace) == 7)
    }
}

@Suite("watchdog health")
struct WatchdogHealthTests {
    // That a working pool passes the check is shown by `serveNotifies` (no pings otherwise); an
    // in-process check could not tell, since the other tests of this process block pool threads.
    @Test("the default health check fails while every cooperative-pool thread is stuck")
    func starvedPool() {
        let release = DispatchSemaphore(value: 0)
        let width = ProcessInfo.processInfo.activeProcessorCount
        for _ in 0..<width { Task.detached { release.wait() } }
        let responded = SystemdSession.cooperativePoolResponds(within: .milliseconds(500))
        for _ in 0..<width { release.signal() }
        #expect(!responded, "the probe's task ran although every pool thread was blocked")
    }
}
