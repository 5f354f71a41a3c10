import COpenSSL
import ScanBridgeIO
import Synchronization

/// TLS over another `ByteStream`, through OpenSSL memory BIOs: ciphertext from the inner
/// stream is written into the read BIO, OpenSSL's output is taken from the write BIO and sent.
///
/// Ownership: the `SSL` owns both BIOs (`SSL_set_bio`) and this object owns the `SSL`, freed in
/// `deinit`. The inner stream is owned too: `close()` sends close_notify, then closes it;
/// `close()` is idempotent. All OpenSSL calls happen under one lock (an `SSL` is not
/// thread-safe); socket I/O happens outside it. One reader and one writer may run at once, as
/// the `ByteStream` contract allows.
public final class TLSStream: ByteStream {
    private struct Connection: ~Copyable {
        let ssl: OpaquePointer
        let readBIO: OpaquePointer
        let writeBIO: OpaquePointer
        var closed = false
        /// close_notify was sent (`shutdownWrite` or `close`).
        var notified = false
        /// Ciphertext taken from the write BIO and not yet sent.
        var outbound: [UInt8] = []
        /// Someone is sending `outbound` right now; others leave their bytes to them.
        var flushing = false
    }

    private enum Step {
        case done
        case data([UInt8])
        case needInput
        case endOfStream
        case failed(IOError)
    }

    private let inner: any ByteStream
    private let state: Mutex<Connection>
    private static let receiveSize = 17 * 1024

    public var peerAddress: String? { inner.peerAddress }

    public init(wrapping inner: any ByteStream, context: TLSContext) {
        self.inner = inner
        let ssl = SSL_new(context.context)!
        let readBIO = BIO_new(BIO_s_mem())!, writeBIO = BIO_new(BIO_s_mem())!
        // An empty read BIO means "no data yet" (retry), not end of file.
        sb_bio_set_mem_eof_return(readBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_accept_state(ssl)
        state = Mutex(Connection(ssl: ssl, readBIO: readBIO, writeBIO: writeBIO))
    }

    deinit {
        state.withLock { SSL_free($0.ssl) }
    }

    /// Runs the server handshake to its end, within `timeout`.
    public func handshake(timeout: Duration) async throws(IOError) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let step = state.withLock { connection -> Step in
                guard !connection.closed else { return .failed(IOError(.closed, operation: "TLS handshake")) }
                ERR_clear_error()
                let result = SSL_do_handshake(connection.ssl)
                let step = result == 1 ? Step.done : Self.classify(connection.ssl, result, operation: "TLS handshake")
                Self.collectOutput(&connection)
                return step
            }
            try await flush()
            switch step {
            case .done: return
            case .needInput:
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { throw IOError(.timedOut, operation: "TLS handshake") }
                guard try await feed(timeout: remaining) else { throw IOError(.connectionReset, operation: "TLS handshake") }
            case .endOfStream: throw IOError(.connectionReset, operation: "TLS handshake")
            case .failed(let error): throw error
            case .data: return
            }
        }
    }

    public func receive(maxLength: Int, timeout: Duration?) async throws(IOError) -> [UInt8] {
        while true {
            let step = state.withLock { connection -> Step in
                guard !connection.closed else { return .failed(IOError(.closed, operation: "TLS receive")) }
                ERR_clear_error()
                var bytes = [UInt8](repeating: 0, count: max(1, min(maxLength, 64 * 1024)))
                let count = bytes.withUnsafeMutableBytes { SSL_read(connection.ssl, $0.baseAddress, Int32($0.count)) }
                let step: Step
                if count > 0 {
                    bytes.removeSubrange(Int(count)...)
                    step = .data(bytes)
                } else {
                    step = Self.classify(connection.ssl, count, operation: "TLS receive")
                }
                Self.collectOutput(&connection)
                return step
            }
            try await flush()
            switch step {
            case .data(let bytes): return bytes
            case .endOfStream, .done: return []
            case .failed(let error): throw error
            case .needInput:
                guard try await feed(timeout: timeout) else { return [] }
            }
        }
    }

    public func send(_ bytes: [UInt8], timeout: Duration?) async throws(IOError) {
        guard !bytes.isEmpty else { return }
        let failure = state.withLock { connection -> IOError? in
            guard !connection.closed else { return IOError(.closed, operation: "TLS send") }
            ERR_clear_error()
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { raw in
                    SSL_write(connection.ssl, raw.baseAddress! + offset, Int32(min(raw.count - offset, Int(Int32.max))))
                }
                guard written > 0 else {
                    // Memory BIOs always take output, and renegotiation is off: this is a real failure.
                    if case .failed(let error) = Self.classify(connection.ssl, written, operation: "TLS send") { return error }
                    return IOError(.system, operation: "TLS send")
                }
                offset += Int(written)
            }
            Self.collectOutput(&connection)
            return nil
        }
        if let failure { throw failure }
        try await flush(timeout: timeout)
    }

    /// Sends close_notify (best effort) and half-closes the inner stream; receiving goes on
    /// until the peer's close_notify or end of stream.
    public func shutdownWrite() async {
        let open = state.withLock { connection -> Bool in
            guard !connection.closed else { return false }
            Self.notify(&connection)
            return true
        }
        guard open else { return }
        try? await flush(timeout: .milliseconds(200))
        await inner.shutdownWrite()
    }

    /// Sends close_notify (best effort), closes the inner stream. Idempotent.
    public func close() async {
        let first = state.withLock { connection -> Bool in
            guard !connection.closed else { return false }
            connection.closed = true
            Self.notify(&connection)
            return true
        }
        guard first else { return }
        try? await flush(timeout: .milliseconds(200))
        await inner.close()
    }

    // MARK: - Plumbing

    /// Reads ciphertext from the inner stream into the read BIO; false at end of stream.
    private func feed(timeout: Duration?) async throws(IOError) -> Bool {
        let bytes = try await inner.receive(maxLength: Self.receiveSize, timeout: timeout)
        guard !bytes.isEmpty else { return false }
        state.withLock { connection in
            _ = bytes.withUnsafeBytes { BIO_write(connection.readBIO, $0.baseAddress, Int32($0.count)) }
        }
        return true
    }

    /// Sends everything OpenSSL produced, in order. When another task is already sending, it
    /// picks our bytes up too (it loops until nothing is left).
    private func flush(timeout: Duration? = nil) async throws(IOError) {
        while true {
            let batch = state.withLock { connection -> [UInt8]? in
                guard !connection.flushing, !connection.outbound.isEmpty else { return nil }
                connection.flushing = true
                defer { connection.outbound = [] }
                return connection.outbound
            }
            guard let batch else { return }
            do {
                try await inner.send(batch, timeout: timeout)
            } catch {
                state.withLock { $0.flushing = false }
                throw error
            }
            state.withLock { $0.flushing = false }
        }
    }

    /// Queues close_notify once, after a finished handshake (before it there is no session to end).
    private static func notify(_ connection: inout Connection) {
        guard !connection.notified else { return }
        connection.notified = true
        ERR_clear_error()
        if SSL_is_init_finished(connection.ssl) == 1 { SSL_shutdown(connection.ssl) }
        collectOutput(&connection)
    }

    private static func collectOutput(_ connection: inout Connection) {
        let pending = Int(sb_bio_ctrl_pending(connection.writeBIO))
        guard pending > 0 else { return }
        let start = connection.outbound.count
        connection.outbound.append(contentsOf: repeatElement(0, count: pending))
        let read = connection.outbound.withUnsafeMutableBytes { raw in
            BIO_read(connection.writeBIO, raw.baseAddress! + start, Int32(pending))
        }
        connection.outbound.removeSubrange((start + Int(max(read, 0)))...)
    }

    private static func classify(_ ssl: OpaquePointer, _ result: Int32, operation: String) -> Step {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needInput
        case SSL_ERROR_ZERO_RETURN: return .endOfStream
        default:
            let error = TLSError.openSSL(operation)
            return .failed(IOError(.system, operation: error.message))
        }
    }
}
