#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ScanBridgeIO

/// The same suite on every engine this machine runs (see `engineKinds`).
@Suite("Socket engines", .timeLimit(.minutes(1)))
struct EngineTests {
    @Test("echo over loopback (IPv4 and IPv6)", arguments: engineKinds)
    func echo(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        for address in ["127.0.0.1", "::1"] {
            try await withEchoServer(engine, address: address) { port in
                let client = try await engine.connect(address: address, port: port, timeout: patient)
                for message in ["hello", "world", String(repeating: "x", count: 1000)] {
                    try await client.send(Array(message.utf8), timeout: patient)
                    let echoed = try await receiveExactly(client, message.utf8.count)
                    #expect(echoed == Array(message.utf8))
                }
                await client.close()
            }
        }
    }

    @Test("200 concurrent connections", arguments: engineKinds)
    func manyConnections(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        try await withEchoServer(engine) { port in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let client = try await engine.connect(address: "127.0.0.1", port: port, timeout: patient)
                        let payload = pattern(3000 + index, seed: UInt64(index))
                        try await client.send(payload, timeout: patient)
                        let echoed = try await receiveExactly(client, payload.count)
                        #expect(echoed == payload)
                        await client.close()
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("8 MiB each way, split writes and reads, byte-exact", arguments: engineKinds)
    func largeTransfer(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        try await withEchoServer(engine) { port in
            let client = try await engine.connect(address: "127.0.0.1", port: port, timeout: patient)
            let payload = pattern(8 << 20, seed: 42)
            async let sent: Void = {
                // Uneven slices, so writes and reads split at arbitrary points.
                var offset = 0
                var size = 1
                while offset < payload.count {
                    let end = min(payload.count, offset + size)
                    try await client.send(Array(payload[offset..<end]), timeout: patient)
                    offset = end
                    size = size * 7 % 300_007 + 1
                }
            }()
            let received = try await receiveExactly(client, payload.count, chunk: 50_000)
            try await sent
            #expect(received.count == payload.count)
            #expect(received == payload)
            await client.close()
        }
    }

    @Test("one 6 MiB send to a peer reading in small pieces", arguments: engineKinds)
    func singleLargeSend(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        let payload = pattern(6 << 20, seed: 7)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        async let sending: Void = {
            try await server.send(payload, timeout: patient)
            await server.close()
        }()
        let received = try await receiveAll(client)
        try await sending
        #expect(received == payload)
        await client.close()
        await listener.close()
    }

    @Test("a send with more to follow waits in the socket for the next one, which takes both", arguments: engineKinds)
    func moreToFollow(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        let fd = try #require((server as? any SocketBacked)?.fileDescriptor)
        let head = Array("HTTP/1.1 200 OK\r\n\r\n".utf8), body = pattern(200_000, seed: 5)
        try await server.send(head, moreToFollow: true, timeout: patient)
        // SIOCOUTQNSD: bytes in the send queue not yet sent. A head sent on its own is gone at once.
        var unsent: Int32 = -1
        #expect(withUnsafeMutablePointer(to: &unsent) { ioctl(fd, UInt(0x894B), $0) } == 0)
        #expect(Int(unsent) == head.count, "the head did not wait for the body")
        try await server.send(body, timeout: patient)
        #expect(try await receiveExactly(client, head.count + body.count) == head + body)
        await server.close()
        await client.close()
        await listener.close()
    }

    @Test("peer closing gives an empty receive", arguments: engineKinds)
    func peerClose(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        try await server.send(Array("bye".utf8), timeout: patient)
        await server.close()
        #expect(try await receiveAll(client) == Array("bye".utf8))
        #expect(try await client.receive(maxLength: 100, timeout: patient) == [])
        await client.close()
        await listener.close()
    }

    @Test("peer reset gives .connectionReset", arguments: engineKinds)
    func peerReset(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        // A pending receive is woken by the reset.
        let pending = Task { try await client.receive(maxLength: 100, timeout: patient) }
        try await Task.sleep(for: .milliseconds(20))
        armReset(server)
        await server.close()
        await expectIOError(.connectionReset) { try await pending.value }
        // Sending to a reset connection fails the same way (EPIPE/ECONNRESET).
        await expectIOError(.connectionReset) {
            for _ in 0..<10 { try await client.send([UInt8](repeating: 1, count: 65536), timeout: patient) }
        }
        await client.close()
        await listener.close()
    }

    @Test("receive timeout, and the stream still works afterwards", arguments: engineKinds)
    func receiveTimeout(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        let start = ContinuousClock.now
        let timeout = Duration.seconds(1)
        await expectIOError(.timedOut) { try await client.receive(maxLength: 100, timeout: timeout) }
        let elapsed = ContinuousClock.now - start
        // Not before the timeout, and within 5× of it.
        #expect(elapsed >= timeout * 0.9 && elapsed < timeout * 5, "\(elapsed)")
        try await server.send([1, 2, 3], timeout: patient)
        #expect(try await client.receive(maxLength: 100, timeout: patient) == [1, 2, 3])
        await server.close()
        await client.close()
        await listener.close()
    }

    @Test("send timeout against a peer that never reads", arguments: engineKinds)
    func sendTimeout(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        let timeout = Duration.seconds(1)
        let bytes = [UInt8](repeating: 0x55, count: 64 << 20)   // far more than loopback's socket buffers hold
        let start = ContinuousClock.now
        await expectIOError(.timedOut) { try await client.send(bytes, timeout: timeout) }
        #expect(ContinuousClock.now - start < timeout * 5)
        await client.close()
        await server.close()
        await listener.close()
    }

    @Test("a send that timed out leaves the caller free to change its array: the peer reads only what was sent", arguments: engineKinds)
    func sendBufferOwnership(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        var bytes = pattern(32 << 20, seed: 11)   // more than loopback's socket buffers hold
        let original = bytes
        await expectIOError(.timedOut) { try await client.send(bytes, timeout: .milliseconds(300)) }
        // The engine may still hold the array for the kernel; changing ours must not reach it.
        for index in stride(from: 0, to: bytes.count, by: 4096) { bytes[index] = ~bytes[index] }
        await client.close()
        let received = try await receiveAll(server)
        #expect(received.count > 0 && received.count < original.count)
        #expect(received == Array(original[0..<received.count]), "the peer got the bytes of the send, unchanged")
        await server.close()
        await listener.close()
    }

    @Test("cancelling a pending receive: resumed once with .cancelled, no data lost", arguments: engineKinds)
    func cancelReceive(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        for _ in 0..<20 {
            let pending = Task { try await client.receive(maxLength: 100, timeout: nil) }
            try await Task.sleep(for: .milliseconds(2))
            pending.cancel()
            await expectIOError(.cancelled) { try await pending.value }
        }
        // Cancelled before it even started.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.receive(maxLength: 100, timeout: nil)
        }
        await expectIOError(.cancelled) { try await early.value }
        // The stream and the engine are still healthy.
        try await server.send(Array("after".utf8), timeout: patient)
        #expect(try await receiveExactly(client, 5) == Array("after".utf8))
        try await client.send([9], timeout: patient)
        #expect(try await server.receive(maxLength: 10, timeout: patient) == [9])
        await server.close()
        await client.close()
        await listener.close()
    }

    @Test("cancelling a pending accept; the listener keeps working", arguments: engineKinds)
    func cancelAccept(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        for _ in 0..<10 {
            let pending = Task { try await listener.accept() }
            try await Task.sleep(for: .milliseconds(5))
            pending.cancel()
            await expectIOError(.cancelled) { try await pending.value }
        }
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        try await client.send([1], timeout: patient)
        #expect(try await server.receive(maxLength: 10, timeout: patient) == [1])
        await server.close()
        await client.close()
        // A connection nobody accepted (queued by the kernel, or taken ahead by a multishot
        // accept) is closed with the listener, not leaked: its client sees the end.
        let orphan = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        try await Task.sleep(for: .milliseconds(20))
        await listener.close()
        do {
            #expect(try await orphan.receive(maxLength: 10, timeout: patient) == [])
        } catch {
            #expect(error.kind == .connectionReset, "\(error)")
        }
        await orphan.close()
    }

    @Test("close() while a receive is pending ends it with .closed, closes the socket", arguments: engineKinds)
    func closeWhilePending(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        let fd = descriptor(of: client)
        let identity = try #require(socketIdentity(fd))
        let pending = Task { try await client.receive(maxLength: 100, timeout: patient) }
        try await Task.sleep(for: .milliseconds(20))
        await client.close()
        await expectIOError(.closed) { try await pending.value }
        await client.close()  // idempotent
        await expectIOError(.closed) { try await client.receive(maxLength: 1, timeout: nil) }
        await expectIOError(.closed) { try await client.send([1], timeout: nil) }
        #expect(socketIdentity(fd) != identity, "the descriptor is closed")
        // The peer sees the close.
        #expect(try await server.receive(maxLength: 10, timeout: patient) == [])
        await server.close()
        await listener.close()
    }

    @Test("listener close ends a pending accept with .closed and releases the port", arguments: engineKinds)
    func listenerClose(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        let fd = descriptor(of: listener)
        let identity = try #require(socketIdentity(fd))
        let pending = Task { try await listener.accept() }
        try await Task.sleep(for: .milliseconds(20))
        await listener.close()
        await expectIOError(.closed) { try await pending.value }
        await expectIOError(.closed) { try await listener.accept() }
        await listener.close()
        #expect(socketIdentity(fd) != identity)
        // Nobody listens there any more.
        await expectConnectRefused(engine, port: listener.port)
        // SO_REUSEADDR: the same port can be bound again at once.
        let again = try engine.listen(address: "127.0.0.1", port: listener.port)
        #expect(again.port == listener.port)
        await again.close()
    }

    @Test("connect refused is a clear error", arguments: engineKinds)
    func connectRefused(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        let port = listener.port
        await listener.close()
        await expectConnectRefused(engine, port: port)
    }

    @Test("bad addresses are rejected", arguments: engineKinds)
    func badAddresses(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        #expect(throws: IOError.self) { try engine.listen(address: "localhost", port: 0) }
        #expect(throws: IOError.self) { try engine.listen(address: "127.0.0.1", port: 70000) }
        await #expect(throws: IOError.self) { try await engine.connect(address: "1.2.3", port: 80) }
        // Binding a port that is in use fails with EADDRINUSE.
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        do {
            _ = try engine.listen(address: "127.0.0.1", port: listener.port)
            Issue.record("second bind succeeded")
        } catch {
            #expect(error.errno == EADDRINUSE)
            #expect(error.operation.contains("127.0.0.1:\(listener.port)"))
        }
        await listener.close()
    }

    @Test("connect timeout to an address that drops SYNs", arguments: engineKinds)
    func connectCancelled(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        // A full accept queue: with backlog 0 and nobody accepting, further SYNs are dropped.
        let listener = try engine.listen(address: "127.0.0.1", port: 0, backlog: 0)
        var clients: [any ByteStream] = []
        var timedOut = false
        for _ in 0..<8 {
            do {
                clients.append(try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: .milliseconds(200)))
            } catch {
                #expect(error.kind == .timedOut, "\(error)")
                timedOut = true
                break
            }
        }
        #expect(timedOut, "a connect to a full backlog timed out")
        for client in clients { await client.close() }
        await listener.close()
    }

    @Test("cancelling a pending send and a pending connect", arguments: engineKinds)
    func cancelSendAndConnect(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        // A send that blocks on a peer that never reads.
        let sending = Task { try await client.send([UInt8](repeating: 7, count: 64 << 20), timeout: nil) }
        // Bytes arriving prove the send runs; then give it time to fill the socket buffers.
        let firstBytes = try await server.receive(maxLength: 1000, timeout: patient)
        #expect(!firstBytes.isEmpty && firstBytes.allSatisfy { $0 == 7 })
        try await Task.sleep(for: .milliseconds(50))
        sending.cancel()
        await expectIOError(.cancelled) { try await sending.value }
        // The engine is healthy: the same peers still talk the other way.
        try await server.send([1, 2], timeout: patient)
        #expect(try await client.receive(maxLength: 10, timeout: patient) == [1, 2])
        await client.close()
        await server.close()

        await listener.close()

        // Fill the accept queue (backlog 0, never accepted) until connects hang, then cancel one.
        let full = try engine.listen(address: "127.0.0.1", port: 0, backlog: 0)
        var clients: [any ByteStream] = []
        var hanging = false
        for _ in 0..<8 {
            do {
                clients.append(try await engine.connect(address: "127.0.0.1", port: full.port, timeout: .milliseconds(150)))
            } catch {
                hanging = true
                break
            }
        }
        #expect(hanging)
        let connecting = Task { try await engine.connect(address: "127.0.0.1", port: full.port, timeout: nil) }
        try await Task.sleep(for: .milliseconds(50))
        connecting.cancel()
        await expectIOError(.cancelled) { try await connecting.value }
        for client in clients { await client.close() }
        await full.close()
    }

    func expectConnectRefused(_ engine: IOEngine, port: Int) async {
        do {
            let stream = try await engine.connect(address: "127.0.0.1", port: port, timeout: patient)
            await stream.close()
            Issue.record("connect succeeded")
        } catch {
            #expect(error.errno == ECONNREFUSED, "\(error)")
            #expect(error.kind == .system)
            #expect(error.operation.contains("127.0.0.1:\(port)"))
            #expect(error.systemMessage == "Connection refused")
        }
    }
}

@Suite("Socket engines under races", .timeLimit(.minutes(1)))
struct EngineRaceTests {
    @Test("cancellations and tiny timeouts racing with arriving data lose no byte", arguments: engineKinds)
    func noLossUnderCancellation(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        let payload = pattern(1 << 20, seed: 99)
        let sender = Task {
            var offset = 0
            while offset < payload.count {
                let end = min(payload.count, offset + 1500)
                try await server.send(Array(payload[offset..<end]), timeout: patient)
                offset = end
                if offset % 30_000 < 1500 { try await Task.sleep(for: .microseconds(200)) }
            }
        }
        var received: [UInt8] = []
        var round = 0
        var cancelled = 0, timedOut = 0
        while received.count < payload.count {
            round += 1
            switch round % 3 {
            case 0:
                let task = Task { try await client.receive(maxLength: 4000, timeout: nil) }
                if round % 2 == 0 { await Task.yield() }
                task.cancel()
                do { received += try await task.value } catch let error as IOError {
                    #expect(error.kind == .cancelled, "\(error)")
                    cancelled += 1
                }
            case 1:
                do { received += try await client.receive(maxLength: 4000, timeout: .microseconds(50)) } catch {
                    #expect(error.kind == .timedOut, "\(error)")
                    timedOut += 1
                }
            default:
                let part = try await client.receive(maxLength: 4000, timeout: patient)
                #expect(!part.isEmpty)
                received += part
            }
        }
        try await sender.value
        #expect(received == payload)
        #expect(cancelled + timedOut > 0)
        await server.close()
        await client.close()
        await listener.close()
    }

    @Test("600 waits that end before their long timeouts, then a short timeout still fires", arguments: engineKinds)
    func manyEarlyEndingTimeouts(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        try await withEchoServer(engine) { port in
            let client = try await engine.connect(address: "127.0.0.1", port: port, timeout: patient)
            // Ping-pong: each receive waits for the echo with a 30 s timeout that never fires
            // (epoll keeps such timers until it drops them in bulk).
            for round in 0..<600 {
                try await client.send([UInt8(truncatingIfNeeded: round)], timeout: patient)
                #expect(try await client.receive(maxLength: 10, timeout: patient) == [UInt8(truncatingIfNeeded: round)])
            }
            let start = ContinuousClock.now
            await expectIOError(.timedOut) { try await client.receive(maxLength: 10, timeout: .milliseconds(50)) }
            #expect(ContinuousClock.now - start >= .milliseconds(45))
            await client.close()
        }
    }

    @Test("a stream dropped without close() still closes its socket", arguments: engineKinds)
    func droppedStreamCloses(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        var client: (any ByteStream)? = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        let fd = descriptor(of: client!)
        let identity = try #require(socketIdentity(fd))
        client = nil
        // The peer sees the close once the loop closed the descriptor.
        #expect(try await server.receive(maxLength: 10, timeout: patient) == [])
        #expect(socketIdentity(fd) != identity)
        await server.close()
        await listener.close()
    }

    @Test("connections arriving with nobody accepting wait, then are all accepted", arguments: engineKinds)
    func burstBeforeAccept(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0, backlog: 512)
        // Arm the listener, then let 150 clients connect while no accept is pending.
        let first = Task { try await listener.accept() }
        let opener = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let firstServer = try await first.value
        var clients: [any ByteStream] = []
        for index in 0..<150 {
            let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
            try await client.send([UInt8(index)], timeout: patient)
            clients.append(client)
        }
        var seen = Set<UInt8>()
        for _ in 0..<150 {
            let server = try await listener.accept()
            let byte = try await server.receive(maxLength: 1, timeout: patient)
            seen.insert(byte[0])
            await server.close()
        }
        #expect(seen.count == 150)
        for client in clients { await client.close() }
        await opener.close()
        await firstServer.close()
        await listener.close()
    }
}
