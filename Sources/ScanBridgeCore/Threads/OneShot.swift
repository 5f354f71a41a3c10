import Synchronization

/// A continuation that several parties race to resume (a job finishing, a timer, a
/// cancellation): the first one wins, the others are ignored. The continuation is taken out
/// under the lock and resumed after it is released.
public final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, Error>?
        var timer: Task<Void, Never>?
    }

    private let state: Mutex<State>

    public init(_ continuation: CheckedContinuation<Value, Error>) {
        state = Mutex(State(continuation: continuation))
    }

    /// Resumes the continuation unless someone did already; true for the one that did.
    @discardableResult
    public func resume(with result: Result<Value, Error>) -> Bool {
        let (continuation, timer) = state.withLock { state in
            defer { state = State() }
            return (state.continuation, state.timer)
        }
        timer?.cancel()
        continuation?.resume(with: result)
        return continuation != nil
    }

    public var isResumed: Bool { state.withLock { $0.continuation == nil } }

    /// Keeps `timer` to cancel it when the continuation is resumed (the race is over); cancels
    /// it at once when that already happened.
    fileprivate func attach(_ timer: Task<Void, Never>) {
        let resumed = state.withLock { state in
            if state.continuation == nil { return true }
            state.timer = timer
            return false
        }
        if resumed { timer.cancel() }
    }
}

/// Suspends until `start`'s work resumes the one-shot it is given, or until `timeout` has passed:
/// then the caller gets `timeoutError()` and `whenTimedOut` runs; the work goes on and its late
/// result is dropped. The timer is a sleeping task (it occupies no thread) and is cancelled as
/// soon as the work wins.
public func withOneShot<Value: Sendable>(
    timeout: Duration,
    timeoutError: @escaping @Sendable () -> Error,
    whenTimedOut: @escaping @Sendable () -> Void = {},
    _ start: (OneShot<Value>) -> Void
) async throws -> Value {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, Error>) in
        let shot = OneShot(continuation)
        shot.attach(Task {
            do { try await Task.sleep(for: max(timeout, .zero)) } catch { return }
            if shot.resume(with: .failure(timeoutError())) { whenTimedOut() }
        })
        start(shot)
    }
}
