import Foundation
import Testing
@testable import ScanBridgeHTTP
@testable import ScanBridgeIO

/// Error answers that end a connection while the client is still sending: each must reach the
/// client whole, with an orderly end of stream after it, not a reset. (Test arguments are these
/// names, not the requests: the test library describes every argument.)
enum LingeringCase: String, CaseIterable, Sendable {
    /// Over the body limit by Content-Length: answered at the head, the body still on its way.
    case contentLength = "413 by Content-Length"
    /// Over the body limit in chunks: the handler reading the body gets the error.
    case chunked = "413 in chunks"
    /// A head far over the head limit.
    case head = "431"

    var status: Int { self == .head ? 431 : 413 }

    var request: [UInt8] {
        let body = [UInt8](repeating: 0x62, count: 8 << 20)
        switch self {
        case .contentLength:
            return Array("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        case .chunked:
            var request = Array("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            request.reserveCapacity(body.count + 16 * 1024)
            for offset in stride(from: 0, to: body.count, by: 64 << 10) {
                request += Array("10000\r\n".utf8)
                request += body[offset..<(offset + (64 << 10))]
                request += Array("\r\n".utf8)
            }
            return request
        case .head:
            return Array("GET /json HTTP/1.1\r\nHost: h\r\nX-Big: ".utf8) + [UInt8](repeating: 0x68, count: 4 << 20) + Array("\r\n\r\n".utf8)
        }
    }
}

/// Sends `pieces` one every `every` while reading the answer: it must be 408, not before
/// `deadline` and within 5× of it, and the connection then closes.
func expectTimedOut(_ client: RawClient, trickling pieces: [[UInt8]], every: Duration, deadline: Duration) async throws {
    let start = ContinuousClock.now
    let trickle = Task {
        for piece in pieces {
            do { try await client.send(piece) } catch { return }
            do { try await Task.sleep(for: every) } catch { return }
        }
    }
    let response = try await client.readResponse(timeout: deadline * 10)
    let elapsed = ContinuousClock.now - start
    trickle.cancel()
    #expect(response.status == 408)
    #expect(elapsed >= deadline * 0.9, "408 after \(elapsed)")
    #expect(elapsed < deadline * 5, "408 only after \(elapsed)")
    #expect(await client.isClosedByServer(timeout: deadline * 5))
}

/// Raises this process's open-file limit to `wanted` (within the hard limit) for the tests
/// that open a thousand connections from both ends.
func raiseOpenFileLimit(to wanted: rlim_t) -> rlim_t {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < wanted {
        limit.rlim_cur = min(wanted, limit.rlim_max)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return limit.rlim_cur
}

// Nested in the live suite so that it shares its one-at-a-time order: the bounds below are
// within 5× of the configured timeouts, and the live suite's 8 MiB tests running alongside in
// this process can starve the server tasks for longer than that on two cores.
extension LiveServerTests {
    @Suite("Abusive and unlucky clients: error answers arrive, slow heads and idle connections cannot lock clients out")
    struct AbusiveClientTests {
        @Test("an error answer sent while the client is still sending arrives whole, then end of stream (no reset)",
              arguments: engineKinds, LingeringCase.allCases)
        func lingeringClose(kind: IOEngineKind, lingering: LingeringCase) async throws {
            let request = lingering.request, status = lingering.status, name = lingering.rawValue
            // A generous linger: on a loaded machine draining a few MiB may take a while.
            let limits = HTTPLimits(maxHeaderBytes: 4096, maxBodySize: 1 << 20, lingerTimeout: .seconds(20))
            try await withServer(kind, testRouter(), limits: limits) { server, engine in
                let client = try await RawClient(engine, port: server.port)
                // All of it, as a client that does not look for an early answer sends it: without a
                // lingering close the server's close with unread input resets the connection, and
                // this send or the read below fails.
                try await client.send(request, timeout: .seconds(20))
                let response = try await client.readResponse()
                #expect(response.status == status, "\(name)")
                #expect(response.header("Connection") == "close")
                #expect(response.text.contains(#""statusCode":\#(status)"#))
                #expect(await client.endsWithoutReset(), "\(name): the connection was reset instead of closed")
                await client.close()
            }
        }

        @Test("a head trickling in a byte every 500 ms gets 408 at the head deadline, counted from its first byte", arguments: engineKinds)
        func tricklingHead(kind: IOEngineKind) async throws {
            let headTimeout = Duration.seconds(2)
            let limits = HTTPLimits(idleTimeout: .seconds(30), headerReadTimeout: headTimeout)
            try await withServer(kind, testRouter(), limits: limits) { server, engine in
                let client = try await RawClient(engine, port: server.port)
                // Never completes the head: the fields go on and on.
                let head = Array("GET /json HTTP/1.1\r\nHost: h\r\nX-Slow: ".utf8) + [UInt8](repeating: 0x73, count: 1000)
                // Not before the deadline, and within 5× of it (not pushed out by every byte).
                try await expectTimedOut(client, trickling: head.map { [$0] }, every: .milliseconds(500), deadline: headTimeout)
                await client.close()
            }
        }

        @Test("a body trickling below the minimum rate gets 408 at its deadline; one at a good pace is read whole", arguments: engineKinds)
        func tricklingBody(kind: IOEngineKind) async throws {
            let grace = Duration.seconds(2)
            let limits = HTTPLimits(idleTimeout: .seconds(30), headerReadTimeout: grace, minBodyRate: 1000)
            try await withServer(kind, testRouter(), limits: limits) { server, engine in
                let client = try await RawClient(engine, port: server.port)
                try await client.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
                // 20 bytes every 200 ms: 100 bytes a second, a tenth of the minimum. The allowance is
                // the grace plus what the ~2 kB received earn at 1000 B/s.
                try await expectTimedOut(client, trickling: Array(repeating: [UInt8](repeating: 0x74, count: 20), count: 1000),
                                         every: .milliseconds(200), deadline: grace)
                await client.close()

                // 20 kB in 200 ms pieces of 5 kB: 25 kB a second, well above the minimum, for longer than the grace.
                let steady = try await RawClient(engine, port: server.port)
                let body = pattern(60_000, seed: 9)
                try await steady.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.count)\r\n\r\n")
                for offset in stride(from: 0, to: body.count, by: 5000) {
                    try await steady.send(Array(body[offset..<min(offset + 5000, body.count)]))
                    try await Task.sleep(for: .milliseconds(200))
                }
                let echoed = try await steady.readResponse()
                #expect(echoed.status == 200)
                #expect(echoed.body == body)
                await steady.close()
            }
        }

        @Test("at the connection cap the longest idle keep-alive connection makes room for a new client", arguments: engineKinds)
        func capEvictsIdle(kind: IOEngineKind) async throws {
            try await withServer(kind, testRouter(), limits: HTTPLimits(maxConnections: 4)) { server, engine in
                var clients: [RawClient] = []
                for _ in 0..<4 {
                    let client = try await RawClient(engine, port: server.port)
                    try await client.send(get("/json"))
                    #expect(try await client.readResponse().status == 200)
                    clients.append(client)
                }
                // Each newcomer is served; each time the connection idle the longest is closed.
                for round in 0..<2 {
                    let newcomer = try await RawClient(engine, port: server.port)
                    try await newcomer.send(get("/json"))
                    #expect(try await newcomer.readResponse().status == 200, "newcomer \(round)")
                    #expect(await clients[round].isClosedByServer(timeout: .seconds(5)), "oldest idle connection \(round) kept")
                    clients.append(newcomer)
                }
                // The younger ones were left alone.
                try await clients[2].send(get("/json"))
                #expect(try await clients[2].readResponse().status == 200)
                #expect(server.connectionCount <= 4)
                for client in clients { await client.close() }
            }
        }

        @Test("at the connection cap with every connection busy, one more is answered 503 and closed", arguments: engineKinds)
        func capAllBusy(kind: IOEngineKind) async throws {
            try await withServer(kind, testRouter(), limits: HTTPLimits(maxConnections: 2)) { server, engine in
                var busy: [RawClient] = []
                for _ in 0..<2 {
                    // A response that never ends keeps its connection busy until the client leaves.
                    let client = try await RawClient(engine, port: server.port)
                    try await client.send(get("/forever"))
                    _ = try await client.readHead()
                    busy.append(client)
                }
                let refused = try await RawClient(engine, port: server.port)
                // A request sent before the answer is read does not turn the 503 into a reset.
                try await refused.send(Array("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n\r\n".utf8)
                                       + [UInt8](repeating: 0x72, count: 200_000))
                let answer = try await refused.readResponse()
                #expect(answer.status == 503)
                #expect(answer.text.contains(#""statusCode":503"#))
                #expect(await refused.endsWithoutReset())
                await refused.close()
                // A client leaving frees its slot for the next one.
                await busy.removeFirst().close()
                var served = false
                let deadline = ContinuousClock.now + .seconds(5)
                while !served, ContinuousClock.now < deadline {
                    let next = try await RawClient(engine, port: server.port)
                    try await next.send(get("/json"))
                    served = (try? await next.readResponse())?.status == 200
                    await next.close()
                    if !served { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(served)
                for client in busy { await client.close() }
            }
        }

        @Test("1,024 trickling connections at the default cap do not keep a new client out", arguments: engineKinds)
        func thousandTricklers(kind: IOEngineKind) async throws {
            let count = 1024
            #expect(raiseOpenFileLimit(to: 4 * 1024) >= 2 * 1024 + 64, "too few file descriptors for 2 × 1,024 sockets")
            let limits = HTTPLimits(headerReadTimeout: .seconds(10))
            #expect(limits.maxConnections == count)
            try await withServer(kind, testRouter(), limits: limits) { server, engine in
                var tricklers: [RawClient] = []
                for _ in 0..<count {
                    let client = try await RawClient(engine, port: server.port)
                    try await client.send("GET /json HTTP/1.1\r\nHost: h\r\n")
                    tricklers.append(client)
                }
                // One more byte each while the newcomers arrive, so none of them has gone quiet.
                for client in tricklers { try? await client.send("X") }
                for round in 0..<5 {
                    let start = ContinuousClock.now
                    let newcomer = try await RawClient(engine, port: server.port)
                    try await newcomer.send(get("/json"))
                    let response = try await newcomer.readResponse(timeout: .seconds(10))
                    #expect(response.status == 200, "newcomer \(round)")
                    // Far sooner than the 10 s head deadline that would otherwise free a slot.
                    #expect(ContinuousClock.now - start < .seconds(2), "newcomer \(round) waited \(ContinuousClock.now - start)")
                    // Kept open, so the next newcomer finds the cap reached again.
                    tricklers.append(newcomer)
                }
                for client in tricklers { await client.close() }
            }
        }
    }
}
