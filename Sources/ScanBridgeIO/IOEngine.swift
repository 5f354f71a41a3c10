// The entry point of the socket layer: pick an engine (io_uring, or epoll when the kernel or a
// seccomp filter refuses io_uring), then listen and connect through it.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLibURing
import Logging
import Synchronization

/// The engine asked for in the configuration (`IOEngine = auto | io_uring | epoll`).
public enum IOEnginePreference: String, Sendable, CaseIterable {
    /// io_uring when the kernel allows it, epoll otherwise.
    case auto
    case ioUring = "io_uring"
    case epoll

    /// Parses a configuration value (case-insensitive; "uring" and "iouring" also accepted).
    public init?(configValue: String) {
        switch configValue.lowercased().trimmingWhitespace() {
        case "auto", "": self = .auto
        case "io_uring", "iouring", "uring", "io-uring": self = .ioUring
        case "epoll": self = .epoll
        default: return nil
        }
    }
}

/// The result of probing io_uring with `io_uring_queue_init`.
public enum IOURingProbe: Sendable, Equatable {
    case available
    /// The call failed with this errno (EPERM/EACCES: seccomp or kernel.io_uring_disabled;
    /// ENOSYS: kernel without io_uring; others: e.g. ENOMEM from locked-memory limits).
    case refused(errno: Int32)
}

/// What `IOEngine.start` decided, and why.
public struct IOEngineDecision: Sendable, Equatable {
    /// The engine to run, or nil when the preference cannot be met (io_uring demanded but refused).
    public var kind: IOEngineKind?
    /// A sentence for the log and for `GET /api/server`.
    public var reason: String
}

/// One running engine: long-lived loop threads serving every socket created through it (epoll:
/// one; io_uring: one ring and thread a core).
///
/// Engines are shared: `start` returns the same engine for the same kind every time, so tests
/// and servers can start one freely (the loop thread never exits, as io_uring requires).
public final class IOEngine: Sendable {
    enum Backend: Sendable {
        case epoll(EpollLoop)
        case ioUring(URingRings)
    }

    /// The engine actually running.
    public let kind: IOEngineKind
    /// Why this engine runs (e.g. "io_uring refused by the kernel (EPERM): falling back to epoll").
    public let reason: String
    let backend: Backend

    private init(kind: IOEngineKind, reason: String, backend: Backend) {
        self.kind = kind
        self.reason = reason
        self.backend = backend
    }

    private static let shared = Mutex<[IOEngineKind: Backend]>([:])

    /// Starts (or returns the already running) engine for `preference`, logging which engine
    /// runs and why. Throws when io_uring is demanded but refused, or a loop can't be set up.
    public static func start(
        _ preference: IOEnginePreference = .auto,
        logger: Logger = Logger(label: "scanbridge.io")
    ) throws(IOError) -> IOEngine {
        let probe: IOURingProbe = preference == .epoll ? .available : probeIOURing()
        let decision = decide(preference: preference, probe: probe)
        guard let kind = decision.kind else {
            logger.error("I/O engine: \(decision.reason)")
            let code: Int32 = if case .refused(let errno) = probe { errno } else { 0 }
            throw IOError(.system, operation: "io_uring_queue_init", errno: code)
        }
        do {
            let backend = try backend(for: kind)
            var reason = decision.reason
            if case .ioUring(let rings) = backend { reason += "; \(rings.setupDescription)" }
            logger.info("I/O engine: \(kind.rawValue) (\(reason))")
            return IOEngine(kind: kind, reason: reason, backend: backend)
        } catch where kind == .ioUring && preference == .auto {
            // The probe passed but the engine's own ring could not be set up: still fall back.
            let reason = "auto: io_uring engine failed to start (\(error)), falling back to epoll"
            logger.warning("I/O engine: epoll (\(reason))")
            return IOEngine(kind: .epoll, reason: reason, backend: try backend(for: .epoll))
        }
    }

    private static func backend(for kind: IOEngineKind) throws(IOError) -> Backend {
        try shared.withLock { (engines) throws(IOError) -> Backend in
            if let backend = engines[kind] { return backend }
            let backend: Backend = switch kind {
            case .epoll: .epoll(try EpollLoop())
            case .ioUring: .ioUring(try URingRings())
            }
            engines[kind] = backend
            return backend
        }
    }

    /// The decision `start` makes for a preference and a probe result (pure; tested directly,
    /// since a real refusal needs a process under a seccomp filter or kernel.io_uring_disabled).
    public static func decide(preference: IOEnginePreference, probe: IOURingProbe) -> IOEngineDecision {
        switch (preference, probe) {
        case (.epoll, _):
            return IOEngineDecision(kind: .epoll, reason: "epoll requested by configuration")
        case (.ioUring, .available):
            return IOEngineDecision(kind: .ioUring, reason: "io_uring requested by configuration")
        case (.ioUring, .refused(let code)):
            return IOEngineDecision(kind: nil, reason: "io_uring requested but refused: \(describe(code))")
        case (.auto, .available):
            return IOEngineDecision(kind: .ioUring, reason: "auto: io_uring available")
        case (.auto, .refused(let code)):
            return IOEngineDecision(kind: .epoll, reason: "auto: io_uring refused (\(describe(code))), falling back to epoll")
        }
    }

    private static func describe(_ code: Int32) -> String {
        let name = switch code {
        case EPERM: "EPERM, a seccomp filter or kernel.io_uring_disabled"
        case EACCES: "EACCES, kernel.io_uring_disabled or a security module"
        case ENOSYS: "ENOSYS, kernel without io_uring"
        case ENOMEM: "ENOMEM, locked-memory limit"
        default: "errno \(code)"
        }
        return "\(name): \(String(cString: strerror(code)))"
    }

    /// Tries to set up (and tears down) a small io_uring: the same call the engine makes.
    public static func probeIOURing() -> IOURingProbe {
        var ring = io_uring()
        let rc = io_uring_queue_init(8, &ring, 0)
        if rc < 0 { return .refused(errno: -rc) }
        // The engine needs multishot accept and linked timeouts: check the kernel knows them.
        let supported: Bool
        if let probe = io_uring_get_probe_ring(&ring) {
            supported = io_uring_opcode_supported(probe, Int32(IORING_OP_ACCEPT.rawValue)) != 0
                && io_uring_opcode_supported(probe, Int32(IORING_OP_LINK_TIMEOUT.rawValue)) != 0
                && io_uring_opcode_supported(probe, Int32(IORING_OP_ASYNC_CANCEL.rawValue)) != 0
                && io_uring_opcode_supported(probe, Int32(IORING_OP_SEND.rawValue)) != 0
                && io_uring_opcode_supported(probe, Int32(IORING_OP_RECV.rawValue)) != 0
            io_uring_free_probe(probe)
        } else {
            supported = false
        }
        io_uring_queue_exit(&ring)
        return supported ? .available : .refused(errno: ENOSYS)
    }

    /// A listening TCP socket on an IPv4 or IPv6 literal address (port 0: an ephemeral port),
    /// with SO_REUSEADDR.
    public func listen(address: String, port: Int, backlog: Int32 = 511) throws(IOError) -> any StreamListener {
        let socketAddress = try SocketAddress(address: address, port: port)
        switch backend {
        case .epoll(let loop): return try loop.listen(socketAddress, backlog: backlog)
        case .ioUring(let rings): return try rings.listen(socketAddress, backlog: backlog)
        }
    }

    /// A TCP connection to `address`:`port`; `timeout` bounds the handshake.
    public func connect(address: String, port: Int, timeout: Duration? = nil) async throws(IOError) -> any ByteStream {
        let socketAddress = try SocketAddress(address: address, port: port)
        switch backend {
        case .epoll(let loop): return try await loop.connect(socketAddress, timeout: timeout)
        case .ioUring(let rings): return try await rings.connect(socketAddress, timeout: timeout)
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
