// ScanBridgeIO owns the io_uring ring threads, the epoll fallback, sockets, listeners and async
// file I/O: the only module that makes socket syscalls.
