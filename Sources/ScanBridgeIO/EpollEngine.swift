// The epoll engine: one long-lived event-loop thread waits for readiness (EPOLLONESHOT, armed
// per wait) and for timer deadlines; callers make the non-blocking syscalls themselves and wait
// on the loop only when a call would block.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import HeapModule
import CLibURing
import ScanBridgeCore
import Synchronization

/// How a readiness wait ended.
enum WaitOutcome: Sendable {
    case ready, timedOut, cancelled, closed
    case failed(Int32)
}

final class EpollLoop: @unchecked Sendable {
    enum Direction: Sendable { case read, write }

    enum Command: Sendable {
        case wait(id: UInt64, fd: Int32, direction: Direction, deadline: ContinuousClock.Instant?,
                  continuation: CheckedContinuation<WaitOutcome, Never>)
        case cancel(id: UInt64)
        case close(fd: Int32, continuation: CheckedContinuation<Void, Never>?)
    }

    private struct Waiter {
        var fd: Int32
        var direction: Direction
        var continuation: CheckedContinuation<WaitOutcome, Never>
    }

    private struct Entry {
        var registered = false
        var readers: [UInt64] = []
        var writers: [UInt64] = []
    }

    private struct Timer: Comparable {
        var deadline: ContinuousClock.Instant
        var id: UInt64
        static func < (a: Timer, b: Timer) -> Bool { a.deadline < b.deadline }
    }

    let epollFD: Int32
    let inbox: Inbox<Command>
    private let nextID = Atomic<UInt64>(1)

    // Loop-thread state.
    private var waiters: [UInt64: Waiter] = [:]
    private var entries: [Int32: Entry] = [:]
    private var timers = Heap<Timer>()

    init() throws(IOError) {
        epollFD = try syscallChecked("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        do {
            inbox = try Inbox()
        } catch {
            Syscall.close(epollFD)
            throw error
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = inbox.eventFD
        _ = try syscallChecked("epoll_ctl(eventfd)") { epoll_ctl(epollFD, EPOLL_CTL_ADD, inbox.eventFD, &event) }
        NamedThread.start(name: "sb-epoll") { [self] in run() }
    }

    func makeID() -> UInt64 { nextID.add(1, ordering: .relaxed).newValue }

    // MARK: Caller side

    /// Waits until `handle` is ready for `direction`, the deadline passes, the task is
    /// cancelled or the handle is closed.
    func waitReady(_ handle: SocketHandle, _ direction: Direction, deadline: ContinuousClock.Instant?) async -> WaitOutcome {
        let id = makeID()
        let inbox = self.inbox
        return await withLoopOperation(cancelled: WaitOutcome.cancelled, cancel: { inbox.push(.cancel(id: id)) }) { continuation in
            let open = handle.ifOpen {
                inbox.push(.wait(id: id, fd: handle.fd, direction: direction, deadline: deadline, continuation: continuation))
            }
            return open ? .submitted : .immediate(.closed)
        }
    }

    /// Closes `handle` on the loop thread (pending waits end `.closed`). Idempotent.
    func close(_ handle: SocketHandle) async {
        let inbox = self.inbox
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let first = handle.markClosed { inbox.push(.close(fd: handle.fd, continuation: continuation)) }
            if !first { continuation.resume() }
        }
    }

    func makeHandle(fd: Int32) -> SocketHandle {
        let inbox = self.inbox
        return SocketHandle(fd: fd) { fd, _ in inbox.push(.close(fd: fd, continuation: nil)) }
    }

    // MARK: Loop thread

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        var resumptions: [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)] = []
        while true {
            for command in inbox.drain() {
                handle(command, &resumptions)
            }
            let now = ContinuousClock.now
            expireTimers(now, &resumptions)
            resumeAll(&resumptions)

            let timeout: Int32 = timers.min.map { $0.deadline.millisecondsFromNow(now) } ?? -1
            let count = epoll_wait(epollFD, events, Int32(capacity), timeout)
            if count < 0 {
                precondition(errno == EINTR, "epoll_wait failed: errno \(errno)")
                continue
            }
            for index in 0..<Int(count) {
                let event = events[index]
                let fd = event.data.fd
                if fd == inbox.eventFD {
                    inbox.acknowledge()
                } else {
                    ready(fd: fd, events: event.events, &resumptions)
                }
            }
            resumeAll(&resumptions)
        }
    }

    private func resumeAll(_ resumptions: inout [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)]) {
        for (continuation, outcome) in resumptions {
            continuation.resume(returning: outcome)
        }
        resumptions.removeAll(keepingCapacity: true)
    }

    private func handle(_ command: Command, _ resumptions: inout [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)]) {
        switch command {
        case .wait(let id, let fd, let direction, let deadline, let continuation):
            waiters[id] = Waiter(fd: fd, direction: direction, continuation: continuation)
            var entry = entries[fd] ?? Entry()
            switch direction {
            case .read: entry.readers.append(id)
            case .write: entry.writers.append(id)
            }
            entries[fd] = entry
            if let deadline {
                timers.insert(Timer(deadline: deadline, id: id))
                compactTimersIfNeeded()
            }
            arm(fd, &resumptions)

        case .cancel(let id):
            if let waiter = remove(id) {
                resumptions.append((waiter.continuation, .cancelled))
            }

        case .close(let fd, let continuation):
            if let entry = entries.removeValue(forKey: fd) {
                for id in entry.readers + entry.writers {
                    if let waiter = waiters.removeValue(forKey: id) {
                        resumptions.append((waiter.continuation, .closed))
                    }
                }
                if entry.registered {
                    _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
                }
            }
            Syscall.close(fd)
            continuation?.resume()
        }
    }

    /// Removes a waiter from the tables (its timer, if any, is dropped lazily).
    private func remove(_ id: UInt64) -> Waiter? {
        guard let waiter = waiters.removeValue(forKey: id) else { return nil }
        if var entry = entries[waiter.fd] {
            switch waiter.direction {
            case .read: entry.readers.removeAll { $0 == id }
            case .write: entry.writers.removeAll { $0 == id }
            }
            entries[waiter.fd] = entry
        }
        return waiter
    }

    /// (Re-)arms the one-shot registration of `fd` for the directions that have waiters.
    private func arm(_ fd: Int32, _ resumptions: inout [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)]) {
        guard var entry = entries[fd], !(entry.readers.isEmpty && entry.writers.isEmpty) else { return }
        var event = epoll_event()
        event.events = EPOLLONESHOT.rawValue
        if !entry.readers.isEmpty { event.events |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        if !entry.writers.isEmpty { event.events |= EPOLLOUT.rawValue }
        event.data.fd = fd
        var rc = epoll_ctl(epollFD, entry.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event)
        if rc != 0 && errno == ENOENT {
            rc = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
        }
        if rc != 0 {
            let code = errno
            for id in entry.readers + entry.writers {
                if let waiter = waiters.removeValue(forKey: id) {
                    resumptions.append((waiter.continuation, .failed(code)))
                }
            }
            entry.readers = []
            entry.writers = []
        } else {
            entry.registered = true
        }
        entries[fd] = entry
    }

    private func ready(fd: Int32, events: UInt32, _ resumptions: inout [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)]) {
        guard var entry = entries[fd] else { return }
        let errorBits = EPOLLERR.rawValue | EPOLLHUP.rawValue
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLPRI.rawValue | errorBits) != 0 {
            for id in entry.readers {
                if let waiter = waiters.removeValue(forKey: id) { resumptions.append((waiter.continuation, .ready)) }
            }
            entry.readers = []
        }
        if events & (EPOLLOUT.rawValue | errorBits) != 0 {
            for id in entry.writers {
                if let waiter = waiters.removeValue(forKey: id) { resumptions.append((waiter.continuation, .ready)) }
            }
            entry.writers = []
        }
        entries[fd] = entry
        arm(fd, &resumptions)
    }

    /// Timers of waits that ended early stay in the heap until their deadline; when they
    /// outnumber the live ones (e.g. long idle timeouts on busy keep-alive connections), drop them.
    private func compactTimersIfNeeded() {
        guard timers.count > 256, timers.count > 2 * waiters.count else { return }
        timers = Heap(timers.unordered.filter { waiters[$0.id] != nil })
    }

    private func expireTimers(_ now: ContinuousClock.Instant, _ resumptions: inout [(CheckedContinuation<WaitOutcome, Never>, WaitOutcome)]) {
        while let first = timers.min, first.deadline <= now {
            _ = timers.popMin()
            if let waiter = remove(first.id) {
                resumptions.append((waiter.continuation, .timedOut))
            }
        }
    }
}

extension WaitOutcome {
    /// Throws the error this outcome stands for; returns when ready.
    func check(_ operation: StaticString) throws(IOError) {
        switch self {
        case .ready: return
        case .timedOut: throw IOError(.timedOut, operation: String(describing: operation))
        case .cancelled: throw IOError(.cancelled, operation: String(describing: operation))
        case .closed: throw IOError(.closed, operation: String(describing: operation))
        case .failed(let code): throw IOError(errno: code, operation: String(describing: operation))
        }
    }
}

// MARK: - Streams and listeners

final class EpollStream: ByteStream, SocketBacked {
    var fileDescriptor: Int32 { handle.fd }
    let handle: SocketHandle
    let loop: EpollLoop

    init(fd: Int32, loop: EpollLoop) {
        self.handle = loop.makeHandle(fd: fd)
        self.loop = loop
    }

    func receive(maxLength: Int, timeout: Duration?) async throws(IOError) -> [UInt8] {
        precondition(maxLength > 0, "receive(maxLength:) needs a positive length")
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let attempt = try handle.withDescriptor("receive") { (fd) throws(IOError) -> [UInt8]? in
                try Socket.receiveNow(fd, maxLength: maxLength)
            }
            if let attempt { return attempt }
            try await loop.waitReady(handle, .read, deadline: deadline).check("receive")
        }
    }

    func send(_ bytes: [UInt8], timeout: Duration?) async throws(IOError) {
        try await send(bytes, moreToFollow: false, timeout: timeout)
    }

    func send(_ bytes: [UInt8], moreToFollow: Bool, timeout: Duration?) async throws(IOError) {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var offset = 0
        while offset < bytes.count {
            let start = offset
            let sent = try handle.withDescriptor("send") { (fd) throws(IOError) -> Int? in
                try Socket.sendNow(fd, bytes, from: start, more: moreToFollow)
            }
            if let sent {
                offset += sent
            } else {
                try await loop.waitReady(handle, .write, deadline: deadline).check("send")
            }
        }
    }

    func close() async {
        await loop.close(handle)
    }
}

final class EpollListener: StreamListener, SocketBacked {
    var fileDescriptor: Int32 { handle.fd }
    let handle: SocketHandle
    let loop: EpollLoop
    let port: Int

    init(fd: Int32, port: Int, loop: EpollLoop) {
        self.handle = loop.makeHandle(fd: fd)
        self.loop = loop
        self.port = port
    }

    func accept() async throws(IOError) -> any ByteStream {
        while true {
            let result = try handle.withDescriptor("accept") { (fd) throws(IOError) -> SyscallResult<Int32>? in
                do throws(IOError) {
                    return try syscall("accept") {
                        sb_accept4(fd, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                    }
                } catch where error.errno == ECONNABORTED {
                    return nil  // the peer gave up before we accepted: take the next one
                }
            }
            switch result {
            case .done(let fd)?:
                Socket.configureStream(fd)
                return EpollStream(fd: fd, loop: loop)
            case .wouldBlock?:
                try await loop.waitReady(handle, .read, deadline: nil).check("accept")
            case nil:
                continue
            }
        }
    }

    func close() async {
        await loop.close(handle)
    }
}

extension EpollLoop {
    func listen(_ address: SocketAddress, backlog: Int32) throws(IOError) -> any StreamListener {
        let (fd, port) = try Socket.makeListener(address: address, backlog: backlog, nonBlocking: true)
        return EpollListener(fd: fd, port: port, loop: self)
    }

    func connect(_ address: SocketAddress, timeout: Duration?) async throws(IOError) -> any ByteStream {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let fd = try Socket.makeTCP(family: address.family, nonBlocking: true)
        let stream = EpollStream(fd: fd, loop: self)
        let operation = "connect to \(address)"
        do throws(IOError) {
            let result = try address.withSockAddr { (p, len) throws(IOError) in
                try syscall("connect", inProgressIsWouldBlock: true) { Glibc.connect(fd, p, len) }
            }
            if case .wouldBlock = result {
                do throws(IOError) {
                    try await waitReady(stream.handle, .write, deadline: deadline).check("connect")
                } catch {
                    throw IOError(error.kind, operation: operation, errno: error.errno)
                }
                let code = Socket.pendingError(fd)
                if code != 0 { throw IOError(errno: code, operation: operation) }
            }
            Socket.configureStream(fd)
            return stream
        } catch {
            await stream.close()
            if error.operation == "connect" { throw IOError(error.kind, operation: operation, errno: error.errno) }
            throw error
        }
    }
}
