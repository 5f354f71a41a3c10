#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// One or more long-lived OS threads fed by one FIFO of jobs: where blocking C calls (SANE,
/// V4L2, file I/O, codecs) run, so that none of them ever occupies Swift's cooperative pool.
///
/// With one thread, jobs run one at a time in submission order (what SANE needs: every call of
/// a device on the same thread). With N threads, jobs start in submission order and run in
/// parallel. `run` bridges a job to async code with a continuation resumed exactly once, on the
/// job's thread, outside every lock. `stop()` (or the last reference going away) lets the queued
/// jobs finish, then the threads end.
public final class DedicatedThreads: Sendable {
    public typealias Job = @Sendable () -> Void

    public let name: String
    public let threadCount: Int
    private let jobs = ThreadQueue<Job>()
    private let members: Members

    /// Starts `threads` threads named `name` (`name-0`, `name-1`, … when more than one).
    /// `stackSize` nil is the system default; SANE backends and codecs want 4 MiB or more.
    public init(name: String, threads: Int = 1, stackSize: Int? = nil) {
        self.name = name
        threadCount = max(1, threads)
        let members = Members()
        self.members = members
        let jobs = jobs
        for index in 0..<threadCount {
            NamedThread.start(name: threadCount == 1 ? name : "\(name)-\(index)", stackSize: stackSize) {
                members.add(pthread_self())
                while let job = jobs.next() { job() }
                members.remove(pthread_self())
            }
        }
    }

    deinit { jobs.close() }

    /// True when called from one of these threads.
    public var isCurrent: Bool { members.contains(pthread_self()) }

    /// Queues `job` to run after every job queued before it has started. Submitting after
    /// `stop()` is a programming error.
    public func submit(_ job: @escaping Job) {
        let outcome = jobs.push(job)
        precondition(outcome != .closed, "job submitted to stopped threads \(name)")
    }

    /// Runs `body` on a thread and returns its result. The job runs even when the calling task
    /// is cancelled (device calls such as close must happen).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Like `run`, but a task cancelled before its job starts gets `CancellationError` and the job
    /// is skipped. A job that has started is never interrupted.
    public func runUnlessCancelled<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try Task.checkCancellation()
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
                submit {
                    if cancelled.isSet {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume(with: Result { try body() })
                    }
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// Like `run`, but gives up after `timeout` with `timeoutError()`: the job itself keeps
    /// running on its thread and its late result is dropped.
    public func run<T: Sendable>(timeout: Duration, timeoutError: @escaping @Sendable () -> Error,
                                 _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withOneShot(timeout: timeout, timeoutError: timeoutError) { shot in
            submit { shot.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body` on a thread and blocks the caller until it returns (cleanup paths that cannot
    /// be async). Never call it from one of these threads, nor from the cooperative pool.
    public func sync<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        precondition(!isCurrent, "sync called from its own thread \(name)")
        let result = BlockingResult<T>()
        submit { result.fulfil(body()) }
        return result.wait()
    }

    /// Ends the threads once the queued jobs have run. Idempotent.
    public func stop() { jobs.close() }
}

/// The threads of one `DedicatedThreads`, for `isCurrent`. Each thread adds itself before it
/// takes its first job.
private final class Members: Sendable {
    private let threads = Mutex<Set<pthread_t>>([])
    func add(_ thread: pthread_t) { _ = threads.withLock { $0.insert(thread) } }
    func remove(_ thread: pthread_t) { _ = threads.withLock { $0.remove(thread) } }
    func contains(_ thread: pthread_t) -> Bool { threads.withLock { $0.contains(thread) } }
}

private final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
