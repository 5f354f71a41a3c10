import Dispatch
import Synchronization

/// Runs async work from synchronous code on a thread that may block (the CLI's main thread,
/// which waits for signals with `sigwait`): the work runs on the cooperative pool, the caller
/// waits on a semaphore. Never call it from the cooperative pool itself.
public func runBlocking<T: Sendable, E: Error>(_ work: @escaping @Sendable () async throws(E) -> T) throws(E) -> T {
    let result = Mutex<Result<T, E>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let outcome: Result<T, E>
        do throws(E) {
            outcome = .success(try await work())
        } catch {
            outcome = .failure(error)
        }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}
