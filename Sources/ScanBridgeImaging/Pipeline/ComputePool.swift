import Foundation

/// A fixed set of dedicated threads for CPU-heavy imaging work (codecs, resampling), so that it
/// never occupies Swift's cooperative pool: async callers `await run { … }` and are resumed when
/// the work is done. FIFO; the continuation is resumed on the pool thread, outside the lock.
public final class ComputePool: Sendable {
    /// One thread per core.
    public static let shared = ComputePool(threads: ProcessInfo.processInfo.activeProcessorCount, name: "sb-compute")

    public let threadCount: Int
    public let name: String
    private let queue: JobQueue

    public init(threads: Int, name: String = "sb-compute") {
        threadCount = max(1, threads)
        self.name = name
        queue = JobQueue()
        for index in 0..<threadCount {
            let queue = queue
            let thread = Thread { queue.runWorker() }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    /// Runs `work` on a pool thread and returns its result. Cancellation is checked before the
    /// work starts (running codec calls are not interrupted).
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await withCheckedThrowingContinuation { continuation in
            queue.enqueue {
                let result = Result { try work() }
                continuation.resume(with: result)
            }
        }
    }

    /// Lets the threads exit once the queued work is done (pools other than `shared`).
    public func shutdown() { queue.stop() }

    /// True on one of this pool's threads.
    public var isCurrentThreadInPool: Bool { queue.isWorker(pthread_self()) }
}

/// The pool's queue: a lock-protected FIFO of jobs and a condition the workers wait on.
private final class JobQueue: @unchecked Sendable {
    // All state is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var stopped = false
    private var workers: Set<pthread_t> = []
    private static let finished: @Sendable () -> Void = {}

    func isWorker(_ thread: pthread_t) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return workers.contains(thread)
    }

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    func runWorker() {
        condition.lock()
        workers.insert(pthread_self())
        condition.unlock()
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]
            // The slot lets go of the job at once: a job's captures (whole pages) must not
            // outlive it until the next compaction.
            jobs[head] = Self.finished
            head += 1
            if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}
