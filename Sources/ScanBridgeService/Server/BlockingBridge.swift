import ScanBridgeCore

/// Runs async work from synchronous code on a thread that may block (the CLI's main thread,
/// which waits for signals with `sigwait`): the work runs on the cooperative pool, the caller
/// blocks until it is done. Never call it from the cooperative pool itself.
public func runBlocking<T: Sendable, E: Error>(_ work: @escaping @Sendable () async throws(E) -> T) throws(E) -> T {
    let result = BlockingResult<Result<T, E>>()
    Task {
        let outcome: Result<T, E>
        do throws(E) {
            outcome = .success(try await work())
        } catch {
            outcome = .failure(error)
        }
        result.fulfil(outcome)
    }
    return try result.wait().get()
}
