// Real servers on 127.0.0.1 for the upload tests: Python scripts in Tests/Servers, run with the
// project's .venv (installed by `make test` from Tests/requirements.txt). Each announces its
// ephemeral port as its first JSON line and reports what it saw as further lines; it exits when
// its stdin closes, so none outlives the test process.
// The suites that talk to them have a time limit: a transfer that never ends fails its test by
// name (the limit cancels the test's task, which cancels the transfer) instead of hanging the run.
import COpenSSL
import Foundation
import Logging
import Synchronization
import Testing

enum Paths {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let python = repositoryRoot + "/.venv/bin/python"
    static let servers = repositoryRoot + "/Tests/Servers"

    /// A new empty folder, unique to this test.
    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "scanbridge-upload-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

struct ServerFailure: Error, CustomStringConvertible {
    var description: String
}

final class TestServer: Sendable {
    private let process: Process
    private let input: Pipe
    private let lines = LineStore()
    let announcement: [String: any Sendable]

    var port: Int { announcement["port"] as? Int ?? 0 }

    /// Starts `Tests/Servers/<script>` and waits (up to `timeout` s) for its announcement.
    init(_ script: String, _ arguments: [String] = [], timeout: Double = 20) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.python)
        process.arguments = ["-u", Paths.servers + "/" + script] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Paths.servers)
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        self.process = process
        self.input = input
        let lines = self.lines
        let reader = output.fileHandleForReading
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { return }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = pending[pending.startIndex..<newline]
                    pending.removeSubrange(pending.startIndex...newline)
                    if let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] {
                        let sendable = object.mapValues { SendableJSON.wrap($0) }
                        lines.withLock { $0.append(sendable) }
                    }
                }
            }
        }
        try process.run()
        thread.start()
        let deadline = Date().addingTimeInterval(timeout)
        while lines.withLock({ $0.isEmpty }) {
            guard process.isRunning, Date() < deadline else {
                process.terminate()
                throw ServerFailure(description: "\(script) did not start (is .venv installed? run `make test`)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        announcement = lines.withLock { $0[0] }
    }

    deinit { stop() }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }

    /// Every report after the announcement so far.
    var reports: [[String: any Sendable]] { lines.withLock { Array($0.dropFirst()) } }

    /// Waits for a report (after the announcement) that satisfies `match`.
    func waitForReport(timeout: Double = 10, _ match: ([String: any Sendable]) -> Bool) async throws -> [String: any Sendable] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = reports.first(where: match) { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerFailure(description: "no matching report; got \(reports)")
    }

    /// Sends a command line and returns the next report.
    func command(_ line: String, timeout: Double = 10) async throws -> [String: any Sendable] {
        let before = lines.withLock { $0.count }
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let answer = lines.withLock({ $0.count > before ? $0[before] : nil }) { return answer }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerFailure(description: "no answer to \(line)")
    }

    /// A port that was free a moment ago and has no listener (connection refused).
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

final class LineStore: Sendable {
    private let storage = Mutex<[[String: any Sendable]]>([])

    func withLock<T>(_ body: (inout [[String: any Sendable]]) -> T) -> T { storage.withLock { body(&$0) } }
}

/// JSON values as Sendable Swift values (String, Int, Double, Bool, arrays and dictionaries).
enum SendableJSON {
    static func wrap(_ value: Any) -> any Sendable {
        switch value {
        case let number as NSNumber:
            return number.doubleValue == Double(number.intValue) ? number.intValue : number.doubleValue
        case let string as String: return string
        case let array as [Any]: return array.map(wrap)
        case let object as [String: Any]: return object.mapValues(wrap) as [String: any Sendable]
        default: return String(describing: value)
        }
    }
}

/// The moto S3 server, started once for the whole suite (it takes a couple of seconds).
actor SharedS3Server {
    static let shared = SharedS3Server()
    private var server: TestServer?

    func get() async throws -> TestServer {
        if let server { return server }
        let started = try await TestServer("s3_server.py", timeout: 60)
        server = started
        return started
    }
}

/// A self-signed certificate for 127.0.0.1 made with `openssl req`, once per suite; it is its
/// own CA, so `TLSOptions(caFile: certificate)` trusts it.
enum TestCertificate {
    struct Files: Sendable {
        var certificate: String
        var key: String
    }

    static let files: Result<Files, ServerFailure> = {
        guard let folder = try? Paths.temporaryFolder() else { return .failure(ServerFailure(description: "no temp folder")) }
        let files = Files(certificate: folder + "/cert.pem", key: folder + "/key.pem")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", files.key, "-out", files.certificate, "-days", "2", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(ServerFailure(description: "openssl: \(error)")) }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return .failure(ServerFailure(description: "openssl req failed")) }
        return .success(files)
    }()

    static func get() throws -> Files { try files.get() }
}

/// A swift-log handler that keeps every record, so tests can check what was logged.
final class CapturedLog: Sendable {
    private let records = Mutex<[String]>([])

    var lines: [String] { records.withLock { $0 } }

    func append(_ line: String) { records.withLock { $0.append(line) } }

    func logger() -> Logger {
        var logger = Logger(label: "scanbridge.upload.test") { _ in CapturingHandler(log: self) }
        logger.logLevel = .trace
        return logger
    }

    struct CapturingHandler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            log.append("\(event.level) \(event.message) \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }
}

/// Random bytes for a document (from the kernel in one read: cheap even for many MiB).
func randomBytes(_ count: Int) -> Data {
    guard let source = FileHandle(forReadingAtPath: "/dev/urandom") else { return Data(count: count) }
    defer { try? source.close() }
    return source.readData(ofLength: count)
}

/// Lowercase hex SHA-256 (OpenSSL), to compare with what the servers report.
func sha256Hex(_ data: Data) -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    data.withUnsafeBytes { raw in _ = SHA256(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count, &digest) }
    return digest.map { String(format: "%02x", $0) }.joined()
}
