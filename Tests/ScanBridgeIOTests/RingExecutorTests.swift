#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ScanBridgeIO

/// The io_uring engine's streams offer their ring's thread as a task executor: a task that
/// prefers it submits and is resumed on that thread. The same contract as on the shared pool
/// (timeouts, cancellation, close while pending, half-close) must hold there.
@Suite("io_uring: tasks on their ring's thread", .timeLimit(.minutes(1)))
struct RingExecutorTests {
    /// A connected pair on the io_uring engine: `server` accepted by a listener, `client` connected.
    struct Pair {
        var server: any ByteStream
        var client: any ByteStream
        var ring: URingLoop
    }

    static func withPairs(_ count: Int, _ body: ([Pair]) async throws -> Void) async throws {
        guard engineKinds.contains(.ioUring) else { return }   // `ioUringRunsHere` reports it
        let engine = try engine(.ioUring)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        var pairs: [Pair] = []
        for _ in 0..<count {
            async let accepted = listener.accept()
            let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
            let server = try await accepted
            let ring = try #require(server.preferredExecutor as? URingLoop, "an io_uring stream offers its ring")
            pairs.append(Pair(server: server, client: client, ring: ring))
        }
        try await body(pairs)
        for pair in pairs {
            await pair.server.close()
            await pair.client.close()
        }
        await listener.close()
    }

    static var rings: URingRings? {
        guard let engine = try? IOEngine.start(.ioUring), case .ioUring(let rings) = engine.backend else { return nil }
        return rings
    }

    @Test("a task preferring the stream's executor runs on its ring thread; connections spread over the rings")
    func runsOnRingThread() async throws {
        let ringCount = Self.rings?.loops.count ?? 1
        try await Self.withPairs(2 * ringCount) { pairs in
            #expect(Set(pairs.map { ObjectIdentifier($0.ring) }).count == ringCount, "every ring serves connections")
            for pair in pairs {
                let ring = pair.ring
                #expect(!ring.isRingThread, "the test itself runs on the shared pool")
                let task = Task(executorPreference: ring) { () async throws(IOError) -> [Bool] in
                    var onRing = [ring.isRingThread]
                    let bytes = try await pair.server.receive(maxLength: 100, timeout: patient)
                    onRing.append(ring.isRingThread)
                    try await pair.server.send(bytes + bytes, timeout: patient)
                    onRing.append(ring.isRingThread)
                    return onRing
                }
                try await Task.sleep(for: .milliseconds(5))   // the receive waits in the ring
                try await pair.client.send([1, 2, 3], timeout: patient)
                #expect(try await task.value == [true, true, true])
                #expect(try await receiveExactly(pair.client, 6) == [1, 2, 3, 1, 2, 3])
            }
        }
    }

    @Test("on the ring thread: receive timeout, cancellation, then the stream still works")
    func timeoutAndCancellation() async throws {
        try await Self.withPairs(1) { pairs in
            let pair = pairs[0]
            try await withTaskExecutorPreference(pair.ring) {
                let start = ContinuousClock.now
                await expectIOError(.timedOut) { try await pair.server.receive(maxLength: 100, timeout: .milliseconds(300)) }
                #expect(ContinuousClock.now - start >= .milliseconds(270))
                #expect(pair.ring.isRingThread)
                for index in 0..<20 {
                    let pending = Task(executorPreference: pair.ring) { try await pair.server.receive(maxLength: 100, timeout: nil) }
                    try await Task.sleep(for: .milliseconds(2))
                    if index.isMultiple(of: 2) {
                        pending.cancel()   // from the ring thread
                    } else {
                        await Task.detached { pending.cancel() }.value   // from the shared pool
                    }
                    await expectIOError(.cancelled) { try await pending.value }
                }
                try await pair.client.send(Array("after".utf8), timeout: patient)
                #expect(try await receiveExactly(pair.server, 5) == Array("after".utf8))
            }
        }
    }

    @Test("on the ring thread: close while a receive is pending, from the ring and from the pool")
    func closeWhilePending() async throws {
        try await Self.withPairs(2) { pairs in
            for (index, pair) in pairs.enumerated() {
                let pending = Task(executorPreference: pair.ring) { try await pair.server.receive(maxLength: 100, timeout: patient) }
                try await Task.sleep(for: .milliseconds(20))
                if index == 0 {
                    await Task(executorPreference: pair.ring) { await pair.server.close() }.value
                } else {
                    await pair.server.close()
                }
                await expectIOError(.closed) { try await pending.value }
                #expect(try await pair.client.receive(maxLength: 10, timeout: patient) == [], "the peer sees the close")
            }
        }
    }

    @Test("on the ring thread: an 8 MiB send, then half-close")
    func largeSendAndHalfClose() async throws {
        try await Self.withPairs(1) { pairs in
            let pair = pairs[0]
            let payload = pattern(8 << 20, seed: 7)
            let sender = Task(executorPreference: pair.ring) { () async throws(IOError) in
                try await pair.server.send(payload, timeout: patient)
                await pair.server.shutdownWrite()
                // Half-closed: receiving goes on.
                return try await pair.server.receive(maxLength: 10, timeout: patient)
            }
            let received = try await receiveAll(pair.client)
            #expect(received == payload)
            try await pair.client.send([42], timeout: patient)
            #expect(try await sender.value == [42])
        }
    }

    /// Runs `count` child tasks one after the other on a ring of its own (no other traffic) whose
    /// thread runs up to `batchesPerTurn` inbox batches a turn; returns the turns it took.
    static func turnsForChildTaskChain(_ count: Int, batchesPerTurn: Int) async throws -> Int {
        var settings = URingSettings.fromEnvironment()
        settings.batchesPerTurn = batchesPerTurn
        let ring = try URingLoop(name: "sb-io_uring-test", settings: settings)
        // Let the new thread settle into its first wait.
        try await Task.sleep(for: .milliseconds(20))
        let before = ring.turns.load(ordering: .relaxed)
        let sum = await Task(executorPreference: ring) { () async -> Int in
            var sum = 0
            for index in 0..<count {
                // A child on the ring, then its parent resumed there: two jobs, each queued by the other.
                sum += await withTaskGroup(of: Int.self) { group in
                    group.addTask { index }
                    return await group.next() ?? 0
                }
            }
            return sum
        }.value
        #expect(sum == count * (count - 1) / 2)
        return ring.turns.load(ordering: .relaxed) - before
    }

    @Test("jobs that queue one another run in the same turn of the ring thread, up to its batch limit")
    func jobChainsShareATurn() async throws {
        guard engineKinds.contains(.ioUring) else { return }
        let chained = try await Self.turnsForChildTaskChain(64, batchesPerTurn: 8)
        let oneBatch = try await Self.turnsForChildTaskChain(64, batchesPerTurn: 1)
        // One batch a turn enters the kernel between the child and its parent; eight run
        // about four links of the chain a turn.
        #expect(oneBatch >= 128, "one batch a turn: \(oneBatch) turns")
        #expect(chained <= oneBatch / 3, "eight batches a turn: \(chained) turns against \(oneBatch)")
    }
}
