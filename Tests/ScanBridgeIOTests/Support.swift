#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ScanBridgeIO

/// The engines the suite runs on: both, unless this machine refuses io_uring (then only epoll
/// runs, and the `ioUringRunsHere` test fails unless `epollOnlyAccepted`).
let engineKinds: [IOEngineKind] = {
    switch IOEngine.probeIOURing() {
    case .available: return [.ioUring, .epoll]
    default: return [.epoll]
    }
}()

/// Whether this run accepts a machine that refuses io_uring, testing the epoll engine alone:
/// only when it says so (`SCANBRIDGE_ALLOW_EPOLL_ONLY=1`, which CI does not set). Otherwise the
/// io_uring half not running is a failure, never a silent skip.
let epollOnlyAccepted = getenv("SCANBRIDGE_ALLOW_EPOLL_ONLY").map { String(cString: $0) } == "1"

func engine(_ kind: IOEngineKind) throws -> IOEngine {
    let engine = try IOEngine.start(kind == .epoll ? .epoll : .ioUring)
    #expect(engine.kind == kind)
    return engine
}

/// Receives exactly `count` bytes (or fewer if the peer closes first).
func receiveExactly(_ stream: any ByteStream, _ count: Int, chunk: Int = 65536, timeout: Duration? = patient) async throws -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(count)
    while result.count < count {
        let part = try await stream.receive(maxLength: min(chunk, count - result.count), timeout: timeout)
        if part.isEmpty { break }
        result += part
    }
    return result
}

/// Receives until the peer closes.
func receiveAll(_ stream: any ByteStream, timeout: Duration? = patient) async throws -> [UInt8] {
    var result: [UInt8] = []
    while true {
        let part = try await stream.receive(maxLength: 65536, timeout: timeout)
        if part.isEmpty { return result }
        result += part
    }
}

/// Deterministic pseudo-random bytes.
func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            buffer[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        initialized = count
    }
}

/// An echo server on 127.0.0.1 for the duration of `body`; each connection is served by a task
/// that prefers the stream's executor, as the HTTP server's are (the clients run on the pool).
func withEchoServer<R>(_ engine: IOEngine, address: String = "127.0.0.1", _ body: (Int) async throws -> R) async throws -> R {
    let listener = try engine.listen(address: address, port: 0)
    let server = Task {
        await withTaskGroup(of: Void.self) { group in
            while let stream = try? await listener.accept() {
                group.addTask(executorPreference: stream.preferredExecutor) {
                    while let bytes = try? await stream.receive(maxLength: 65536, timeout: patient), !bytes.isEmpty {
                        do { try await stream.send(bytes, timeout: patient) } catch { break }
                    }
                    await stream.close()
                }
            }
        }
    }
    defer { server.cancel() }
    let result = try await body(listener.port)
    await listener.close()
    await server.value
    return result
}

/// The socket inode behind a descriptor (`/proc/self/fd/N` → `socket:[inode]`), nil when the
/// descriptor is closed. Comparing inodes tells whether *this* socket is still open even if
/// the number was reused by a test running in parallel.
func socketIdentity(_ fd: Int32) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = readlink("/proc/self/fd/\(fd)", &buffer, 255)
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func descriptor(of stream: any ByteStream) -> Int32 {
    (stream as! any SocketBacked).fileDescriptor
}

func descriptor(of listener: any StreamListener) -> Int32 {
    (listener as! any SocketBacked).fileDescriptor
}

/// Makes the next close() of `stream` send a TCP reset (SO_LINGER with a zero timeout).
func armReset(_ stream: any ByteStream) {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    let rc = setsockopt(descriptor(of: stream), SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    #expect(rc == 0)
}

extension IOError {
    var isKind: (IOError.Kind) -> Bool { { self.kind == $0 } }
}

/// Runs `body` expecting an IOError of `kind`.
func expectIOError<T>(_ kind: IOError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async {
    do {
        _ = try await body()
        Issue.record("expected IOError(\(kind)), got success", sourceLocation: sourceLocation)
    } catch let error as IOError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected IOError(\(kind)), got \(error)", sourceLocation: sourceLocation)
    }
}

/// The timeout for operations that must succeed: long, because the test process shares two
/// cores with CPU-heavy suites and other builds, which can delay a task's resumption by
/// seconds; a real hang still fails (and the suites have a one-minute limit).
let patient: Duration = .seconds(30)
