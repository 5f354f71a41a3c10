import Foundation
import ScanBridgeCore

/// One dedicated OS thread fed by a FIFO of jobs: where every blocking SANE or V4L2 call of a
/// device runs, so that none of them ever occupies Swift's cooperative thread pool.
///
/// Jobs run one at a time in submission order. `run(_:)` bridges a job to async code with a
/// continuation that the thread resumes exactly once, outside the queue's lock. `stop()` lets the
/// queued jobs finish and then ends the thread.
final class DeviceThread: @unchecked Sendable {
    // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false
    private var thread: Thread?
    let name: String

    init(name: String) {
        self.name = name
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        // SANE backends and libusb keep deep stacks; the default 512 KiB of secondary threads
        // is too tight for some of them.
        thread.stackSize = 4 << 20
        self.thread = thread
        thread.start()
    }

    /// True when called from this device's thread (used by assertions).
    var isCurrent: Bool { Thread.current.name == name && Thread.current === thread }

    /// Queues `job`; it runs on the device thread after every job queued before it.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        let accepted = !stopping
        if accepted {
            jobs.append(job)
            condition.signal()
        }
        condition.unlock()
        precondition(accepted, "job submitted to stopped device thread \(name)")
    }

    /// Runs `body` on the device thread and returns its result to the caller.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Ends the thread once the queued jobs have run. Idempotent.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

/// A continuation that several parties race to resume (a job finishing, a timer, a cancel): the
/// first one wins, the others are ignored. The continuation is taken out under the lock and
/// resumed after it is released.
final class OneShot<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?

    init(_ continuation: CheckedContinuation<T, Error>) { self.continuation = continuation }

    @discardableResult
    func resume(with result: Result<T, Error>) -> Bool {
        lock.lock()
        let taken = continuation
        continuation = nil
        lock.unlock()
        taken?.resume(with: result)
        return taken != nil
    }
}

extension DeviceThread {
    /// Like `run(_:)`, but gives up after `timeout` seconds with `timeoutError` (the job itself
    /// keeps running on the thread; its late result is dropped).
    func run<T: Sendable>(timeout: Double, timeoutError: ScanBridgeError,
                          _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let shot = OneShot(continuation)
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                shot.resume(with: .failure(timeoutError))
            }
            submit { shot.resume(with: Result { try body() }) }
        }
    }
}
