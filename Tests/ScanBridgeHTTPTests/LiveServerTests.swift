import Foundation
import HTTPTypes
import ScanBridgeService
import Synchronization
import Testing
@testable import ScanBridgeHTTP
@testable import ScanBridgeIO

/// 10 B, 1 MiB + 1, 3 B, 300 kB, 64 KiB + 1: each a different byte pattern.
let largeAndSmallPieces: [[UInt8]] = [10, (1 << 20) + 1, 3, 300_000, (64 << 10) + 1].enumerated().map { index, count in
    (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + index * 31) }
}

/// Routes shared by the live tests, with the service's error answers (the 405 test reads them).
func testRouter(gate: Signal = Signal(), firstSent: Signal = Signal(), disconnected: Signal = Signal()) -> Router {
    var router = Router()
    router.errorRenderer = DWTErrorRenderer()
    router.get("/json") { _ in .json(raw: Array(#"{"hello":"world"}"#.utf8)) }
    router.post("/echo") { request in .binary(try await request.body.collect(), contentType: "application/octet-stream") }
    router.put("/echo") { request in .binary(try await request.body.collect(), contentType: "application/octet-stream") }
    router.post("/echo-stream") { request in
        .stream(headerFields: [.contentType: "application/octet-stream"]) { writer in
            for try await piece in request.body { try await writer.write(piece) }
        }
    }
    router.post("/ignore-body") { _ in .text("ignored") }
    router.get("/pieces") { _ in
        // Small and large pieces (large ones are sent without being copied into their chunk frame).
        .stream(headerFields: [.contentType: "application/octet-stream"]) { writer in
            for piece in largeAndSmallPieces { try await writer.write(piece) }
        }
    }
    router.get("/stream") { _ in
        .stream { writer in
            try await writer.write("first;")
            firstSent.fire()
            guard await gate.wait() else { throw HTTPError(.internalServerError, message: "gate never opened") }
            try await writer.write("second")
        }
    }
    router.get("/forever") { _ in
        .stream { writer in
            let piece = [UInt8](repeating: 0x61, count: 16 * 1024)
            do {
                while true {
                    try await writer.write(piece)
                    firstSent.fire()
                }
            } catch {
                disconnected.fire()
                throw error
            }
        }
    }
    router.get("/events") { _ in
        .eventStream { events in
            for index in 1...3 { try await events.send(ServerSentEvent(event: "page", data: "{\"index\":\(index)}", id: "\(index)")) }
        }
    }
    router.get("/binary") { _ in .binary(pattern(1000, seed: 1), contentType: "image/png") }
    router.get("/big") { _ in .binary(pattern(8 << 20, seed: 2), contentType: "application/octet-stream") }
    router.get("/stream-fails") { _ in .stream { _ in throw HTTPError(.conflict, code: -1011, message: "out of sequence") } }
    return router
}

/// Deterministic pseudo-random bytes.
func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

func get(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" }

/// Bad requests and the status each gets (limits as in `malformed`'s server).
let badRequests: [(String, Int)] = {
    var cases: [(String, Int)] = []
    cases.append(("GARBAGE\r\n\r\n", 400))
    cases.append(("GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414))
    cases.append(("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "b", count: 600) + "\r\n\r\n", 431))
    let many: String = (0..<12).map { (index: Int) -> String in "X-\(index): v\r\n" }.joined()
    cases.append(("GET / HTTP/1.1\r\nHost: h\r\n" + many + "\r\n", 431))
    cases.append(("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n", 413))
    let kilobyte = String(repeating: "x", count: 1024)
    cases.append(("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + kilobyte + "\r\n400\r\n", 413))
    cases.append(("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400))
    cases.append(("GET / HTTP/1.1\nHost: h\n\n", 400))
    cases.append(("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400))
    return cases
}()

let malformedCases: [(IOEngineKind, String, Int)] = engineKinds.flatMap { kind in badRequests.map { (kind, $0.0, $0.1) } }

// Serialized: each test runs its own server, engine and clients in this process, on a two-core
// machine; run side by side, some of them stalled for over 10 s now and then (a receive timeout in
// a random test, in about half of the fresh-clone CI runs of 2026-12-01), one at a time they do not.
@Suite("HTTP server over real sockets, on each engine", .serialized)
struct LiveServerTests {
    @Test("io_uring runs on this machine, or the run accepts epoll alone (SCANBRIDGE_ALLOW_EPOLL_ONLY=1)")
    func ioUringRunsHere() {
        guard case .refused = IOEngine.probeIOURing() else { return }
        if !epollOnlyAccepted {
            Issue.record("io_uring is refused here, so the io_uring half of the live HTTP tests did not run; set SCANBRIDGE_ALLOW_EPOLL_ONLY=1 to accept a run on epoll alone")
        }
    }

    @Test("keep-alive: several requests on one connection", arguments: engineKinds)
    func keepAlive(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            for _ in 0..<5 {
                try await client.send(get("/json"))
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == #"{"hello":"world"}"#)
                #expect(response.header("Content-Type") == "application/json")
                #expect(response.header("Connection") == nil)
                #expect(response.header("Date") != nil)
            }
            try await client.send("GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(try await client.readResponse().header("Connection") == "close")
            #expect(await client.isClosedByServer())
            await client.close()
        }
    }

    @Test("HTTP/1.0: closes unless keep-alive was asked for", arguments: engineKinds)
    func http10(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await client.readResponse().header("Connection") == "keep-alive")
            try await client.send("GET /json HTTP/1.0\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            #expect(await client.isClosedByServer())
            await client.close()
        }
    }

    @Test("pipelining: requests sent at once are answered in order", arguments: engineKinds)
    func pipelining(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/json") + "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nfirst"
                                  + "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n" + get("/binary"))
            #expect(try await client.readResponse().text == #"{"hello":"world"}"#)
            #expect(try await client.readResponse().text == "first")
            #expect(try await client.readResponse().text == "second")
            #expect(try await client.readResponse().body == pattern(1000, seed: 1))
            await client.close()
        }
    }

    @Test("chunked both ways: a chunked upload echoed as a chunked response, streamed", arguments: engineKinds)
    func chunkedBothWays(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("POST /echo-stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
            try await client.send("5\r\nhello\r\n")
            let head = try await client.readHead()
            #expect(head.status == 200)
            #expect(head.header("Transfer-Encoding") == "chunked")
            // The first piece comes back before the upload is finished: both sides stream.
            #expect(try await client.readChunk() == Array("hello".utf8))
            try await client.send("6\r\n world\r\n0\r\n\r\n")
            #expect(try await client.readChunk() == Array(" world".utf8))
            #expect(try await client.readChunk() == nil)
            // The connection is still usable.
            try await client.send(get("/json"))
            #expect(try await client.readResponse().status == 200)
            await client.close()
        }
    }

    @Test("chunked pieces large and small: one chunk each, byte-exact, in order; the connection stays usable", arguments: engineKinds)
    func chunkedLargePieces(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/pieces"))
            let head = try await client.readHead()
            #expect(head.status == 200 && head.header("Transfer-Encoding") == "chunked")
            for (index, piece) in largeAndSmallPieces.enumerated() {
                let chunk = try await client.readChunk()
                #expect(chunk == piece, "piece \(index + 1) of \(piece.count) bytes: got \(chunk?.count ?? -1)")
            }
            #expect(try await client.readChunk() == nil)
            try await client.send(get("/json"))
            #expect(try await client.readResponse().status == 200)
            await client.close()
        }
    }

    @Test("a large body both ways, byte-exact (8 MiB)", arguments: engineKinds)
    func largeBodies(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/big"))
            let response = try await client.readResponse()
            #expect(response.body.count == 8 << 20)
            #expect(response.body == pattern(8 << 20, seed: 2))
            let upload = pattern(3 << 20, seed: 3)
            try await client.send(Array("PUT /echo HTTP/1.1\r\nHost: h\r\nContent-Length: \(upload.count)\r\n\r\n".utf8) + upload)
            #expect(try await client.readResponse().body == upload)
            await client.close()
        }
    }

    @Test("streaming: the client gets the first piece while the handler is still producing", arguments: engineKinds)
    func streaming(kind: IOEngineKind) async throws {
        let gate = Signal(), firstSent = Signal()
        try await withServer(kind, testRouter(gate: gate, firstSent: firstSent)) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/stream"))
            #expect(try await client.readHead().header("Transfer-Encoding") == "chunked")
            #expect(try await client.readChunk() == Array("first;".utf8))
            gate.fire()
            #expect(try await client.readChunk() == Array("second".utf8))
            #expect(try await client.readChunk() == nil)
            await client.close()
        }
    }

    @Test("a stream failing before its first byte still answers with its error", arguments: engineKinds)
    func streamFailsEarly(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/stream-fails"))
            let response = try await client.readResponse()
            #expect(response.status == 409)
            #expect(response.text == #"{"code":-1011,"message":"out of sequence","statusCode":409}"#)
            await client.close()
        }
    }

    @Test("client disconnect mid-response stops the producer; the server keeps serving", arguments: engineKinds)
    func clientDisconnect(kind: IOEngineKind) async throws {
        let firstSent = Signal(), disconnected = Signal()
        try await withServer(kind, testRouter(firstSent: firstSent, disconnected: disconnected)) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/forever"))
            _ = try await client.readHead()
            #expect(await firstSent.wait())
            await client.close()
            #expect(await disconnected.wait(timeout: .seconds(20)), "the producer's write never failed")
            let other = try await RawClient(engine, port: server.port)
            try await other.send(get("/json"))
            #expect(try await other.readResponse().status == 200)
            await other.close()
        }
    }

    /// A handler that answers after `delay`, or notes that it was cancelled first.
    static func slowRouter(delay: Duration, cancelled: Signal) -> Router {
        var router = Router()
        router.get("/slow") { _ in
            do {
                try await Task.sleep(for: delay)
            } catch {
                cancelled.fire()
                throw error
            }
            return .text("slow")
        }
        router.get("/json") { _ in .json(raw: Array(#"{"hello":"world"}"#.utf8)) }
        return router
    }

    @Test("a client that closes while a handler outlasts the close watcher's delay cancels the handler", arguments: engineKinds)
    func closeWhileHandling(kind: IOEngineKind) async throws {
        let cancelled = Signal()
        try await withServer(kind, Self.slowRouter(delay: .seconds(30), cancelled: cancelled)) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/slow"))
            try await Task.sleep(for: HTTPConnection.closeWatchDelay * 3)
            await client.close()
            #expect(await cancelled.wait(timeout: .seconds(10)), "the handler was not cancelled")
        }
    }

    @Test("handlers slower and faster than the close watcher's delay, each with a pipelined request behind it", arguments: engineKinds)
    func pipelinedBehindHandlers(kind: IOEngineKind) async throws {
        let cancelled = Signal()
        try await withServer(kind, Self.slowRouter(delay: .milliseconds(200), cancelled: cancelled)) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            for _ in 0..<2 {
                try await client.send(get("/slow"))
                // Arrives while the handler works: the watcher keeps it for the next request.
                try await Task.sleep(for: HTTPConnection.closeWatchDelay * 2)
                try await client.send(get("/json"))
                #expect(try await client.readResponse().text == "slow")
                #expect(try await client.readResponse().text == #"{"hello":"world"}"#)
            }
            for _ in 0..<50 {
                try await client.send(get("/json") + get("/json"))
                #expect(try await client.readResponse().status == 200)
                #expect(try await client.readResponse().status == 200)
            }
            await client.close()
        }
    }

    @Test("HEAD: the GET's fields, no body, connection reusable", arguments: engineKinds)
    func head(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("HEAD /binary HTTP/1.1\r\nHost: h\r\n\r\n")
            let response = try await client.readResponse(head: true)
            #expect(response.status == 200)
            #expect(response.header("Content-Length") == "1000")
            try await client.send("HEAD /stream-fails HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(try await client.readResponse(head: true).header("Transfer-Encoding") == "chunked")
            try await client.send(get("/json"))
            #expect(try await client.readResponse().text == #"{"hello":"world"}"#)
            await client.close()
        }
    }

    @Test("Expect: 100-continue: 100 before the body when the handler reads it; none when it doesn't", arguments: engineKinds)
    func expectContinue(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            #expect(try await client.readHead().status == 100)
            try await client.send("body")
            #expect(try await client.readResponse().text == "body")

            try await client.send("POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("Connection") == "close")
            #expect(await client.isClosedByServer())
            await client.close()
        }
    }

    @Test("an unread body is discarded and the connection reused", arguments: engineKinds)
    func unreadBody(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789" + get("/json"))
            #expect(try await client.readResponse().text == "ignored")
            #expect(try await client.readResponse().status == 200)
            await client.close()
        }
    }

    @Test("Range on a binary GET: 206 with Content-Range, 416 when unsatisfiable", arguments: engineKinds)
    func range(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("GET /binary HTTP/1.1\r\nHost: h\r\nRange: bytes=100-199\r\n\r\n")
            let partial = try await client.readResponse()
            #expect(partial.status == 206)
            #expect(partial.header("Content-Range") == "bytes 100-199/1000")
            #expect(partial.body == Array(pattern(1000, seed: 1)[100..<200]))
            try await client.send("GET /binary HTTP/1.1\r\nHost: h\r\nRange: bytes=5000-\r\n\r\n")
            let unsatisfiable = try await client.readResponse()
            #expect(unsatisfiable.status == 416)
            #expect(unsatisfiable.header("Content-Range") == "bytes */1000")
            await client.close()
        }
    }

    @Test("server-sent events arrive framed and in order", arguments: engineKinds)
    func serverSentEvents(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("GET /events HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("Content-Type") == "text/event-stream")
            #expect(response.header("Cache-Control") == "no-cache")
            #expect(response.text == (1...3).map { "id: \($0)\nevent: page\ndata: {\"index\":\($0)}\n\n" }.joined())
            await client.close()
        }
    }

    @Test("405 over the wire: Allow and the DWT body", arguments: engineKinds)
    func methodNotAllowed(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send("DELETE /echo HTTP/1.1\r\nHost: h\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 405)
            #expect(response.header("Allow") == "POST, PUT")
            #expect(response.text == #"{"code":-2112,"message":"Method DELETE is not allowed; allowed: POST, PUT","statusCode":405}"#)
            // A 405 is an ordinary answer: the connection stays open.
            try await client.send(get("/json"))
            #expect(try await client.readResponse().status == 200)
            await client.close()
        }
    }

    @Test("malformed and oversized requests: the right status, then the connection closes",
          arguments: malformedCases)
    func malformed(kind: IOEngineKind, request: String, status: Int) async throws {
        let limits = HTTPLimits(maxRequestLineLength: 256, maxHeaderBytes: 512, maxHeaderCount: 10, maxBodySize: 1500)
        try await withServer(kind, testRouter(), limits: limits) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(request)
            let response = try await client.readResponse()
            #expect(response.status == status)
            #expect(response.header("Connection") == "close")
            #expect(response.text.contains(#""statusCode":\#(status)"#))
            #expect(await client.isClosedByServer())
            await client.close()
            // The server is unharmed.
            let other = try await RawClient(engine, port: server.port)
            try await other.send(get("/json"))
            #expect(try await other.readResponse().status == 200)
            await other.close()
        }
    }

    @Test("idle timeout closes a silent keep-alive connection", arguments: engineKinds)
    func idleTimeout(kind: IOEngineKind) async throws {
        let idleTimeout = Duration.seconds(1)
        try await withServer(kind, testRouter(), limits: HTTPLimits(idleTimeout: idleTimeout)) { server, engine in
            let client = try await RawClient(engine, port: server.port)
            try await client.send(get("/json"))
            #expect(try await client.readResponse().status == 200)
            let start = ContinuousClock.now
            #expect(await client.isClosedByServer(timeout: idleTimeout * 10))
            // The configured timeout did it: not before it, and within 5× of it.
            #expect(ContinuousClock.now - start >= idleTimeout * 0.9)
            #expect(ContinuousClock.now - start < idleTimeout * 5)
            await client.close()
        }
    }

    @Test("shutdown: listener closed, idle connections closed, a busy response finishes", arguments: engineKinds)
    func shutdown(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let gate = Signal(), firstSent = Signal()
        let server = HTTPServer(listener: try engine.listen(address: "127.0.0.1", port: 0), responder: testRouter(gate: gate, firstSent: firstSent))
        let running = Task { await server.run() }
        let idle = try await RawClient(engine, port: server.port)
        try await idle.send(get("/json"))
        #expect(try await idle.readResponse().status == 200)
        let busy = try await RawClient(engine, port: server.port)
        try await busy.send(get("/stream"))
        _ = try await busy.readHead()
        #expect(await firstSent.wait())
        let stopping = Task { await server.shutdown(gracePeriod: .seconds(10)) }
        #expect(await idle.isClosedByServer())
        gate.fire()
        #expect(try await busy.readChunk() == Array("first;".utf8))
        #expect(try await busy.readChunk() == Array("second".utf8))
        #expect(try await busy.readChunk() == nil)
        #expect(await busy.isClosedByServer())
        await stopping.value
        await running.value
        await #expect(throws: IOError.self) { _ = try await engine.connect(address: "127.0.0.1", port: server.port, timeout: .seconds(2)) }
        await idle.close()
        await busy.close()
    }

    @Test("curl: keep-alive reuse, chunked upload, JSON", arguments: engineKinds)
    func curl(kind: IOEngineKind) async throws {
        try await withServer(kind, testRouter()) { server, _ in
            let base = "http://127.0.0.1:\(server.port)"
            let reuse = try await run("/usr/bin/curl", ["-sv", "\(base)/json", "\(base)/json"])
            #expect(reuse.status == 0)
            #expect(reuse.stdout == #"{"hello":"world"}{"hello":"world"}"#)
            #expect(reuse.stderr.contains("Re-using existing connection") || reuse.stderr.contains("Reusing existing connection"))
            let upload = pattern(100_000, seed: 4)
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let output = folder + "/out"
            let chunked = try await run("/usr/bin/curl", ["-sS", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                                                         "-o", output, "\(base)/echo-stream"], input: upload)
            #expect(chunked.status == 0, "\(chunked.stderr)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: output))) == upload)
        }
    }
}
