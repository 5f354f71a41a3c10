#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ScanBridgeCore
import Synchronization

/// Delays of at least a given time, kept by one clock thread for the whole process.
///
/// Every request without a body waits a short while before its connection starts watching for
/// the peer closing; most handlers answer first and cancel the wait. With `Task.sleep` each wait
/// arms a libdispatch timer that still fires after the cancellation, on libdispatch's own
/// threads; here a wait is an entry in a table, and a cancelled one is simply removed. The clock
/// ticks every `tickMicroseconds` while anything waits and sleeps otherwise, so a wait ends up to one
/// tick late, which is what a close watcher can afford.
final class CoarseDelay: Sendable {
    static let shared = CoarseDelay(tickMicroseconds: 10_000)

    /// One wait, which another task can end early (`end(_:)`), before or while it waits.
    final class Ticket: @unchecked Sendable {
        /// Set under the delay's lock once the wait ended (elapsed or ended early), so that a
        /// later `wait` returns at once and a later `end` has nothing to do.
        fileprivate var finished = false
        fileprivate let id: UInt64

        fileprivate init(id: UInt64) { self.id = id }
    }

    private struct Waiter {
        var deadline: ContinuousClock.Instant
        var ticket: Ticket
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private let tickMicroseconds: useconds_t
    private let state = Mutex(State())
    /// Posted when the first wait arrives, so that an idle clock does not tick.
    private let work = ClockWakeup()

    private init(tickMicroseconds: useconds_t) {
        self.tickMicroseconds = tickMicroseconds
        NamedThread.start(name: "sb-coarse-delay") { [self] in run() }
    }

    func makeTicket() -> Ticket {
        Ticket(id: state.withLock { state in
            state.nextID += 1
            return state.nextID
        })
    }

    /// Waits at least `delay`; false when the task was cancelled first.
    func wait(_ delay: Duration) async -> Bool {
        await wait(delay, endedBy: makeTicket())
    }

    /// Waits at least `delay`; false when `ticket` was ended or the task cancelled first. A
    /// ticket serves one wait.
    func wait(_ delay: Duration, endedBy ticket: Ticket) async -> Bool {
        let deadline = ContinuousClock.now + delay
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let (entered, first) = state.withLock { state -> (Bool, Bool) in
                    if ticket.finished { return (false, false) }
                    state.waiters[ticket.id] = Waiter(deadline: deadline, ticket: ticket, continuation: continuation)
                    return (true, state.waiters.count == 1)
                }
                if !entered { continuation.resume(returning: false) }
                if first { work.post() }
            }
        } onCancel: {
            end(ticket)
        }
    }

    /// Ends the wait of `ticket` with false: at once if it waits, as soon as it starts if it has
    /// not yet; nothing if it already elapsed.
    func end(_ ticket: Ticket) {
        let waiting = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            ticket.finished = true
            return state.waiters.removeValue(forKey: ticket.id)?.continuation
        }
        waiting?.resume(returning: false)
    }

    private func run() {
        while true {
            let empty = state.withLock { $0.waiters.isEmpty }
            if empty { work.wait() }
            usleep(tickMicroseconds)
            let now = ContinuousClock.now
            let due = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
                let ids = state.waiters.compactMap { $0.value.deadline <= now ? $0.key : nil }
                return ids.compactMap { id in
                    guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
                    waiter.ticket.finished = true
                    return waiter.continuation
                }
            }
            for continuation in due { continuation.resume(returning: true) }
        }
    }
}

/// A POSIX counting semaphore: the clock thread blocks on it while nothing waits.
private final class ClockWakeup: @unchecked Sendable {
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init() { sem_init(semaphore, 0, 0) }

    func post() { sem_post(semaphore) }

    func wait() { while sem_wait(semaphore) != 0 && errno == EINTR {} }
}
