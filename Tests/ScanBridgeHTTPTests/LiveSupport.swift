import Foundation
import HTTPTypes
import Logging
import Testing
@testable import ScanBridgeHTTP
@testable import ScanBridgeIO

/// The engines the live suite runs on: both, unless this machine refuses io_uring (then only
/// epoll runs, and `LiveServerTests.ioUringRunsHere` fails unless `epollOnlyAccepted`).
let engineKinds: [IOEngineKind] = {
    switch IOEngine.probeIOURing() {
    case .available: return [.ioUring, .epoll]
    default: return [.epoll]
    }
}()

/// Whether this run accepts a machine that refuses io_uring, testing the epoll engine alone:
/// only when it says so (`SCANBRIDGE_ALLOW_EPOLL_ONLY=1`, which CI does not set). Otherwise the
/// io_uring half not running is a failure, never a silent skip.
let epollOnlyAccepted = ProcessInfo.processInfo.environment["SCANBRIDGE_ALLOW_EPOLL_ONLY"] == "1"

func engine(_ kind: IOEngineKind) throws -> IOEngine {
    let engine = try IOEngine.start(kind == .epoll ? .epoll : .ioUring)
    #expect(engine.kind == kind)
    return engine
}

/// Runs an HTTP server on 127.0.0.1 (ephemeral port) for the duration of `body`.
func withServer<R>(_ kind: IOEngineKind, _ responder: any HTTPResponder, limits: HTTPLimits = HTTPLimits(), tls: TLSContext? = nil,
                   _ body: (HTTPServer, IOEngine) async throws -> R) async throws -> R {
    let engine = try engine(kind)
    let server = HTTPServer(listener: try engine.listen(address: "127.0.0.1", port: 0), responder: responder,
                            configuration: .init(limits: limits, tls: tls))
    let running = Task { await server.run() }
    do {
        let result = try await body(server, engine)
        await server.shutdown(gracePeriod: .seconds(1))
        await running.value
        return result
    } catch {
        await server.shutdown(gracePeriod: .seconds(1))
        await running.value
        throw error
    }
}

/// A parsed response as a test client sees it.
struct ClientResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

struct ClientError: Error, CustomStringConvertible {
    var description: String
}

/// A minimal HTTP/1.1 client over a raw socket of the engine under test, so that tests can send
/// exactly the bytes they mean (malformed, pipelined, split) and read exactly what came back.
final class RawClient: @unchecked Sendable {
    let stream: any ByteStream
    private var buffer: [UInt8] = []

    init(_ engine: IOEngine, port: Int) async throws {
        stream = try await engine.connect(address: "127.0.0.1", port: port, timeout: .seconds(5))
    }

    func send(_ text: String) async throws { try await stream.send(Array(text.utf8), timeout: .seconds(5)) }
    func send(_ bytes: [UInt8], timeout: Duration = .seconds(5)) async throws { try await stream.send(bytes, timeout: timeout) }
    func close() async { await stream.close() }

    /// More bytes into the buffer; false when the server closed.
    private func fill(timeout: Duration) async throws -> Bool {
        let bytes = try await stream.receive(maxLength: 65536, timeout: timeout)
        buffer += bytes
        return !bytes.isEmpty
    }

    private func line(timeout: Duration) async throws -> String {
        while true {
            if let index = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<index], as: UTF8.self).trimmingCharacters(in: ["\r"])
                buffer.removeSubrange(...index)
                return line
            }
            guard try await fill(timeout: timeout) else { throw ClientError(description: "closed while reading a line") }
        }
    }

    private func take(_ count: Int, timeout: Duration) async throws -> [UInt8] {
        while buffer.count < count {
            guard try await fill(timeout: timeout) else { throw ClientError(description: "closed after \(buffer.count) of \(count) bytes") }
        }
        defer { buffer.removeSubrange(..<count) }
        return Array(buffer[..<count])
    }

    /// Reads the status line and header fields only.
    func readHead(timeout: Duration = .seconds(10)) async throws -> ClientResponse {
        let statusLine = try await line(timeout: timeout)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw ClientError(description: "bad status line \(statusLine)") }
        var headers: [(String, String)] = []
        while true {
            let field = try await line(timeout: timeout)
            if field.isEmpty { break }
            let pieces = field.split(separator: ":", maxSplits: 1)
            headers.append((String(pieces[0]), pieces.count > 1 ? pieces[1].trimmingCharacters(in: .whitespaces) : ""))
        }
        return ClientResponse(status: status, headers: headers, body: [])
    }

    /// Reads one chunk of a chunked body; nil at the last chunk.
    func readChunk(timeout: Duration = .seconds(10)) async throws -> [UInt8]? {
        let sizeLine = try await line(timeout: timeout)
        guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else { throw ClientError(description: "bad chunk size \(sizeLine)") }
        if size == 0 {
            while try await !line(timeout: timeout).isEmpty {}
            return nil
        }
        let data = try await take(size, timeout: timeout)
        _ = try await take(2, timeout: timeout)
        return data
    }

    /// Reads a whole response (Content-Length, chunked, or until close).
    func readResponse(head requestWasHead: Bool = false, timeout: Duration = .seconds(10)) async throws -> ClientResponse {
        var response = try await readHead(timeout: timeout)
        if response.status < 200 && response.status != 101 { return response }
        if requestWasHead || response.status == 204 || response.status == 304 { return response }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            response.body = try await take(length, timeout: timeout)
        } else if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while let chunk = try await readChunk(timeout: timeout) { response.body += chunk }
        } else {
            while try await fill(timeout: timeout) {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// True when the connection ends in an orderly end of stream within `timeout`; false when it
    /// is reset (what a server closing with unread input makes the kernel do) or stays open.
    func endsWithoutReset(timeout: Duration = .seconds(15)) async -> Bool {
        do {
            while try await fill(timeout: timeout) {}
            return true
        } catch {
            return false
        }
    }

    /// True when the server has closed the connection (an empty read), within `timeout`.
    func isClosedByServer(timeout: Duration = .seconds(15)) async -> Bool {
        do {
            while try await fill(timeout: timeout) {}
            return true
        } catch {
            return (error as? IOError)?.kind == .connectionReset
        }
    }
}

/// A one-shot signal between a handler and the test.
final class Signal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream() }

    func fire() { continuation.yield() }

    /// Waits for `fire()`; false after `timeout`.
    func wait(timeout: Duration = .seconds(20)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { for await _ in self.stream { return true }; return false }
            group.addTask { try? await Task.sleep(for: timeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

/// Runs a command line tool to completion and returns its status and output. The waiting is done
/// on threads of its own: on Linux the global dispatch queues and the cooperative pool draw on the
/// same few threads, so a blocking read there would stall the servers under test (an openssl
/// client waiting on a server that waits for a thread).
func run(_ executable: String, _ arguments: [String], input: [UInt8]? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe(), errors = Pipe(), stdin = Pipe()
            process.standardOutput = output
            process.standardError = errors
            process.standardInput = stdin
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
                return
            }
            // Both pipes drain at once, so that a chatty tool never blocks on a full one.
            let errorOutput = CollectedOutput()
            Thread.detachNewThread { errorOutput.finish(errors.fileHandleForReading.readDataToEndOfFile()) }
            if let input { stdin.fileHandleForWriting.write(Data(input)) }
            try? stdin.fileHandleForWriting.close()
            let out = output.fileHandleForReading.readDataToEndOfFile()
            let err = errorOutput.wait()
            process.waitUntilExit()
            continuation.resume(returning: (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self)))
        }
    }
}

/// Bytes one thread reads to the end for another to wait for.
private final class CollectedOutput: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    func finish(_ bytes: Data) {
        data = bytes
        done.signal()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "scanbridge-http-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
