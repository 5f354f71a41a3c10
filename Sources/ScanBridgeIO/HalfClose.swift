// The half-close of both engines' streams: shutdown(SHUT_WR) is a non-blocking call that only
// queues a FIN behind the bytes already handed to the kernel, so both engines make it directly.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SocketHandle {
    /// `shutdown(SHUT_WR)` unless the handle is closed; a failure (the peer already reset the
    /// connection) leaves nothing to do.
    func shutdownWrite() {
        _ = try? withDescriptor("shutdown") { (fd) throws(IOError) -> Int32 in
            try syscallChecked("shutdown") { Glibc.shutdown(fd, Int32(SHUT_WR)) }
        }
    }
}

extension EpollStream {
    func shutdownWrite() async { handle.shutdownWrite() }
}

extension URingStream {
    func shutdownWrite() async { handle.shutdownWrite() }
}
