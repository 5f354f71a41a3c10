// The io_uring engine: each ring is owned by one long-lived thread that never exits (the kernel
// cancels requests whose submitting thread has exited). Other threads hand it commands through
// the inbox and wake it with an eventfd the ring polls. The ring thread is also a task executor:
// a connection task that runs there submits its operations and is resumed by their completions
// without leaving the thread, and needs no wake-up. Every operation keeps its continuation and
// its buffer in `operations` until its final completion.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLibURing
import ScanBridgeCore
import DequeModule
import Synchronization

/// The bytes of one `send` call in the kernel's hands: the caller's array itself, not a copy,
/// shared by the successive partial sends of that call. Each operation holds it until its final
/// completion; an array that is held and never mutated keeps its storage in place, so the address
/// the kernel reads from stays valid even when the calling task is cancelled.
final class SendBuffer: @unchecked Sendable {
    private let bytes: [UInt8]
    let pointer: UnsafeRawPointer
    var count: Int { bytes.count }

    /// `bytes` must not be empty.
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        pointer = bytes.withUnsafeBytes { $0.baseAddress! }
    }
}

final class URingLoop: TaskExecutor, @unchecked Sendable {
    typealias Reply<T: Sendable> = CheckedContinuation<Result<T, IOError>, Never>

    enum Command: Sendable {
        // `owner` is the `SocketHandle.id` of the stream or listener.
        case receive(id: UInt64, owner: UInt64, fd: Int32, maxLength: Int, timeout: Duration?, reply: Reply<[UInt8]>)
        case send(id: UInt64, owner: UInt64, fd: Int32, buffer: SendBuffer, offset: Int, timeout: Duration?, reply: Reply<Int>)
        case connect(id: UInt64, owner: UInt64, fd: Int32, address: SocketAddress, timeout: Duration?, reply: Reply<Void>)
        case accept(id: UInt64, owner: UInt64, fd: Int32, reply: Reply<Int32>)
        case cancel(id: UInt64)
        case close(owner: UInt64, fd: Int32, continuation: CheckedContinuation<Void, Never>?)
        /// A job of a task that prefers this ring's thread as its executor.
        case run(UnownedJob)
    }

    /// An operation in the kernel (ring thread only).
    private final class Operation {
        enum Work {
            case receive(UnsafeMutableRawPointer, Reply<[UInt8]>)
            case send(SendBuffer, Reply<Int>)
            case connect(UnsafeMutableRawPointer, String, Reply<Void>)
            case acceptMultishot(Listener)
        }
        let id: UInt64
        let owner: UInt64
        let fd: Int32
        let work: Work
        var timeout: UnsafeMutablePointer<__kernel_timespec>?
        /// Set when we asked the kernel to cancel it (task cancelled, or the socket closed).
        var cancelReason: IOError.Kind?

        init(id: UInt64, owner: UInt64, fd: Int32, work: Work) {
            self.id = id
            self.owner = owner
            self.fd = fd
            self.work = work
        }

        deinit {
            timeout?.deallocate()
            switch work {
            case .receive(let buffer, _): buffer.deallocate()
            case .connect(let address, _, _): address.deallocate()
            case .send, .acceptMultishot: break
            }
        }
    }

    /// A listening socket's multishot accept and the connections it delivered (ring thread only).
    private final class Listener {
        let id: UInt64
        let fd: Int32
        var armed: UInt64?
        var closed = false
        var backlog = Deque<Int32>()
        var waiters = Deque<(id: UInt64, reply: Reply<Int32>)>()

        init(id: UInt64, fd: Int32) {
            self.id = id
            self.fd = fd
        }
    }

    /// Connections a listener takes from the kernel ahead of accept() calls.
    static let acceptBacklogLimit = 64
    private static let ignoredTag: UInt64 = 0
    private static let wakeTag: UInt64 = 1

    private let ring: UnsafeMutablePointer<io_uring>
    let inbox: Inbox<Command>
    private let nextID = Atomic<UInt64>(16)
    /// The ring thread's `pthread_t` (0 until it started).
    private let thread = Atomic<UInt>(0)
    /// Whether streams of this ring offer it as their tasks' executor.
    let servesConnectionTasks: Bool
    /// Inbox batches a turn runs before it reaps completions (`URingSettings.batchesPerTurn`).
    private let batchesPerTurn: Int
    /// Turns of the ring thread so far, each one entry into the kernel (tests).
    let turns = Atomic<Int>(0)
    /// Times the ring thread entered the kernel to wait for a completion (tests).
    let waits = Atomic<Int>(0)
    /// The setup flags the ring runs with (for the log and the report).
    private(set) var setupDescription = ""

    // Ring-thread state.
    private var operations: [UInt64: Operation] = [:]
    private var operationsByOwner: [UInt64: Set<UInt64>] = [:]
    /// close() calls waiting for the last operation of their owner to complete.
    private var closing: [UInt64: [CheckedContinuation<Void, Never>]] = [:]
    private var listeners: [UInt64: Listener] = [:]
    private var acceptWaiters: [UInt64: UInt64] = [:]  // waiter id → listener id
    private var poll: PollBeforeSleep

    init(name: String, settings: URingSettings) throws(IOError) {
        self.servesConnectionTasks = settings.connectionTasksOnRings
        self.batchesPerTurn = settings.batchesPerTurn
        poll = PollBeforeSleep(ceilingMicroseconds: settings.pollMicroseconds)
        ring = .allocate(capacity: 1)
        ring.initialize(to: io_uring())
        do {
            inbox = try Inbox()
        } catch {
            ring.deallocate()
            throw error
        }
        // The ring is created by the thread that owns it, so that it can be a single-issuer ring.
        let started = Mutex<(Int32, String)?>(nil)
        NamedThread.start(name: name) { [self] in
            thread.store(UInt(pthread_self()), ordering: .releasing)
            // Prefer a ring that runs completion work only when its owner thread waits for it
            // (no inter-processor interrupts); older kernels refuse those flags with EINVAL.
            let attempts = URingSettings.TaskRun.allCases.drop { $0 != settings.taskRun }.map { mode -> (UInt32, String) in
                switch mode {
                case .deferred: (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single issuer, deferred task work")
                case .cooperative: (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "cooperative task work")
                case .plain: (0, "default setup")
                }
            }
            var result: Int32 = -EINVAL
            var description = ""
            for (flags, text) in attempts {
                result = io_uring_queue_init(1024, self.ring, flags)
                description = text
                if result != -EINVAL { break }
            }
            started.withLock { $0 = (result, description) }
            if result < 0 { return }  // no ring: this thread has nothing to own and ends
            run()
        }
        var outcome: (Int32, String)?
        while outcome == nil {
            usleep(50)
            outcome = started.withLock { $0 }
        }
        let (result, description) = outcome!
        if result < 0 {
            // The thread ended without a ring; the inbox and ring memory stay (tiny, once).
            throw IOError(.system, operation: "io_uring_queue_init", errno: -result)
        }
        setupDescription = description
    }

    func makeID() -> UInt64 { nextID.add(1, ordering: .relaxed).newValue }

    func makeHandle(fd: Int32) -> SocketHandle {
        SocketHandle(fd: fd) { [self] fd, owner in push(.close(owner: owner, fd: fd, continuation: nil)) }
    }

    /// CPU time the ring thread has used (tests).
    var threadCPUTime: Duration {
        var clock = clockid_t()
        var time = timespec()
        guard pthread_getcpuclockid(pthread_t(thread.load(ordering: .acquiring)), &clock) == 0,
              clock_gettime(clock, &time) == 0 else { return .zero }
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// True on this ring's thread.
    var isRingThread: Bool { pthread_equal(pthread_self(), pthread_t(thread.load(ordering: .acquiring))) != 0 }

    /// Hands `command` to the ring thread; from that thread itself without a wake-up, since it
    /// takes its inbox again before it waits.
    func push(_ command: Command) {
        inbox.push(command, wake: !isRingThread)
    }

    // MARK: Task executor

    func enqueue(_ job: consuming ExecutorJob) {
        push(.run(UnownedJob(job)))
    }

    // MARK: Caller side

    /// Submits one operation built by `command` unless `handle` is closed, with task cancellation.
    func perform<T: Sendable>(
        _ handle: SocketHandle, _ operation: StaticString,
        _ command: (UInt64, Reply<T>) -> Command
    ) async throws(IOError) -> T {
        let id = makeID()
        let result = await withLoopOperation(
            cancelled: Result<T, IOError>.failure(IOError(.cancelled, operation: String(describing: operation))),
            cancel: { [self] in push(.cancel(id: id)) }
        ) { reply in
            let open = handle.ifOpen { push(command(id, reply)) }
            return open ? .submitted : .immediate(.failure(IOError(.closed, operation: String(describing: operation))))
        }
        return try result.get()
    }

    /// Closes `handle`: pending operations end with `.closed`; returns once the kernel let go
    /// of the socket (its last operation completed). Idempotent.
    func close(_ handle: SocketHandle) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let first = handle.markClosed {
                push(.close(owner: handle.id, fd: handle.fd, continuation: continuation))
            }
            if !first { continuation.resume() }
        }
    }

    // MARK: Ring thread

    private func run() {
        armWake()
        let capacity: UInt32 = 256
        let cqes = UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>.allocate(capacity: Int(capacity))
        var batch = Deque<Command>()
        while true {
            // A request's jobs queue one another (a resumed task starts child tasks, a finished
            // child resumes its parent): run what they queue in the same turn, up to
            // `batchesPerTurn` batches, rather than entering the kernel between each two.
            var batches = 0
            repeat {
                inbox.drain(into: &batch)
                for command in batch {
                    handle(command)
                }
                batch.removeAll(keepingCapacity: true)
                batches += 1
            } while batches < batchesPerTurn && !inbox.isEmpty
            // Jobs and commands still queued run on the next turn: only reap completions, don't wait.
            turns.add(1, ordering: .relaxed)
            let rc = inbox.isEmpty ? submitAndWait() : io_uring_submit_and_get_events(ring)
            if rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN {
                preconditionFailure("io_uring_submit_and_wait failed: \(-rc)")
            }
            while true {
                let count = sb_io_uring_peek_batch(ring, cqes, capacity)
                if count == 0 { break }
                for index in 0..<Int(count) {
                    let cqe = cqes[index]!.pointee
                    complete(tag: cqe.user_data, result: cqe.res, flags: cqe.flags)
                }
                io_uring_cq_advance(ring, count)
            }
        }
    }

    /// Submits queued entries and waits for a completion or a command: polls for up to the
    /// adaptive budget first, then sleeps in the kernel.
    private func submitAndWait() -> Int32 {
        if poll.budget > 0 {
            var rc = io_uring_submit_and_get_events(ring)
            let deadline = PollBeforeSleep.now() + poll.budget
            // With deferred task work the kernel posts completions only when we ask for events.
            while io_uring_cq_ready(ring) == 0 && inbox.isEmpty && PollBeforeSleep.now() < deadline {
                // Another thread ready to run on this core (a client, a pipeline stage) goes first.
                sched_yield()
                rc = io_uring_get_events(ring)
            }
            if io_uring_cq_ready(ring) > 0 || !inbox.isEmpty { return rc }
        }
        waits.add(1, ordering: .relaxed)
        let asleep = PollBeforeSleep.now()
        let rc = io_uring_submit_and_wait(ring, 1)
        poll.slept(PollBeforeSleep.now() - asleep)
        return rc
    }

    /// A submission entry, submitting queued ones first when fewer than `needed` are free.
    private func sqe(reserving needed: UInt32 = 1) -> UnsafeMutablePointer<io_uring_sqe> {
        while io_uring_sq_space_left(ring) < needed {
            _ = io_uring_submit(ring)
        }
        return io_uring_get_sqe(ring)!
    }

    private func armWake() {
        let entry = sqe()
        io_uring_prep_poll_add(entry, inbox.eventFD, UInt32(POLLIN))
        io_uring_sqe_set_data64(entry, Self.wakeTag)
    }

    /// Queues `operation` (prepared by `prepare`), linked to a timeout when it has one.
    private func submit(_ operation: Operation, timeout: Duration?, _ prepare: (UnsafeMutablePointer<io_uring_sqe>) -> Void) {
        operations[operation.id] = operation
        operationsByOwner[operation.owner, default: []].insert(operation.id)
        let entry = sqe(reserving: timeout == nil ? 1 : 2)
        prepare(entry)
        io_uring_sqe_set_data64(entry, operation.id)
        guard let timeout else { return }
        entry.pointee.flags |= UInt8(1 << IOSQE_IO_LINK_BIT)
        let (seconds, nanoseconds) = timeout.timespecParts
        let spec = UnsafeMutablePointer<__kernel_timespec>.allocate(capacity: 1)
        spec.initialize(to: __kernel_timespec(tv_sec: seconds, tv_nsec: nanoseconds))
        operation.timeout = spec
        let timer = sqe()
        io_uring_prep_link_timeout(timer, spec, 0)
        io_uring_sqe_set_data64(timer, Self.ignoredTag)
    }

    private func requestCancel(_ id: UInt64) {
        let entry = sqe()
        io_uring_prep_cancel64(entry, id, 0)
        io_uring_sqe_set_data64(entry, Self.ignoredTag)
    }

    private func handle(_ command: Command) {
        switch command {
        case .run(let job):
            job.runSynchronously(on: asUnownedTaskExecutor())

        case .receive(let id, let owner, let fd, let maxLength, let timeout, let reply):
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: maxLength, alignment: 16)
            let operation = Operation(id: id, owner: owner, fd: fd, work: .receive(buffer, reply))
            submit(operation, timeout: timeout) { io_uring_prep_recv($0, fd, buffer, maxLength, 0) }

        case .send(let id, let owner, let fd, let buffer, let offset, let timeout, let reply):
            let operation = Operation(id: id, owner: owner, fd: fd, work: .send(buffer, reply))
            submit(operation, timeout: timeout) {
                // MSG_WAITALL: the kernel goes on sending as the peer reads and completes once, with
                // the whole rest (or what it sent before an error, a cancellation or the timeout),
                // instead of a completion and a new submission for every socket buffer's worth.
                io_uring_prep_send($0, fd, buffer.pointer + offset, buffer.count - offset, Int32(MSG_NOSIGNAL | MSG_WAITALL))
            }

        case .connect(let id, let owner, let fd, let address, let timeout, let reply):
            let (storage, length) = address.heapCopy()
            let operation = Operation(id: id, owner: owner, fd: fd, work: .connect(storage, "connect to \(address)", reply))
            submit(operation, timeout: timeout) {
                io_uring_prep_connect($0, fd, storage.assumingMemoryBound(to: sockaddr.self), length)
            }

        case .accept(let id, let listenerID, let fd, let reply):
            let listener: Listener
            if let existing = listeners[listenerID] {
                listener = existing
            } else {
                listener = Listener(id: listenerID, fd: fd)
                listeners[listenerID] = listener
            }
            if let connection = listener.backlog.popFirst() {
                reply.resume(returning: .success(connection))
                return
            }
            listener.waiters.append((id, reply))
            acceptWaiters[id] = listenerID
            arm(listener)

        case .cancel(let id):
            if let operation = operations[id] {
                if operation.cancelReason == nil {
                    operation.cancelReason = .cancelled
                    requestCancel(id)
                }
            } else if let listenerID = acceptWaiters.removeValue(forKey: id), let listener = listeners[listenerID],
                      let index = listener.waiters.firstIndex(where: { $0.id == id }) {
                let waiter = listener.waiters.remove(at: index)
                waiter.reply.resume(returning: .failure(IOError(.cancelled, operation: "accept")))
            }

        case .close(let owner, let fd, let continuation):
            let pending = operationsByOwner[owner] ?? []
            for id in pending {
                if let operation = operations[id], operation.cancelReason == nil {
                    operation.cancelReason = .closed
                    requestCancel(id)
                }
            }
            if let listener = listeners.removeValue(forKey: owner) {
                listener.closed = true
                for waiter in listener.waiters {
                    acceptWaiters.removeValue(forKey: waiter.id)
                    waiter.reply.resume(returning: .failure(IOError(.closed, operation: "accept")))
                }
                listener.waiters.removeAll()
                while let connection = listener.backlog.popFirst() { Syscall.close(connection) }
            }
            // Every queued entry that names `fd` reaches the kernel (and takes its reference to
            // the file) before the number is released and can be reused by another socket.
            _ = io_uring_submit(ring)
            Syscall.close(fd)
            if let continuation {
                if pending.isEmpty {
                    continuation.resume()
                } else {
                    closing[owner, default: []].append(continuation)
                }
            }
        }
    }

    private func arm(_ listener: Listener) {
        guard listener.armed == nil, !listener.closed, !listener.waiters.isEmpty else { return }
        let id = makeID()
        listener.armed = id
        let operation = Operation(id: id, owner: listener.id, fd: listener.fd, work: .acceptMultishot(listener))
        submit(operation, timeout: nil) {
            io_uring_prep_multishot_accept($0, listener.fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        }
    }

    private func complete(tag: UInt64, result: Int32, flags: UInt32) {
        if tag == Self.ignoredTag { return }
        if tag == Self.wakeTag {
            inbox.acknowledge()
            armWake()
            return
        }
        guard let operation = operations[tag] else { return }
        let final = flags & IORING_CQE_F_MORE == 0
        if final {
            operations.removeValue(forKey: tag)
            if var ids = operationsByOwner[operation.owner] {
                ids.remove(tag)
                if ids.isEmpty {
                    operationsByOwner[operation.owner] = nil
                    for continuation in closing.removeValue(forKey: operation.owner) ?? [] {
                        continuation.resume()
                    }
                } else {
                    operationsByOwner[operation.owner] = ids
                }
            }
        }

        switch operation.work {
        case .receive(let buffer, let reply):
            if result >= 0 {
                let bytes = [UInt8](UnsafeRawBufferPointer(start: buffer, count: Int(result)))
                reply.resume(returning: .success(bytes))
            } else {
                reply.resume(returning: .failure(error(operation, result, "receive")))
            }

        case .send(_, let reply):
            reply.resume(returning: result >= 0 ? .success(Int(result)) : .failure(error(operation, result, "send")))

        case .connect(_, let name, let reply):
            reply.resume(returning: result >= 0 ? .success(()) : .failure(error(operation, result, name)))

        case .acceptMultishot(let listener):
            if final, listener.armed == tag { listener.armed = nil }
            if result >= 0 {
                if listener.closed {
                    Syscall.close(result)
                } else if let waiter = listener.waiters.popFirst() {
                    acceptWaiters.removeValue(forKey: waiter.id)
                    Socket.configureStream(result)
                    waiter.reply.resume(returning: .success(result))
                } else {
                    Socket.configureStream(result)
                    listener.backlog.append(result)
                    // Nobody is accepting: stop the multishot accept so that further clients
                    // wait in the kernel's backlog; the next accept() re-arms it.
                    if listener.backlog.count >= Self.acceptBacklogLimit, !final, listener.armed == tag,
                       operation.cancelReason == nil {
                        operation.cancelReason = .cancelled
                        requestCancel(tag)
                    }
                }
            } else if !listener.closed && -result != ECANCELED && -result != ECONNABORTED {
                // EMFILE and friends: the waiting accept reports it; the next accept re-arms.
                if let waiter = listener.waiters.popFirst() {
                    acceptWaiters.removeValue(forKey: waiter.id)
                    waiter.reply.resume(returning: .failure(IOError(errno: -result, operation: "accept")))
                }
            }
            if final { arm(listener) }
        }
    }

    /// The error for a failed completion, honouring why we cancelled it.
    private func error(_ operation: Operation, _ result: Int32, _ name: String) -> IOError {
        let code = -result
        if let reason = operation.cancelReason {
            return IOError(reason, operation: name)
        }
        if code == ECANCELED || code == EINTR {
            // Not cancelled by us: the linked timeout fired.
            return IOError(operation.timeout != nil ? .timedOut : .cancelled, operation: name)
        }
        return IOError(errno: code, operation: name)
    }
}

// MARK: - Streams and listeners

final class URingStream: ByteStream, SocketBacked {
    let handle: SocketHandle
    let loop: URingLoop
    var fileDescriptor: Int32 { handle.fd }

    init(fd: Int32, loop: URingLoop) {
        self.handle = loop.makeHandle(fd: fd)
        self.loop = loop
    }

    var preferredExecutor: (any TaskExecutor)? { loop.servesConnectionTasks ? loop : nil }

    func receive(maxLength: Int, timeout: Duration?) async throws(IOError) -> [UInt8] {
        precondition(maxLength > 0, "receive(maxLength:) needs a positive length")
        // Fast path: data already queued is taken at once, without a trip through the ring.
        if let bytes = try handle.withDescriptor("receive", { (fd) throws(IOError) in
            try Socket.receiveNow(fd, maxLength: maxLength)
        }) {
            return bytes
        }
        let fd = handle.fd, owner = handle.id
        return try await loop.perform(handle, "receive") { id, reply in
            .receive(id: id, owner: owner, fd: fd, maxLength: maxLength, timeout: timeout, reply: reply)
        }
    }

    func send(_ bytes: [UInt8], timeout: Duration?) async throws(IOError) {
        try await send(bytes, moreToFollow: false, timeout: timeout)
    }

    /// `moreToFollow` applies to the non-blocking sends from this thread; what goes to the ring
    /// (the socket buffer was full) is pushed out as usual.
    func send(_ bytes: [UInt8], moreToFollow: Bool, timeout: Duration?) async throws(IOError) {
        if bytes.isEmpty { return }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        // Fast path: what the socket buffer takes now is sent from this thread; the ring waits
        // (with a linked timeout) only for the rest.
        var sent = 0
        while sent < bytes.count {
            let start = sent
            guard let n = try handle.withDescriptor("send", { (fd) throws(IOError) in
                try Socket.sendNow(fd, bytes, from: start, more: moreToFollow)
            }) else { break }
            sent += n
        }
        if sent == bytes.count { return }
        let buffer = SendBuffer(bytes)
        let fd = handle.fd, owner = handle.id
        var offset = sent
        while offset < buffer.count {
            var remaining: Duration?
            if let deadline {
                remaining = ContinuousClock.now.duration(to: deadline)
                if remaining! <= .zero { throw IOError(.timedOut, operation: "send") }
            }
            let start = offset
            offset += try await loop.perform(handle, "send") { id, reply in
                .send(id: id, owner: owner, fd: fd, buffer: buffer, offset: start, timeout: remaining, reply: reply)
            }
        }
    }

    func close() async {
        await loop.close(handle)
    }
}

/// A listening socket: its multishot accept runs on one ring; the connections it accepts are
/// spread over every ring in turn (its own turn, so that outgoing connections and other
/// listeners do not skew its spread).
final class URingListener: StreamListener, SocketBacked {
    let handle: SocketHandle
    let loop: URingLoop
    let rings: URingRings
    let port: Int
    private let turn = Atomic<Int>(0)
    var fileDescriptor: Int32 { handle.fd }

    init(fd: Int32, port: Int, rings: URingRings) {
        self.loop = rings.loops[0]
        self.rings = rings
        self.port = port
        self.handle = loop.makeHandle(fd: fd)
    }

    func accept() async throws(IOError) -> any ByteStream {
        let fd = handle.fd, owner = handle.id
        let connection = try await loop.perform(handle, "accept") { id, reply in
            .accept(id: id, owner: owner, fd: fd, reply: reply)
        }
        return URingStream(fd: connection, loop: rings.loop(turn: turn.add(1, ordering: .relaxed).oldValue))
    }

    func close() async {
        await loop.close(handle)
    }
}
