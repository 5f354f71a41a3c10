import Foundation
import ScanBridgeCore

/// A fixed set of dedicated threads for CPU-heavy imaging work (codecs, resampling), so that it
/// never occupies Swift's cooperative pool: async callers `await run { … }` and are resumed when
/// the work is done. FIFO; the continuation is resumed on the pool thread, outside every lock.
public final class ComputePool: Sendable {
    /// One thread per core.
    public static let shared = ComputePool(threads: ProcessInfo.processInfo.activeProcessorCount, name: "sb-compute")

    public var threadCount: Int { threads.threadCount }
    public var name: String { threads.name }
    private let threads: DedicatedThreads

    public init(threads: Int, name: String = "sb-compute") {
        self.threads = DedicatedThreads(name: name, threads: threads, stackSize: 4 << 20)
    }

    /// Runs `work` on a pool thread and returns its result. Cancellation is checked before the
    /// work starts (running codec calls are not interrupted).
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runUnlessCancelled(work)
    }

    /// Lets the threads exit once the queued work is done (pools other than `shared`).
    public func shutdown() { threads.stop() }

    /// True on one of this pool's threads.
    public var isCurrentThreadInPool: Bool { threads.isCurrent }
}
