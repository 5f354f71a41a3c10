// http-bench: the same two handlers (a small JSON body, an 8 MiB body) served by ScanBridge's
// HTTP server on each I/O engine and by Hummingbird 2, each driven by wrk in the same run.
// Prints a Markdown table. HTTP_BENCH_SECONDS sets the length of each wrk run (default 5);
// HTTP_BENCH_ROUNDS (default 3) how often each cell is measured: the servers take turns within
// a round and the best round counts, so that a burst of load from elsewhere on the machine
// hits all of them alike instead of one.
import BenchmarkSupport
import Foundation
import Hummingbird
import Logging
import ScanBridgeHTTP
import ScanBridgeIO

let seconds = Int(ProcessInfo.processInfo.environment["HTTP_BENCH_SECONDS"] ?? "") ?? 5
let rounds = Int(ProcessInfo.processInfo.environment["HTTP_BENCH_ROUNDS"] ?? "") ?? 3
let json = Array(#"{"logLevel":1,"ioEngine":"io_uring","version":"0.1.0","uptime":42}"#.utf8)
let big = [UInt8](repeating: 0x5A, count: 8 << 20)

// MARK: - Servers

/// ScanBridge on `kind`; returns the port.
func startScanBridge(_ kind: IOEngineKind) async throws -> Int {
    var router = ScanBridgeHTTP.Router()
    router.get("/json") { _ in .json(raw: json) }
    router.get("/big") { _ in ScanBridgeHTTP.Response(status: .ok, headerFields: [.contentType: "application/octet-stream"], body: .bytes(big)) }
    let engine = try IOEngine.start(kind == .epoll ? .epoll : .ioUring)
    guard engine.kind == kind else { throw BenchError("\(kind.rawValue) unavailable: \(engine.reason)") }
    let server = HTTPServer(listener: try engine.listen(address: "127.0.0.1", port: 0), responder: router,
                            configuration: .init(limits: HTTPLimits(maxConnections: 4096)))
    Task { await server.run() }
    return server.port
}

/// Hummingbird 2 with the same handlers; returns the port.
func startHummingbird() async throws -> Int {
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
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
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

func wrk(port: Int, path: String, connections: Int, duration: Int) throws -> WrkResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
    process.arguments = ["-t", "\(min(connections, 2))", "-c", "\(connections)", "-d", "\(duration)s", "--timeout", "10s",
                         "http://127.0.0.1:\(port)\(path)"]
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

// HTTP_BENCH_SERVE=io_uring|epoll|hummingbird: only start that server, print its port and wait
// (for profiling under a load generator run by hand).
if let only = ProcessInfo.processInfo.environment["HTTP_BENCH_SERVE"] {
    let port = only == "hummingbird" ? try await startHummingbird() : try await startScanBridge(IOEngineKind(rawValue: only) ?? .ioUring)
    FileHandle.standardOutput.write(Data("serving on port \(port)\n".utf8))
    try await Task.sleep(for: .seconds(3600))
}

var servers: [(String, Int)] = []
for kind in [IOEngineKind.ioUring, .epoll] {
    do {
        servers.append(("ScanBridge (\(kind.rawValue))", try await startScanBridge(kind)))
    } catch {
        print("Skipping ScanBridge on \(kind.rawValue): \(error)")
    }
}
servers.append(("Hummingbird 2", try await startHummingbird()))

let rows: [(label: String, path: String, connections: Int, bytes: Bool)] = [
    ("small JSON, 1 connection (req/s)", "/json", 1, false),
    ("small JSON, 16 connections (req/s)", "/json", 16, false),
    ("small JSON, 64 connections (req/s)", "/json", 64, false),
    ("8 MiB body, 4 connections (MB/s)", "/big", 4, true),
]

print("http-bench: \(MachineDescription.current()); wrk -t min(c,2) -c C -d \(seconds)s, best of \(rounds) interleaved rounds; the cores are shared by wrk and the servers")
var table = ResultTable(title: "HTTP/1.1 keep-alive, wrk \(seconds) s per run, best of \(rounds)", columns: ["load"] + servers.map(\.0))
var notes: [String] = []
for row in rows {
    var best = [Double](repeating: 0, count: servers.count)
    for (_, port) in servers {
        _ = try wrk(port: port, path: row.path, connections: row.connections, duration: 2)   // warm-up
    }
    for _ in 0..<rounds {
        for (index, (name, port)) in servers.enumerated() {
            let result = try wrk(port: port, path: row.path, connections: row.connections, duration: seconds)
            best[index] = max(best[index], row.bytes ? result.megabytesPerSecond : result.requestsPerSecond)
            if let errors = result.errors { notes.append("\(name), \(row.label): \(errors.trimmingCharacters(in: .whitespaces))") }
        }
    }
    table.add([row.label] + best.map { format($0, digits: 0) })
}
print(table.render())
for note in notes { print("note: \(note)") }
exit(0)
