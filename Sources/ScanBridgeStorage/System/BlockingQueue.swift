import Dispatch

/// A serial Dispatch queue for blocking file I/O and key derivation, bridged to async callers.
///
/// Work runs off Swift's cooperative pool; each continuation is resumed exactly once, after the
/// work returns. Serial, so the files of one owner (a buffer's cache, the document store) see
/// their operations in submission order.
final class BlockingQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, qos: .utility)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Runs `body` later without waiting for it (cleanup such as removing a file).
    func submit(_ body: @escaping @Sendable () -> Void) {
        queue.async(execute: body)
    }

    /// Runs `body` and waits for it on the calling thread (for `deinit`-like cleanup paths only).
    func sync<T>(_ body: () throws -> T) rethrows -> T {
        try queue.sync(execute: body)
    }
}
