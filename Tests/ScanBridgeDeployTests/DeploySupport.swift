import Foundation
import Glibc

/// Paths, processes and waiting, for the deploy tests (which run real programs: the built
/// `scanbridge`, systemd-analyze, certutil, dpkg, rpm, lintian).
enum Deploy {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let productsDirectory: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent()
    }()

    static var scanbridge: String { productsDirectory.appendingPathComponent("scanbridge").path }

    static func unitFile(_ name: String) -> String { repositoryRoot.appendingPathComponent("Deploy/systemd/\(name)").path }

    /// A new empty folder under the system temporary folder; the caller removes it.
    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "scanbridge-deploy-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The environment for children: ours without the variables that would change what they do.
    static func environment(_ extra: [String: String] = [:], removing: [String] = []) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["SCANBRIDGE_HOME", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
                    "SWIFT_BACKTRACE", "SCANBRIDGE_MONITOR_FD"] + removing {
            environment.removeValue(forKey: key)
        }
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Runs a program to completion (killed after `timeout` seconds).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    timeout: Double = 120) throws -> Child.Result {
        let child = try Child(executable, arguments, environment: environment)
        return child.finish(timeout: timeout)
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
    static func wait(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Whether `pid` is a running (not zombie) process.
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    static func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// `serve` options for tests that need no listener: other suites on this machine use ports too.
    static let noListeners = ["--set", "Port=0", "--set", "SSLPort=0"]

    /// One plain HTTP listener for the core API on `port`, nothing else.
    static func oneListener(port: UInt16) -> [String] {
        ["--set", "Port=1", "--set", "Port_mn_0=dwt", "--set", "Port_mp_0=\(port)", "--set", "SSLPort=0"]
    }

    /// A TCP port that was free a moment ago (bound to port 0 by the kernel, then released).
    static func freePort() -> UInt16 {
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

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func tcpConnects(port: UInt16) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Whether an HTTP server on 127.0.0.1:`port` answers `GET /api/server/version` with any
    /// HTTP status line within a second.
    static func httpAnswers(port: UInt16) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /api/server/version HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 && String(decoding: buffer[..<count], as: UTF8.self).hasPrefix("HTTP/1.")
    }
}

/// A child process with stdout and stderr captured into files (no pipe can fill up and block it).
final class Child {
    struct Result {
        var status: Int32
        var uncaughtSignal: Bool
        var stdout: String
        var stderr: String
    }

    let process = Process()
    let outputPath: String
    let errorPath: String

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
         standardError: FileHandle? = nil) throws {
        let base = NSTemporaryDirectory() + "scanbridge-child-" + UUID().uuidString
        outputPath = base + ".out"
        errorPath = base + ".err"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment ?? Deploy.environment()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = standardError ?? FileHandle(forWritingAtPath: errorPath)
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        unlink(outputPath)
        unlink(errorPath)
    }

    var pid: pid_t { process.processIdentifier }
    var stdout: String { Deploy.read(outputPath) }
    var stderr: String { Deploy.read(errorPath) }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit (at most `timeout` seconds, then SIGKILL).
    func finish(timeout: Double = 20) -> Result {
        if !Deploy.wait(timeout, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, uncaughtSignal: process.terminationReason == .uncaughtSignal,
                      stdout: stdout, stderr: stderr)
    }
}
