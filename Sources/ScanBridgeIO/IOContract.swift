/// The transport contract between ScanBridgeIO and the layers above it (HTTP, TLS, tests).
///
/// Buffers cross the boundary as owned `[UInt8]` values: the engine keeps each one alive until
/// the kernel's final completion for it, so a cancelled task can never leave the kernel writing
/// into freed memory.

/// An error of the socket layer. `errno` carries the system's code when there is one.
public struct IOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The operation's timeout elapsed.
        case timedOut
        /// The calling task was cancelled.
        case cancelled
        /// The stream or listener was closed (locally) while or before the operation ran.
        case closed
        /// The peer reset the connection (ECONNRESET, EPIPE).
        case connectionReset
        /// Any other system error.
        case system
    }

    public var kind: Kind
    public var operation: String
    public var errno: Int32

    public init(_ kind: Kind, operation: String, errno: Int32 = 0) {
        self.kind = kind
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        errno == 0 ? "\(operation): \(kind)" : "\(operation): \(kind) (errno \(errno))"
    }
}

/// A connected, bidirectional byte stream (a TCP socket, or TLS over one).
/// One reader and one writer may use it at the same time.
public protocol ByteStream: Sendable {
    /// Receives up to `maxLength` bytes; an empty result means the peer closed its side.
    func receive(maxLength: Int, timeout: Duration?) async throws(IOError) -> [UInt8]
    /// Sends all of `bytes`, or throws.
    func send(_ bytes: [UInt8], timeout: Duration?) async throws(IOError)
    /// Sends all of `bytes`; with `moreToFollow`, a socket may hold back what it has not sent yet
    /// until the next send (MSG_MORE), so that a response head and the large body sent right
    /// after it leave together and wake the peer once, not once for the head alone. A hint: the
    /// next send must follow at once.
    func send(_ bytes: [UInt8], moreToFollow: Bool, timeout: Duration?) async throws(IOError)
    /// Ends the sending side (the peer reads end of stream after what was sent) while receiving
    /// goes on. A server that answers and then closes with unread input makes the kernel reset
    /// the connection, which can destroy the answer before the peer reads it; half-closing and
    /// reading on for a while first lets the answer arrive. Best effort; idempotent.
    func shutdownWrite() async
    /// Closes the stream; pending operations end with `.closed`. Idempotent.
    func close() async
    /// The peer's numeric IP address, when the stream is a connected socket (access lists).
    var peerAddress: String? { get }
    /// The thread that serves this stream's I/O, as a task executor (the io_uring engine's
    /// ring): a task that drives the stream from there submits and resumes without a thread hop
    /// or a wake-up. Start the task that serves a connection with
    /// `addTask(executorPreference: stream.preferredExecutor)`. Nil when there is none (epoll).
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension ByteStream {
    public func send(_ bytes: [UInt8], moreToFollow: Bool, timeout: Duration?) async throws(IOError) {
        try await send(bytes, timeout: timeout)
    }

    public var peerAddress: String? { nil }
    public var preferredExecutor: (any TaskExecutor)? { nil }
}

/// A listening socket.
public protocol StreamListener: Sendable {
    /// The bound port (useful after binding port 0).
    var port: Int { get }
    /// Waits for the next connection.
    func accept() async throws(IOError) -> any ByteStream
    /// Stops listening; a pending `accept` ends with `.closed`. Idempotent.
    func close() async
}

/// Which engine runs the sockets.
public enum IOEngineKind: String, Sendable, CaseIterable {
    case ioUring = "io_uring"
    case epoll
}
