#if canImport(Glibc)
import Glibc
#endif
import ScanBridgeCore
import Testing
@testable import ScanBridgeIO

/// A ring thread polls briefly before it sleeps (`PollBeforeSleep`), so that a client in a loop
/// does not cost a sleep and a wake-up a request; it must not burn a core when traffic is slow
/// or when it waits for a peer to read.
@Suite("io_uring: polling before the ring thread sleeps", .timeLimit(.minutes(1)))
struct RingPollingTests {
    @Test("the budget grows while sleeps end soon, and drops to nothing when they are long")
    func budgetAdapts() {
        var poll = PollBeforeSleep(ceilingMicroseconds: 100)
        #expect(poll.budget == 0, "no polling before traffic shows it pays")
        var budgets: [UInt64] = []
        for _ in 0..<5 {
            poll.slept(20_000)
            budgets.append(poll.budget)
        }
        #expect(budgets == [10_000, 20_000, 40_000, 80_000, 100_000])
        poll.slept(150_000)
        #expect(poll.budget == 0, "a sleep longer than the ceiling stops polling")
        poll.slept(20_000)
        #expect(poll.budget == 10_000, "and the next short one starts it again")

        var off = PollBeforeSleep(ceilingMicroseconds: 0)
        off.slept(1_000)
        #expect(off.budget == 0, "a zero ceiling never polls")
    }

    /// A ring of its own (no other test's traffic) polling up to `pollMicroseconds`, an echo
    /// server on it, and a blocking client socket connected to it.
    static func withEchoRing(pollMicroseconds: Int, _ body: (URingLoop, Int32) async throws -> Void) async throws {
        guard engineKinds.contains(.ioUring) else { return }   // `ioUringRunsHere` reports it
        var settings = URingSettings.fromEnvironment()
        settings.rings = 1
        settings.pollMicroseconds = pollMicroseconds
        let rings = try URingRings(settings)
        let listener = try rings.listen(try SocketAddress(address: "127.0.0.1", port: 0), backlog: 8)
        let server = Task {
            guard let stream = try? await listener.accept() else { return }
            // A small send buffer: a large reply then drains in many short steps.
            var sendBuffer: Int32 = 32 << 10
            setsockopt(descriptor(of: stream), SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size))
            await Task(executorPreference: stream.preferredExecutor) {
                while let bytes = try? await stream.receive(maxLength: 65536, timeout: patient), !bytes.isEmpty {
                    // A request of one byte `n` asks for a reply of `n` MiB; any other is echoed.
                    let reply = bytes.count == 1 ? [UInt8](repeating: 7, count: Int(bytes[0]) << 20) : bytes
                    do { try await stream.send(reply, timeout: patient) } catch { break }
                }
                await stream.close()
            }.value
        }
        let client = blockingConnect(port: listener.port)
        defer { close(client) }
        try await body(rings.loops[0], client)
        shutdown(client, Int32(SHUT_WR))
        await server.value
        await listener.close()
    }

    /// `count` round trips of 64 bytes from a thread of its own, each after a pause of `pause`
    /// microseconds; how often the ring thread waited in the kernel meanwhile. The client sleeps in its pause, so that the
    /// ring thread is not kept from waiting for the request by the client holding its core.
    static func pingPong(_ ring: URingLoop, _ client: Int32, count: Int, pause: useconds_t = 50) async -> Int {
        await onOwnThread {
            let before = ring.waits.load(ordering: .relaxed)
            var message = [UInt8](repeating: 1, count: 64)
            for _ in 0..<count {
                usleep(pause)
                precondition(send(client, &message, 64, Int32(MSG_NOSIGNAL)) == 64)
                precondition(recv(client, &message, 64, Int32(MSG_WAITALL)) == 64)
            }
            return ring.waits.load(ordering: .relaxed) - before
        }
    }

    @Test("a client in a loop is answered without the ring thread sleeping between its requests")
    func clientInALoopIsCaughtByPolling() async throws {
        let roundTrips = 400
        var polled = Int.max, unpolled = 0
        // A machine busy with other work can keep the client off a core for longer than the
        // ceiling, which is a long sleep and ends polling for a while: the best of three counts.
        for _ in 0..<3 where polled >= roundTrips / 4 {
            try await Self.withEchoRing(pollMicroseconds: 1_000) { ring, client in
                polled = min(polled, await Self.pingPong(ring, client, count: roundTrips))
            }
        }
        try await Self.withEchoRing(pollMicroseconds: 0) { ring, client in
            unpolled = await Self.pingPong(ring, client, count: roundTrips)
        }
        guard engineKinds.contains(.ioUring) else { return }
        #expect(unpolled >= roundTrips, "without polling the thread waits in the kernel for every request: \(unpolled) waits")
        #expect(polled < roundTrips / 4, "polling catches most requests: \(polled) waits in \(roundTrips) round trips")
    }

    @Test("requests further apart than the poll ceiling stop the ring thread polling")
    func slowTrafficDoesNotSpin() async throws {
        /// The ring thread's CPU time over fifty requests 5 ms apart, after a client in a loop.
        func cpuForSlowTraffic(pollMicroseconds: Int) async throws -> Duration {
            var used = Duration.zero
            try await Self.withEchoRing(pollMicroseconds: pollMicroseconds) { ring, client in
                _ = await Self.pingPong(ring, client, count: 200)   // the budget at its ceiling
                let before = ring.threadCPUTime
                _ = await Self.pingPong(ring, client, count: 50, pause: 5_000)
                used = ring.threadCPUTime - before
            }
            return used
        }
        let polling = try await cpuForSlowTraffic(pollMicroseconds: 1_000)
        let notPolling = try await cpuForSlowTraffic(pollMicroseconds: 0)
        // Polling 1 ms before each of the fifty sleeps would cost 50 ms more.
        #expect(polling < notPolling + .milliseconds(20), "\(polling) with polling, \(notPolling) without")
    }

    /// A send goes on in the kernel as the reader makes room (`MSG_WAITALL`), so the ring thread
    /// sleeps through it instead of waking, and perhaps polling, for every step.
    @Test("while a send waits for a slow reader the ring thread sleeps instead of polling")
    func sendToASlowReaderDoesNotSpin() async throws {
        try await Self.withEchoRing(pollMicroseconds: 1_000) { ring, client in
            _ = await Self.pingPong(ring, client, count: 200)   // the budget at its ceiling
            let (cpu, wall) = await onOwnThread { () -> (Duration, Duration) in
                let clock = ContinuousClock()
                let start = clock.now
                let before = ring.threadCPUTime
                var request: [UInt8] = [16]   // a reply of 16 MiB
                precondition(send(client, &request, 1, Int32(MSG_NOSIGNAL)) == 1)
                // Read it 16 KiB at a time with a pause after each: the server's small send
                // buffer drains in steps far shorter than the poll ceiling.
                let chunk = UnsafeMutableRawPointer.allocate(byteCount: 16 << 10, alignment: 16)
                defer { chunk.deallocate() }
                var received = 0
                while received < 16 << 20 {
                    let n = recv(client, chunk, 16 << 10, 0)
                    precondition(n > 0, "recv: \(errno)")
                    received += n
                    usleep(100)
                }
                return (ring.threadCPUTime - before, clock.now - start)
            }
            #expect(cpu < wall / 2, "the ring thread used \(cpu) of CPU during a \(wall) send")
        }
    }
}

/// Runs `body` on a thread of its own, so that a blocking client's timing does not depend on
/// the cooperative pool that the tests share.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        NamedThread.start(name: "sb-test-client") { continuation.resume(returning: body()) }
    }
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, without Nagle's delay.
func blockingConnect(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    precondition(connected == 0, "connect: \(errno)")
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    return fd
}
