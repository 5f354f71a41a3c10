// http-bench: the same two handlers (a small JSON body, an 8 MiB body) served by ScanBridge's
// HTTP server on each I/O engine and by Hummingbird 2, each driven by wrk in the same run, and
// HTTPS on each engine and on Hummingbird 2 (HummingbirdTLS, NIOSSL) with the same certificate. HTTP_BENCH_SECONDS sets the length of each wrk run (default
// 5); HTTP_BENCH_ROUNDS (default 5) how often each cell is measured: the servers take turns
// within a round, after a warm-up round, so that a burst of load from elsewhere on the machine
// hits all of them alike. Medians and spread are printed and written as JSON (BenchmarkRecord).
import BenchmarkSupport
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import ScanBridgeHTTP
import ScanBridgeIO

let seconds = Int(ProcessInfo.processInfo.environment["HTTP_BENCH_SECONDS"] ?? "") ?? 5
let rounds = Int(ProcessInfo.processInfo.environment["HTTP_BENCH_ROUNDS"] ?? "") ?? 5
let json = Array(#"{"logLevel":1,"ioEngine":"io_uring","version":"0.1.0","uptime":42}"#.utf8)
let big = [UInt8](repeating: 0x5A, count: 8 << 20)

// MARK: - Servers

/// ScanBridge on `kind` (HTTPS when `tls` is given); returns the port.
func startScanBridge(_ kind: IOEngineKind, tls: TLSContext? = nil) async throws -> Int {
    var router = ScanBridgeHTTP.Router()
    router.get("/json") { _ in .json(raw: json) }
    router.get("/big") { _ in ScanBridgeHTTP.Response(status: .ok, headerFields: [.contentType: "application/octet-stream"], body: .bytes(big)) }
    let engine = try IOEngine.start(kind == .epoll ? .epoll : .ioUring)
    guard engine.kind == kind else { throw BenchError("\(kind.rawValue) unavailable: \(engine.reason)") }
    let server = HTTPServer(listener: try engine.listen(address: "127.0.0.1", port: 0), responder: router,
                            configuration: .init(limits: HTTPLimits(maxConnections: 4096), tls: tls))
    Task { await server.run() }
    return server.port
}

/// Hummingbird 2 with the same handlers (over TLS when `tls` is given); returns the port.
func startHummingbird(tls: TLSConfiguration? = nil) async throws -> Int {
    let router = Hummingbird.Router()
    let jsonBuffer = ByteBuffer(bytes: json), bigBuffer = ByteBuffer(bytes: big)
    router.get("json") { _, _ in
        Hummingbird.Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: jsonBuffer))
    }
    router.get("big") { _, _ in
        Hummingbird.Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: bigBuffer))
    }
    var logger = Logger(label: "hummingbird")
    logger.logLevel = .warning
    let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
    let app = Application(router: router, server: try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1(),
                          configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
    Task { try await app.runService(gracefulShutdownSignals: []) }
    for await port in portStream { return port }
    throw BenchError("Hummingbird did not start")
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - wrk

struct WrkResult {
    var requestsPerSecond: Double
    var megabytesPerSecond: Double
    var errors: String?
}

func wrk(port: Int, path: String, connections: Int, duration: Int, scheme: String = "http") throws -> WrkResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
    process.arguments = ["-t", "\(min(connections, 2))", "-c", "\(connections)", "-d", "\(duration)s", "--timeout", "10s",
                         "\(scheme)://127.0.0.1:\(port)\(path)"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    func value(after label: String) -> Substring? {
        text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }?
            .split(separator: " ", omittingEmptySubsequences: true).last
    }
    guard let rate = value(after: "Requests/sec:").flatMap({ Double($0) }), let transfer = value(after: "Transfer/sec:") else {
        throw BenchError("unexpected wrk output:\n\(text)")
    }
    let units: [(String, Double)] = [("GB", 1024), ("MB", 1), ("KB", 1.0 / 1024), ("B", 1.0 / 1048576)]
    let unit = units.first { transfer.hasSuffix($0.0) } ?? ("MB", 1)
    let megabytes = (Double(transfer.dropLast(unit.0.count)) ?? 0) * unit.1
    let errors = text.split(separator: "\n").first { $0.contains("Socket errors") || $0.contains("Non-2xx") }.map(String.init)
    return WrkResult(requestsPerSecond: rate, megabytesPerSecond: megabytes, errors: errors)
}

// MARK: - Run

/// A server certificate from a throwaway local CA, as the service makes its own, for both
/// ScanBridge (OpenSSL) and Hummingbird (NIOSSL).
struct BenchCertificate {
    var scanBridge: TLSContext
    var hummingbird: TLSConfiguration

    init() throws {
        let authority = try LocalCertificateAuthority.makeAuthority()
        let server = try LocalCertificateAuthority.issueServerCertificate(authority: authority)
        let folder = NSTemporaryDirectory() + "http-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try server.certificate.write(toFile: folder + "/cert.pem", atomically: true, encoding: .utf8)
        try server.privateKey.write(toFile: folder + "/key.pem", atomically: true, encoding: .utf8)
        scanBridge = try TLSContext(certificateChainFile: folder + "/cert.pem", privateKeyFile: folder + "/key.pem")
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(server.certificate.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(server.privateKey.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // The versions ScanBridge's TLSContext accepts.
        configuration.minimumTLSVersion = .tlsv12
        hummingbird = configuration
    }
}

// HTTP_BENCH_SERVE=io_uring|epoll|hummingbird: only start that server, print its port and wait
// (for profiling under a load generator run by hand); HTTP_BENCH_SERVE_TLS=1: over HTTPS.
if let only = ProcessInfo.processInfo.environment["HTTP_BENCH_SERVE"] {
    let certificate = ProcessInfo.processInfo.environment["HTTP_BENCH_SERVE_TLS"] == "1" ? try BenchCertificate() : nil
    let port = only == "hummingbird" ? try await startHummingbird(tls: certificate?.hummingbird)
        : try await startScanBridge(IOEngineKind(rawValue: only) ?? .ioUring, tls: certificate?.scanBridge)
    FileHandle.standardOutput.write(Data("serving on port \(port)\n".utf8))
    try await Task.sleep(for: .seconds(3600))
}

var record = BenchmarkRecord(benchmark: "http-bench", rounds: rounds)
let certificate = try BenchCertificate()
var servers: [(name: String, port: Int, tlsPort: Int?)] = []
for kind in [IOEngineKind.ioUring, .epoll] {
    do {
        servers.append(("ScanBridge (\(kind.rawValue))", try await startScanBridge(kind), try await startScanBridge(kind, tls: certificate.scanBridge)))
    } catch {
        record.notes.append("ScanBridge on \(kind.rawValue) skipped: \(error)")
    }
}
servers.append(("Hummingbird 2", try await startHummingbird(), try await startHummingbird(tls: certificate.hummingbird)))

let rows: [(id: String, label: String, path: String, connections: Int, bytes: Bool, tls: Bool)] = [
    ("json-1", "small JSON, 1 connection", "/json", 1, false, false),
    ("json-16", "small JSON, 16 connections", "/json", 16, false, false),
    ("json-64", "small JSON, 64 connections", "/json", 64, false, false),
    ("json-256", "small JSON, 256 connections", "/json", 256, false, false),
    ("big-1", "8 MiB body, 1 connection", "/big", 1, true, false),
    ("big-4", "8 MiB body, 4 connections", "/big", 4, true, false),
    ("tls-json-16", "HTTPS small JSON, 16 connections", "/json", 16, false, true),
]

var table = BenchmarkRecord.Table(id: "http", title: "HTTP/1.1 keep-alive on 127.0.0.1, wrk -t min(c,2) -c C -d \(seconds)s (wrk shares the cores with the servers)",
                                  contenders: servers.map(\.name), ours: servers[0].name)
for row in rows {
    let contenders = servers.compactMap { server -> (name: String, body: () throws -> Double)? in
        guard let port = row.tls ? server.tlsPort : server.port else { return nil }
        return (name: server.name, body: {
            let result = try wrk(port: port, path: row.path, connections: row.connections, duration: seconds, scheme: row.tls ? "https" : "http")
            if let errors = result.errors { record.notes.append("\(server.name), \(row.label): \(errors.trimmingCharacters(in: .whitespaces))") }
            return row.bytes ? result.megabytesPerSecond : result.requestsPerSecond
        })
    }
    table.add(id: row.id, label: row.label, unit: row.bytes ? "MB/s" : "req/s", try Interleaved.run(rounds: rounds, contenders))
}
record.tables.append(table)
record.notes.append("HTTPS: Hummingbird 2 over TLS is HummingbirdTLS (NIOSSL, BoringSSL), with the same certificate and key as ScanBridge's OpenSSL")
try record.finish()
exit(0)
