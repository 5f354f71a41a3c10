/// An order-preserving, bounded parallel map over an async sequence: at most `limit` elements
/// are pulled from the base and not yet handed out, each transformed as soon as it is pulled;
/// results come out in input order, each as soon as it and those before it are done. The base is
/// pulled only when there is room, so a slow consumer slows the pulling (backpressure) rather
/// than letting work pile up in memory; a producer that must never wait (a scanner) buffers or
/// spills on its side.
///
/// Pulling runs in a task of its own, so a result that is ready is handed out at once even while
/// the base takes its time with the next element (a scanner reading the next page). When the
/// base fails, every element it delivered before is still transformed and handed out, then its
/// error is thrown. An error from a transform is thrown in order and ends the sequence (later
/// transforms are cancelled). Ending the iteration early, or cancelling the consuming task,
/// cancels the pulling.
public struct ParallelMapSequence<Base: AsyncSequence & Sendable, Output: Sendable>: AsyncSequence, Sendable where Base.Element: Sendable {
    public typealias Element = Output
    let base: Base
    let limit: Int
    let transform: @Sendable (Base.Element) async throws -> Output

    public func makeAsyncIterator() -> Iterator {
        Iterator(Puller(base: base, limit: limit, transform: transform))
    }

    public struct Iterator: AsyncIteratorProtocol {
        private let puller: Puller
        private var results: AsyncThrowingStream<Task<Output, any Error>, any Error>.Iterator
        private var finished = false

        fileprivate init(_ puller: Puller) {
            self.puller = puller
            results = puller.results.makeAsyncIterator()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Output? {
            guard !finished else { return nil }
            do {
                guard let head = try await results.next(isolation: actor) else {
                    finished = true
                    return nil
                }
                let value = try await withTaskCancellationHandler {
                    try await head.value
                } onCancel: {
                    head.cancel()
                }
                puller.handedOut()
                return value
            } catch {
                finished = true
                puller.stop()
                throw error
            }
        }

        public mutating func next() async throws -> Output? { try await next(isolation: nil) }
    }

    /// The task that pulls the base and starts each element's transform; it holds one permit per
    /// element pulled and not yet handed out. Stopped when the iterator goes away.
    fileprivate final class Puller: Sendable {
        let results: AsyncThrowingStream<Task<Output, any Error>, any Error>
        private let permits: AsyncStream<Void>.Continuation
        private let task: Task<Void, Never>

        init(base: Base, limit: Int, transform: @escaping @Sendable (Base.Element) async throws -> Output) {
            let (results, output) = AsyncThrowingStream<Task<Output, any Error>, any Error>.makeStream()
            let (permitStream, permits) = AsyncStream<Void>.makeStream()
            for _ in 0..<limit { permits.yield() }
            self.results = results
            self.permits = permits
            task = Task {
                var elements = base.makeAsyncIterator()
                var available = permitStream.makeAsyncIterator()
                var started: [Task<Output, any Error>] = []
                do {
                    // A permit first, then the element: the base is pulled only when there is room.
                    while await available.next() != nil, !Task.isCancelled {
                        guard let element = try await elements.next() else { break }
                        let work = Task { try await transform(element) }
                        started.append(work)
                        if started.count > limit { started.removeFirst() }
                        output.yield(work)
                    }
                    output.finish()
                } catch {
                    output.finish(throwing: error)
                }
                // Stopped (cancelled): transforms not handed out yet are not wanted.
                if Task.isCancelled { for work in started { work.cancel() } }
            }
        }

        func handedOut() { permits.yield() }

        func stop() {
            task.cancel()
            permits.finish()
        }

        deinit { stop() }
    }
}

extension AsyncSequence where Self: Sendable, Element: Sendable {
    /// Transforms each element on `pool`'s threads (never the cooperative pool), up to `limit`
    /// at a time (default: the pool's thread count), keeping the input order.
    public func parallelMap<Output: Sendable>(limit: Int? = nil, pool: ComputePool = .shared,
                                              _ transform: @escaping @Sendable (Element) throws -> Output) -> ParallelMapSequence<Self, Output> {
        ParallelMapSequence(base: self, limit: Swift.max(1, limit ?? pool.threadCount)) { element in
            try await pool.run { try transform(element) }
        }
    }

    /// Like `parallelMap`, for async transforms that schedule their own work (e.g. several
    /// pool jobs per element).
    public func orderedConcurrentMap<Output: Sendable>(limit: Int,
                                                       _ transform: @escaping @Sendable (Element) async throws -> Output) -> ParallelMapSequence<Self, Output> {
        ParallelMapSequence(base: self, limit: Swift.max(1, limit), transform: transform)
    }
}
