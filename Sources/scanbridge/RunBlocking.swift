import Dispatch

/// Runs async work from a synchronous command: the main thread waits on a semaphore (it is not
/// a cooperative-pool thread) while the work runs as a task. The root command stays synchronous
/// so that `serve` keeps its signal handling on the main thread.
func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    final class Outcome: @unchecked Sendable {
        var error: Error?
    }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { try await body() } catch { outcome.error = error }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}
