/// An order-preserving, bounded parallel map over an async sequence: at most `limit` elements
/// are being transformed at once; results come out in input order. The base sequence is pulled
/// only when there is room, so a slow consumer slows the pulling (backpressure) rather than
/// letting work pile up in memory; a producer that must never wait (a scanner) buffers or spills
/// on its side. An error from a transform is rethrown in order and cancels the rest.
public struct ParallelMapSequence<Base: AsyncSequence & Sendable, Output: Sendable>: AsyncSequence, Sendable where Base.Element: Sendable {
    public typealias Element = Output
    let base: Base
    let limit: Int
    let transform: @Sendable (Base.Element) async throws -> Output

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), limit: limit, transform: transform)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let limit: Int
        let transform: @Sendable (Base.Element) async throws -> Output
        var pending: [Task<Output, any Error>] = []
        var baseFinished = false

        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Output? {
            while !baseFinished && pending.count < limit {
                guard let element = try await base.next(isolation: actor) else {
                    baseFinished = true
                    break
                }
                let transform = transform
                pending.append(Task { try await transform(element) })
            }
            guard !pending.isEmpty else { return nil }
            let first = pending.removeFirst()
            do {
                return try await withTaskCancellationHandler {
                    try await first.value
                } onCancel: {
                    first.cancel()
                }
            } catch {
                for task in pending { task.cancel() }
                pending.removeAll()
                baseFinished = true
                throw error
            }
        }

        public mutating func next() async throws -> Output? { try await next(isolation: nil) }
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
