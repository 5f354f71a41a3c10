import Logging
import ScanBridgeIO
import Synchronization

/// An HTTP/1.1 server on one listener: accepts connections (up to `maxConnections`; at the cap
/// the connection idle the longest makes room), serves each on its own task, and shuts down
/// gracefully (stop accepting, close idle connections, let busy ones finish their response,
/// then close whatever is left after a grace period).
///
/// ```swift
/// let engine = try IOEngine.start(.auto)
/// let server = HTTPServer(listener: try engine.listen(address: "127.0.0.1", port: 0), responder: router)
/// let running = Task { await server.run() }
/// …
/// await server.shutdown()
/// await running.value
/// ```
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var limits: HTTPLimits
        /// TLS for HTTPS listeners; nil for plain HTTP.
        public var tls: TLSContext?
        /// Renders the answers the server makes itself (malformed requests, timeouts, the
        /// connection limit) and errors of streamed responses before their first byte.
        public var errorRenderer: any HTTPErrorRenderer

        public init(limits: HTTPLimits = HTTPLimits(), tls: TLSContext? = nil,
                    errorRenderer: any HTTPErrorRenderer = PlainHTTPErrorRenderer()) {
            self.limits = limits
            self.tls = tls
            self.errorRenderer = errorRenderer
        }
    }

    private struct Entry {
        var stream: any ByteStream
        /// Between requests: waiting for, or still receiving, the next request head.
        var idle: Bool
        /// When the connection last became idle (accepted, or its last response sent).
        var idleSince: ContinuousClock.Instant
    }

    private struct State {
        var connections: [Int: Entry] = [:]
        var nextID = 0
        var draining = false
        var finished = false
        /// Refused connections lingering after their 503.
        var lingeringRefusals = 0
    }

    public let listener: any StreamListener
    public let responder: any HTTPResponder
    public let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())
    private let finished = Mutex<[CheckedContinuation<Void, Never>]>([])

    public init(listener: any StreamListener, responder: any HTTPResponder,
                configuration: Configuration = Configuration(), logger: Logger = Logger(label: "scanbridge.http")) {
        self.listener = listener
        self.responder = responder
        self.configuration = configuration
        self.logger = logger
    }

    /// The bound port (after binding port 0, the one the kernel chose).
    public var port: Int { listener.port }

    /// Connections currently open.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Accepts and serves connections until `shutdown()`; returns when every connection ended.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while true {
                let stream: any ByteStream
                do throws(IOError) {
                    stream = try await listener.accept()
                } catch {
                    if error.kind == .closed || error.kind == .cancelled || state.withLock({ $0.draining }) { break }
                    // EMFILE/ENFILE and the like: back off briefly instead of spinning.
                    logger.warning("accept failed: \(error)")
                    try? await Task.sleep(for: .milliseconds(50))
                    continue
                }
                let (admitted, evicted) = admit(stream)
                if let evicted {
                    logger.debug("Connection limit (\(configuration.limits.maxConnections)) reached; closing the longest idle connection")
                    group.addTask { await evicted.close() }
                }
                guard let id = admitted else {
                    group.addTask { await self.refuse(stream) }
                    continue
                }
                // On the stream's own I/O thread when its engine has one: no hop per receive or send.
                group.addTask(executorPreference: stream.preferredExecutor) { await self.serve(stream, id: id) }
            }
        }
        let waiters = finished.withLock { waiters in
            defer { waiters.removeAll() }
            state.withLock { $0.finished = true }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Registers a new connection. At `maxConnections` the connection that has been idle the
    /// longest is dropped from the table to make room (returned, for the caller to close): an
    /// idle keep-alive connection or a request head that is slow to arrive must not keep a new
    /// client out. Nil id when every connection is busy with a request, or when shutting down.
    private func admit(_ stream: any ByteStream) -> (id: Int?, evicted: (any ByteStream)?) {
        state.withLock { state in
            guard !state.draining else { return (nil, nil) }
            var evicted: (any ByteStream)?
            if state.connections.count >= configuration.limits.maxConnections {
                let oldest = state.connections.filter(\.value.idle).min { $0.value.idleSince < $1.value.idleSince }
                guard let oldest else { return (nil, nil) }
                state.connections.removeValue(forKey: oldest.key)
                evicted = oldest.value.stream
            }
            let id = state.nextID
            state.nextID += 1
            state.connections[id] = Entry(stream: stream, idle: true, idleSince: .now)
            return (id, evicted)
        }
    }

    /// Stops accepting, closes idle connections at once and the rest after `gracePeriod`, and
    /// waits until `run()` has returned.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        let idle = state.withLock { state -> [any ByteStream] in
            state.draining = true
            return state.connections.values.filter(\.idle).map(\.stream)
        }
        await listener.close()
        for stream in idle { await stream.close() }
        let deadline = ContinuousClock.now + gracePeriod
        while connectionCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let rest = state.withLock { $0.connections.values.map(\.stream) }
        for stream in rest { await stream.close() }
        await withCheckedContinuation { continuation in
            let done = finished.withLock { waiters in
                if state.withLock({ $0.finished }) { return true }
                waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func serve(_ raw: any ByteStream, id: Int) async {
        var stream = raw
        if let tls = configuration.tls {
            let secured = TLSStream(wrapping: raw, context: tls)
            state.withLock { $0.connections[id]?.stream = secured }
            do {
                try await secured.handshake(timeout: configuration.limits.headerReadTimeout)
            } catch {
                logger.debug("TLS handshake failed: \(error)")
                await secured.close()
                _ = state.withLock { $0.connections.removeValue(forKey: id) }
                return
            }
            stream = secured
        }
        let info = ConnectionInfo(isSecure: configuration.tls != nil, localPort: listener.port, remoteAddress: stream.peerAddress)
        let connection = HTTPConnection(stream: stream, responder: responder, limits: configuration.limits,
                                        errorRenderer: configuration.errorRenderer, info: info,
                                        logger: logger) { [weak self] idle in
            guard let self else { return true }
            return self.state.withLock { state in
                state.connections[id]?.idle = idle
                if idle { state.connections[id]?.idleSince = .now }
                return state.draining && idle
            }
        }
        switch await connection.run() {
        case .close: break
        case .linger: await linger(stream, for: configuration.limits.lingerTimeout)
        }
        await stream.close()
        _ = state.withLock { $0.connections.removeValue(forKey: id) }
    }

    /// Half-closes and reads what the client still sends, discarding it, until it closes or
    /// `duration` passes. Closing a socket with unread input makes the kernel answer with a
    /// reset, and a reset can destroy the last answer (a 413 while the client is still sending
    /// its body) before the client has read it.
    private func linger(_ stream: any ByteStream, for duration: Duration) async {
        await stream.shutdownWrite()
        let deadline = ContinuousClock.now + duration
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return }
            do throws(IOError) {
                if try await stream.receive(maxLength: 64 * 1024, timeout: remaining).isEmpty { return }
            } catch {
                return
            }
        }
    }

    /// Refused connections that may linger at once; more are closed at once. Refused connections
    /// count against no limit, so a flood of them must not hold descriptors for long.
    static let maxLingeringRefusals = 64

    /// Over `maxConnections` (or shutting down): a 503, then close, lingering (up to one second,
    /// while few others do) so that a request already sent does not turn the 503 into a reset.
    private func refuse(_ stream: any ByteStream) async {
        logger.warning("Connection limit (\(configuration.limits.maxConnections)) reached; refusing a connection")
        let response = configuration.errorRenderer.response(for: HTTPError(.serviceUnavailable, message: "Too many connections; try again later",
                                                                           headerFields: [.retryAfter: "1"]))
        if configuration.tls == nil {
            let head = ResponseSerializer.head(response, framing: .contentLength(response.body.bytes?.count ?? 0),
                                               keepAlive: false, version: .http1_1)
            try? await stream.send(head + (response.body.bytes ?? []), timeout: .seconds(1))
            let lingers = state.withLock { state in
                guard state.lingeringRefusals < Self.maxLingeringRefusals else { return false }
                state.lingeringRefusals += 1
                return true
            }
            if lingers {
                await linger(stream, for: min(configuration.limits.lingerTimeout, .seconds(1)))
                state.withLock { $0.lingeringRefusals -= 1 }
            }
        }
        await stream.close()
    }
}
