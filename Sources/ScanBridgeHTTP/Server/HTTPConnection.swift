import HTTPTypes
import Logging
import ScanBridgeIO
import Synchronization

/// Serves one connection: reads requests in order (keep-alive, pipelining), asks the responder,
/// writes each response before reading the next request, and closes on `Connection: close`,
/// malformed input, a timeout, a write failure or server shutdown.
struct HTTPConnection {
    let stream: any ByteStream
    let reader: ConnectionReader
    let responder: any HTTPResponder
    let limits: HTTPLimits
    let errorRenderer: any HTTPErrorRenderer
    let info: ConnectionInfo
    let logger: Logger
    /// Tells the server whether the connection is between requests; answers whether to stop.
    let setIdle: @Sendable (Bool) -> Bool

    /// Body bytes a handler may leave unread and the connection still be reused.
    static let discardBudget = 1 << 20

    init(stream: any ByteStream, responder: any HTTPResponder, limits: HTTPLimits,
         errorRenderer: any HTTPErrorRenderer = PlainHTTPErrorRenderer(), info: ConnectionInfo,
         logger: Logger, setIdle: @escaping @Sendable (Bool) -> Bool) {
        self.stream = stream
        self.reader = ConnectionReader(stream: stream, limits: limits)
        self.responder = responder
        self.limits = limits
        self.errorRenderer = errorRenderer
        self.info = info
        self.logger = logger
        self.setIdle = setIdle
    }

    /// How a connection ends.
    enum Ending {
        /// The peer closed, the stream broke, or the server is shutting down: close at once.
        case close
        /// The server ended it and the client may still be sending (an error answer, a body left
        /// unread, a timeout): half-close and read on for `lingerTimeout` before closing.
        case linger
    }

    func run() async -> Ending {
        while true {
            switch await reader.nextHead() {
            case .closed:
                return .close
            case .headTimedOut:
                logger.debug("Request head not received in time; closing")
                _ = await send(errorRenderer.response(for: HTTPError(.requestTimeout, message: "The request head did not arrive in time")),
                               method: .get, version: .http1_1, keepAlive: false)
                return .linger
            case .malformed(let error):
                logger.debug("Malformed request: \(error)")
                _ = await send(errorRenderer.response(for: HTTPError(error.status, message: error.reason)),
                               method: .get, version: .http1_1, keepAlive: false)
                return .linger
            case .head(let head):
                if setIdle(false) { return .close }
                let body: RequestBody = switch head.framing {
                case .none: .empty
                case .length(let length): RequestBody(storage: .stream(reader), expectedLength: length)
                case .chunked: RequestBody(storage: .stream(reader), expectedLength: nil)
                }
                let request = Request(head: head, body: body, connection: info)
                let answered: Response?
                if head.framing == .none {
                    answered = await respondWatchingForClose(to: request)
                } else {
                    answered = await responder.respond(to: request)
                }
                // The peer went away while the handler worked: nobody is left to answer.
                guard var response = answered else { return .close }
                response = RangeRequest.apply(to: response, request: head)

                var keepAlive = head.keepAlive
                if reader.failed || reader.unansweredContinue { keepAlive = false }
                if reader.bodyPending, case .length(let length) = head.framing, length > Self.discardBudget { keepAlive = false }
                guard await send(response, method: head.method, version: head.version, keepAlive: keepAlive) else { return .linger }
                if reader.bodyPending, !(await reader.discardBody(budget: Self.discardBudget)) { return .linger }
                if setIdle(true) { return .close }
            }
        }
    }

    private enum HandlerOutcome: Sendable {
        case response(Response)
        case peerClosed
        case peerSentMore
    }

    /// How long a handler runs before the connection starts watching for the peer closing.
    /// Most handlers answer sooner, so their requests never pay for the extra receive.
    static let closeWatchDelay: Duration = .milliseconds(50)

    /// Runs the handler; when the peer closes the connection meanwhile (a client that gave up
    /// on a long-polling request such as `next-page-info`), the handler's task is cancelled so
    /// that it stops waiting and takes nothing it could no longer deliver. Nil in that case.
    /// The connection's own task waits out the delay, which the handler ends when it answers
    /// first: the watcher is a task only for the handlers that take longer.
    private func respondWatchingForClose(to request: Request) async -> Response? {
        await withTaskGroup(of: HandlerOutcome.self) { group in
            let answered = CoarseDelay.shared.makeTicket()
            group.addTask {
                let response = await self.responder.respond(to: request)
                CoarseDelay.shared.end(answered)
                return .response(response)
            }
            if await CoarseDelay.shared.wait(Self.closeWatchDelay, endedBy: answered) {
                group.addTask { await self.reader.watchForPeerClose() ? .peerClosed : .peerSentMore }
            }
            var result: Response?
            var peerClosed = false
            while let outcome = await group.next() {
                switch outcome {
                case .response(let response):
                    result = response
                    group.cancelAll()
                case .peerClosed:
                    logger.debug("Client closed the connection while its request was handled")
                    peerClosed = true
                    group.cancelAll()
                case .peerSentMore:
                    continue
                }
            }
            return peerClosed ? nil : result
        }
    }

    /// Writes `response`; false when the connection must close afterwards (or already broke).
    private func send(_ response: Response, method: HTTPRequest.Method, version: HTTPVersion, keepAlive requested: Bool) async -> Bool {
        let framing = ResponseSerializer.framing(for: response, method: method, version: version)
        let keepAlive = requested && framing != .untilClose
        let head = ResponseSerializer.head(response, framing: framing, keepAlive: keepAlive, version: version)
        let isHead = method == .head
        do throws(IOError) {
            switch response.body.storage {
            case .bytes(let bytes):
                if isHead || bytes.isEmpty || framing == .none {
                    try await stream.send(head, timeout: limits.sendTimeout)
                } else if bytes.count <= 64 * 1024 {
                    try await stream.send(head + bytes, timeout: limits.sendTimeout)
                } else {
                    // The body is sent from its own array, not copied behind the head; the head
                    // waits for it in the socket, so that both leave together.
                    try await stream.send(head, moreToFollow: true, timeout: limits.sendTimeout)
                    try await stream.send(bytes, timeout: limits.sendTimeout)
                }
                return keepAlive
            case .stream(_, let produce):
                if isHead || framing == .none {
                    try await stream.send(head, timeout: limits.sendTimeout)
                    return keepAlive
                }
                return await sendStream(head: head, framing: framing, produce: produce, keepAlive: keepAlive, version: version, method: method)
            }
        } catch {
            logger.debug("Sending the response failed: \(error)")
            return false
        }
    }

    private func sendStream(head: [UInt8], framing: ResponseFraming, produce: @Sendable (ResponseBodyWriter) async throws -> Void,
                            keepAlive: Bool, version: HTTPVersion, method: HTTPRequest.Method) async -> Bool {
        let sink = StreamingSink(stream: stream, head: head, framing: framing, timeout: limits.sendTimeout)
        do {
            try await produce(ResponseBodyWriter(sink: sink))
        } catch {
            if !sink.headSent {
                // Nothing went out yet: the error can still be the response.
                logger.debug("Streamed response failed before its first byte: \(error)")
                return await send(errorRenderer.response(for: error), method: method, version: version, keepAlive: false) && false
            }
            logger.debug("Streamed response ended early: \(error)")
            return false
        }
        do throws(IOError) {
            try await sink.finish()
        } catch {
            return false
        }
        if case .contentLength(let length) = framing, sink.written != length {
            logger.warning("Streamed body wrote \(sink.written) bytes of a declared \(length); closing")
            return false
        }
        return keepAlive
    }
}

/// Frames streamed body writes: sends the head with the first piece, chunk-encodes when
/// chunked, and ends the body.
final class StreamingSink: ResponseBodySink {
    private struct State {
        var headSent = false
        var written = 0
        var failed = false
    }

    let stream: any ByteStream
    let head: [UInt8]
    let framing: ResponseFraming
    let timeout: Duration
    private let state = Mutex(State())

    init(stream: any ByteStream, head: [UInt8], framing: ResponseFraming, timeout: Duration) {
        self.stream = stream
        self.head = head
        self.framing = framing
        self.timeout = timeout
    }

    var headSent: Bool { state.withLock { $0.headSent } }
    var written: Int { state.withLock { $0.written } }

    func writeBody(_ bytes: [UInt8]) async throws(IOError) {
        let (prefix, failed) = state.withLock { state -> ([UInt8], Bool) in
            defer { state.headSent = true; state.written += bytes.count }
            return (state.headSent ? [] : head, state.failed)
        }
        if failed { throw IOError(.closed, operation: "write response body") }
        do {
            if bytes.count > 64 * 1024 {
                // Large pieces (a PDF page's image) go out as they are, not copied into a frame.
                let (open, close) = framing == .chunked ? ResponseSerializer.chunkFrame(bytes.count) : ([], [])
                if !prefix.isEmpty || !open.isEmpty { try await stream.send(prefix + open, moreToFollow: true, timeout: timeout) }
                try await stream.send(bytes, timeout: timeout)
                if !close.isEmpty { try await stream.send(close, timeout: timeout) }
            } else {
                try await stream.send(prefix + (framing == .chunked ? ResponseSerializer.chunk(bytes) : bytes), timeout: timeout)
            }
        } catch {
            state.withLock { $0.failed = true }
            throw error
        }
    }

    func finish() async throws(IOError) {
        let prefix = state.withLock { state -> [UInt8] in
            defer { state.headSent = true }
            return state.headSent ? [] : head
        }
        let tail = framing == .chunked ? ResponseSerializer.lastChunk : []
        if !prefix.isEmpty || !tail.isEmpty { try await stream.send(prefix + tail, timeout: timeout) }
    }
}
