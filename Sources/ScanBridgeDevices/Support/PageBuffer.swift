import Foundation

/// The hand-over point between a device thread (producer) and the async consumer of a page
/// stream.
///
/// Backpressure policy: the device thread never waits while a page is being transferred, so a
/// slow consumer can never make a scanner time out mid-sheet. Between pages it waits only while
/// the buffer already holds `limits.pages` pages or `limits.bytes` bytes (whichever comes first;
/// a single page larger than the byte bound is still accepted into an empty buffer). With the
/// defaults (16 pages / 512 MiB, about 30 A4 pages at 300 dpi colour) a consumer that keeps up on
/// average never stalls the feeder; one that stops for longer pauses the feeder *between* sheets,
/// which every ADF tolerates. The storage layer is expected to take pages as they come and spill
/// to disk, so in the service this bound is never reached.
///
/// Consumers read through `stream()` (an `AsyncThrowingStream`): queued pages are delivered
/// before the terminal error, so every page finished before a fault reaches the consumer.
final class PageBuffer: @unchecked Sendable {
    struct Limits: Sendable {
        var pages: Int
        var bytes: Int
        static let `default` = Limits(pages: 16, bytes: 512 << 20)
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pages: [ScannedPage] = []
    private var bufferedBytes = 0
    private var terminal: Error?? = nil          // .some(nil): finished cleanly
    private var waiter: CheckedContinuation<ScannedPage?, Error>?
    private var cancelRequested = false
    private let limits: Limits
    /// Called once when the consumer cancels or drops the stream.
    private let onConsumerGone: @Sendable () -> Void

    init(limits: Limits = .default, onConsumerGone: @escaping @Sendable () -> Void) {
        self.limits = limits
        self.onConsumerGone = onConsumerGone
    }

    // MARK: producer side (device thread)

    /// Hands a finished page to the consumer. Never blocks.
    func push(_ page: ScannedPage) {
        condition.lock()
        guard terminal == nil else {
            condition.unlock()
            return
        }
        let resume: CheckedContinuation<ScannedPage?, Error>?
        if let pending = waiter {
            waiter = nil
            resume = pending
        } else {
            pages.append(page)
            bufferedBytes += page.byteCount
            resume = nil
        }
        condition.unlock()
        resume?.resume(returning: page)
    }

    /// Blocks the device thread until there is room for another page (see the policy above).
    /// Returns false when the scan was cancelled or the stream ended meanwhile.
    func waitForRoom() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !cancelRequested && terminal == nil && !pages.isEmpty
                && (pages.count >= limits.pages || bufferedBytes >= limits.bytes) {
            condition.wait()
        }
        return !cancelRequested && terminal == nil
    }

    /// Ends the stream after the queued pages: cleanly (`nil`) or with `error`. First call wins.
    func finish(_ error: Error?) {
        condition.lock()
        guard terminal == nil else {
            condition.unlock()
            return
        }
        terminal = .some(error)
        let resume = pages.isEmpty ? waiter : nil
        if resume != nil { waiter = nil }
        condition.broadcast()
        condition.unlock()
        if let resume {
            if let error { resume.resume(throwing: error) } else { resume.resume(returning: nil) }
        }
    }

    /// Asks the producer to stop; wakes it if it waits for room.
    func requestCancel() {
        condition.lock()
        cancelRequested = true
        condition.broadcast()
        condition.unlock()
    }

    var isCancelRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelRequested
    }

    var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return terminal != nil
    }

    // MARK: consumer side

    func next() async throws -> ScannedPage? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ScannedPage?, Error>) in
                condition.lock()
                if !pages.isEmpty {
                    let page = pages.removeFirst()
                    bufferedBytes -= page.byteCount
                    condition.broadcast()
                    condition.unlock()
                    continuation.resume(returning: page)
                } else if let terminal {
                    // Report the terminal error once, then end.
                    self.terminal = .some(nil)
                    condition.unlock()
                    if let error = terminal { continuation.resume(throwing: error) } else { continuation.resume(returning: nil) }
                } else if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            consumerGone(error: CancellationError())
        }
    }

    /// The consumer cancelled its task or dropped the stream: stop the scan, fail a waiting read.
    func consumerGone(error: Error) {
        condition.lock()
        cancelRequested = true
        let resume = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        resume?.resume(throwing: error)
        onConsumerGone()
    }

    /// The consumer's view: an `AsyncThrowingStream` that pulls from this buffer. Dropping the
    /// stream (and its iterators) cancels the scan.
    func stream() -> AsyncThrowingStream<ScannedPage, Error> {
        let token = DropToken(self)
        return AsyncThrowingStream(unfolding: { try await token.buffer.next() })
    }

    private final class DropToken: Sendable {
        let buffer: PageBuffer
        init(_ buffer: PageBuffer) { self.buffer = buffer }
        deinit {
            if !buffer.isFinished { buffer.consumerGone(error: CancellationError()) }
        }
    }
}
