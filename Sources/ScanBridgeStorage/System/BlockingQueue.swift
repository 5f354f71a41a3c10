import ScanBridgeCore

/// The dedicated thread where one owner's blocking file I/O and key derivation run (a buffer's
/// cache, the document store), bridged to async callers.
///
/// Work runs off Swift's cooperative pool; each continuation is resumed exactly once, after the
/// work returns. One thread, so the owner's files see their operations in submission order. The
/// thread ends when the queue is no longer referenced, after the work queued on it.
final class BlockingQueue: Sendable {
    private let thread: DedicatedThreads

    init(label: String) {
        thread = DedicatedThreads(name: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await thread.run(body)
    }

    /// Runs `body` like `run`, passing its `ScanBridgeError` through; should the queue itself
    /// fail, that is `code` with "`what` failed".
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws(ScanBridgeError) -> T,
                              failing code: Int, what: String) async throws(ScanBridgeError) -> T {
        let result: Result<T, ScanBridgeError>
        do {
            result = try await thread.run { () -> Result<T, ScanBridgeError> in
                do throws(ScanBridgeError) { return .success(try body()) } catch { return .failure(error) }
            }
        } catch {
            throw ScanBridgeError(code: code, message: "\(what) failed: \(error)")
        }
        return try result.get()
    }

    /// Runs `body` later without waiting for it (cleanup such as removing a file).
    func submit(_ body: @escaping @Sendable () -> Void) {
        thread.submit(body)
    }
}
