// The io_uring engine (in progress): until it lands, setting it up fails and `auto` falls back.
#if canImport(Glibc)
import Glibc
#endif

final class URingLoop: Sendable {
    static let isImplemented = false

    init() throws(IOError) {
        throw IOError(.system, operation: "io_uring engine not built yet", errno: ENOSYS)
    }

    func listen(_ address: SocketAddress, backlog: Int32) throws(IOError) -> any StreamListener {
        throw IOError(.system, operation: "io_uring listen", errno: ENOSYS)
    }

    func connect(_ address: SocketAddress, timeout: Duration?) async throws(IOError) -> any ByteStream {
        throw IOError(.system, operation: "io_uring connect", errno: ENOSYS)
    }
}
