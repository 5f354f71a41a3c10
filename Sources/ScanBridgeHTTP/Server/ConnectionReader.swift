import ScanBridgeIO
import Synchronization

/// The reading half of one connection: the parser, fed from the stream, with the timeouts of
/// `HTTPLimits`. The connection task reads heads through it; the handler reads the body through
/// it (as the `RequestBodySource` of `Request.body`), within the same request, never at once.
final class ConnectionReader: RequestBodySource {
    enum HeadResult {
        case head(HTTPRequestHead)
        /// The peer closed, the connection was closed locally, or it idled out between requests.
        case closed
        /// The head did not arrive within `headerReadTimeout`: answer 408 and close.
        case headTimedOut
        case malformed(HTTPParserError)
    }

    private struct State {
        var parser: HTTPRequestParser
        /// The current request's body has not been read to its end.
        var bodyPending = false
        /// `Expect: 100-continue` not yet answered.
        var continuePending = false
        var continueSent = false
        /// The body failed (malformed, too large, stalled): the connection must close.
        var failed = false
        /// Of the current body: bytes received, and time spent waiting for them.
        var bodyReceived = 0
        var bodyWaited: Duration = .zero
    }

    let stream: any ByteStream
    let limits: HTTPLimits
    private let state: Mutex<State>
    /// Receive sizes: heads are small (and engines allocate the whole size per receive), bodies
    /// can be large.
    private static let headReadSize = 16 * 1024
    private static let bodyReadSize = 64 * 1024

    init(stream: any ByteStream, limits: HTTPLimits) {
        self.stream = stream
        self.limits = limits
        self.state = Mutex(State(parser: HTTPRequestParser(limits: limits)))
    }

    var bodyPending: Bool { state.withLock { $0.bodyPending } }
    var failed: Bool { state.withLock { $0.failed } }
    /// `Expect: 100-continue` was sent and the body was not asked for: the client may never send it.
    var unansweredContinue: Bool { state.withLock { $0.continuePending && !$0.continueSent } }

    /// Waits for the next request head: `idleTimeout` for its first byte, then
    /// `headerReadTimeout` from that first byte for the whole head. The deadline is fixed when
    /// the head starts: bytes trickling in do not move it.
    func nextHead() async -> HeadResult {
        var deadline: ContinuousClock.Instant?
        while true {
            let (event, readingHead) = state.withLock { state in (state.parser.next(), state.parser.isReadingHead) }
            switch event {
            case .head(let head):
                state.withLock { state in
                    state.bodyPending = head.framing != .none
                    state.bodyReceived = 0
                    state.bodyWaited = .zero
                    state.continuePending = head.expectsContinue
                    state.continueSent = false
                    if head.framing == .none { _ = state.parser.next() }   // consume the `.end`
                }
                return .head(head)
            case .error(let error):
                return .malformed(error)
            case .end, .body:
                continue   // leftovers of a request whose body was drained
            case .needMoreData:
                // A head already started (pipelined bytes left over) is timed from now.
                if readingHead, deadline == nil { deadline = ContinuousClock.now + limits.headerReadTimeout }
                let timeout: Duration
                if let deadline {
                    timeout = ContinuousClock.now.duration(to: deadline)
                    if timeout <= .zero { return .headTimedOut }
                } else {
                    timeout = limits.idleTimeout
                }
                let bytes: [UInt8]
                do {
                    bytes = try await stream.receive(maxLength: Self.headReadSize, timeout: timeout)
                } catch {
                    return error.kind == .timedOut && deadline != nil ? .headTimedOut : .closed
                }
                guard !bytes.isEmpty else { return .closed }
                if deadline == nil { deadline = ContinuousClock.now + limits.headerReadTimeout }
                state.withLock { $0.parser.append(bytes) }
            }
        }
    }

    /// While a handler works on a request that has no body: waits until the peer closes (true)
    /// or sends more, e.g. a pipelined request, which is kept for `nextHead` (false).
    /// Cancelling it is safe: bytes that a cancelled receive still returns are kept as well.
    func watchForPeerClose() async -> Bool {
        do throws(IOError) {
            let bytes = try await stream.receive(maxLength: Self.headReadSize, timeout: nil)
            guard !bytes.isEmpty else { return true }
            state.withLock { $0.parser.append(bytes) }
            return false
        } catch {
            return error.kind == .connectionReset || error.kind == .closed || error.kind == .system
        }
    }

    func nextBodyChunk() async throws(HTTPError) -> [UInt8]? {
        let sendContinue = state.withLock { state in
            guard state.continuePending, !state.continueSent else { return false }
            state.continueSent = true
            return true
        }
        if sendContinue {
            do {
                try await stream.send(ResponseSerializer.continueResponse, timeout: limits.sendTimeout)
            } catch {
                state.withLock { $0.failed = true }
                throw HTTPError(.badRequest, message: "Connection lost before the body: \(error)")
            }
        }
        while true {
            let event: HTTPRequestParser.Event = state.withLock { state in
                guard state.bodyPending else { return .end }
                let event = state.parser.next()
                switch event {
                case .end: state.bodyPending = false
                case .error: state.failed = true; state.bodyPending = false
                default: break
                }
                return event
            }
            switch event {
            case .body(let bytes): return bytes
            case .end: return nil
            case .error(let error): throw HTTPError(error.status, message: error.reason)
            case .head: return nil   // unreachable while bodyPending
            case .needMoreData:
                let allowance = bodyWaitAllowance()
                if allowance <= .zero {
                    state.withLock { $0.failed = true; $0.bodyPending = false }
                    throw HTTPError(.requestTimeout, message: "The request body arrives too slowly")
                }
                let bytes: [UInt8]
                let started = ContinuousClock.now
                do {
                    bytes = try await stream.receive(maxLength: Self.bodyReadSize, timeout: min(limits.idleTimeout, allowance))
                } catch {
                    state.withLock { $0.failed = true; $0.bodyPending = false }
                    if error.kind == .timedOut { throw HTTPError(.requestTimeout, message: "The request body stalled or arrives too slowly") }
                    throw HTTPError(.badRequest, message: "Connection lost in the request body: \(error)")
                }
                let waited = ContinuousClock.now - started
                state.withLock { state in
                    state.bodyWaited += waited
                    state.bodyReceived += bytes.count
                }
                guard !bytes.isEmpty else {
                    state.withLock { $0.failed = true; $0.bodyPending = false }
                    throw HTTPError(.badRequest, message: "Connection closed in the request body")
                }
                state.withLock { $0.parser.append(bytes) }
            }
        }
    }

    /// How much longer this body may keep the connection waiting for its bytes: `minBodyRate`
    /// asks that the time spent waiting for the client stay within `headerReadTimeout` plus the
    /// time the bytes received so far would take at that rate. Only waiting counts, so a handler
    /// that reads slowly itself never makes its client look slow. Unbounded when the rate is 0.
    private func bodyWaitAllowance() -> Duration {
        guard limits.minBodyRate > 0 else { return limits.idleTimeout }
        let (received, waited) = state.withLock { ($0.bodyReceived, $0.bodyWaited) }
        return limits.headerReadTimeout + .seconds(Double(received) / Double(limits.minBodyRate)) - waited
    }

    /// Reads and discards what is left of the body, up to `budget` bytes. False when the body
    /// is larger than that or fails: then the connection closes instead.
    func discardBody(budget: Int) async -> Bool {
        var discarded = 0
        while true {
            do {
                guard let chunk = try await nextBodyChunk() else { return true }
                discarded += chunk.count
                if discarded > budget { return false }
            } catch {
                return false
            }
        }
    }
}
