// Pieces both engines share: the command inbox with its eventfd wake-up, and the token that
// lets task cancellation reach an operation exactly once.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLibURing
import DequeModule
import ScanBridgeCore
import Synchronization

/// Commands handed to a loop thread (started with `NamedThread`), with an eventfd to wake it:
/// the loop waits in the kernel, so it drains the queue instead of sleeping on it. The eventfd is
/// written only when the queue goes from empty to non-empty, and never by the loop thread itself,
/// which takes the queue again before it waits.
final class Inbox<Command: Sendable>: Sendable {
    let eventFD: Int32
    private let queue = Mutex<Deque<Command>>([])

    init() throws(IOError) {
        eventFD = try syscallChecked("eventfd") { eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) }
    }

    /// Queues `command`; `wake` false only on the loop thread.
    func push(_ command: Command, wake: Bool = true) {
        let wasEmpty = queue.withLock { queue in
            defer { queue.append(command) }
            return queue.isEmpty
        }
        if wasEmpty && wake { self.wake() }
    }

    func wake() {
        var one: UInt64 = 1
        _ = try? Syscall.checked("write(eventfd)") { Glibc.write(eventFD, &one, 8) }
    }

    /// True when nothing is queued (loop thread: whether it may wait in the kernel).
    var isEmpty: Bool { queue.withLock { $0.isEmpty } }

    /// Takes every queued command (loop thread).
    func drain() -> Deque<Command> {
        var batch = Deque<Command>()
        drain(into: &batch)
        return batch
    }

    /// Swaps every queued command into `batch`, which must be empty; its storage is kept for
    /// the next pushes, so that a busy loop does not allocate a queue a turn (loop thread).
    func drain(into batch: inout Deque<Command>) {
        queue.withLock { queue in
            if !queue.isEmpty { swap(&queue, &batch) }
        }
    }

    /// Resets the eventfd counter after a wake-up (loop thread).
    func acknowledge() {
        var value: UInt64 = 0
        _ = try? Syscall.checked("read(eventfd)") { Glibc.read(eventFD, &value, 8) }
    }
}

/// Connects a task's cancellation to one operation of a loop. The operation is submitted
/// under the token's lock unless the task was already cancelled; the cancellation handler
/// tells the loop only when the operation was submitted. Whichever side owns the
/// continuation resumes it, once.
final class OperationToken: Sendable {
    private enum State { case initial, submitted, cancelled }
    private let state = Mutex<State>(.initial)

    init() {}

    /// Runs `submit` unless cancelled; false when the task was cancelled first.
    func submit(_ body: () -> Void) -> Bool {
        state.withLock { state in
            guard state == .initial else { return false }
            state = .submitted
            body()
            return true
        }
    }

    /// Marks the token cancelled; runs `notifyLoop` if the operation had been submitted.
    func cancel(_ notifyLoop: () -> Void) {
        state.withLock { state in
            if state == .submitted { notifyLoop() }
            state = .cancelled
        }
    }
}

/// What `submit` decided for an operation.
enum Submission<T> {
    /// Handed to the loop, which will resume the continuation.
    case submitted
    /// Finished at once (e.g. the socket was already closed).
    case immediate(T)
}

/// Runs a loop operation with task cancellation. `submit` runs at most once, under the token's
/// lock (never resume in it: return `.immediate` instead); `cancel` reaches the loop only after
/// a submission. Continuations are resumed outside every lock.
func withLoopOperation<T: Sendable>(
    cancelled: T,
    cancel: @escaping @Sendable () -> Void,
    submit: (CheckedContinuation<T, Never>) -> Submission<T>
) async -> T {
    let token = OperationToken()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            var outcome: Submission<T> = .immediate(cancelled)
            _ = token.submit { outcome = submit(continuation) }
            if case .immediate(let value) = outcome {
                continuation.resume(returning: value)
            }
        }
    } onCancel: {
        token.cancel(cancel)
    }
}

/// A socket descriptor shared by a stream or listener and its loop: `closed` flips once, under
/// the lock, and every caller-side syscall on the descriptor runs under the same lock, so no
/// call can reach a descriptor number after it was handed to the loop for closing.
final class SocketHandle: Sendable {
    private static let ids = Atomic<UInt64>(0)

    let fd: Int32
    /// Unique for the life of the process (descriptor numbers are reused, this is not).
    let id: UInt64
    private let closed = Mutex<Bool>(false)
    private let onDeinit: @Sendable (Int32, UInt64) -> Void

    init(fd: Int32, onDeinit: @escaping @Sendable (Int32, UInt64) -> Void) {
        self.fd = fd
        self.id = Self.ids.add(1, ordering: .relaxed).newValue
        self.onDeinit = onDeinit
    }

    var isClosed: Bool { closed.withLock { $0 } }

    /// Runs `body` with the descriptor unless the handle is closed (then throws `.closed`).
    func withDescriptor<R: Sendable>(_ operation: StaticString, _ body: (Int32) throws(IOError) -> R) throws(IOError) -> R {
        try closed.withLock { (closed) throws(IOError) -> R in
            if closed { throw IOError(.closed, operation: String(describing: operation)) }
            return try body(fd)
        }
    }

    /// Runs `body` unless closed; returns false when closed.
    func ifOpen(_ body: () -> Void) -> Bool {
        closed.withLock { closed in
            if closed { return false }
            body()
            return true
        }
    }

    /// Marks the handle closed and runs `body` (which hands the descriptor to the loop) once.
    func markClosed(_ body: () -> Void) -> Bool {
        closed.withLock { closed in
            if closed { return false }
            closed = true
            body()
            return true
        }
    }

    deinit {
        // A stream dropped without close(): let the loop close the descriptor.
        if !closed.withLock({ $0 }) { onDeinit(fd, id) }
    }
}

extension ContinuousClock.Instant {
    /// Milliseconds from now until this instant, rounded up, at least 0 (for epoll_wait).
    func millisecondsFromNow(_ now: ContinuousClock.Instant) -> Int32 {
        let remaining = now.duration(to: self)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}

extension Duration {
    /// A `__kernel_timespec`-style split (seconds, nanoseconds), never negative.
    var timespecParts: (seconds: Int64, nanoseconds: Int64) {
        if self <= .zero { return (0, 0) }
        let (seconds, attoseconds) = components
        return (seconds, attoseconds / 1_000_000_000)
    }
}

/// A stream or listener backed by one socket descriptor (diagnostics and tests).
protocol SocketBacked {
    var fileDescriptor: Int32 { get }
}
