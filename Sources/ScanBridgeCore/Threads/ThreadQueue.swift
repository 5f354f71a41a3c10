import DequeModule

/// A FIFO that other threads push into and one or more dedicated threads take from: either
/// one element at a time, sleeping while it is empty (`next`), or everything at once without
/// waiting (`drain`, for a thread that sleeps in the kernel and is woken some other way).
///
/// Closing refuses further pushes; elements already queued are still handed out, then `next`
/// returns nil. A taken element is out of the queue at once (its captures, e.g. whole pages,
/// are not kept alive by the queue's storage).
public final class ThreadQueue<Element: Sendable>: @unchecked Sendable {
    public enum Push: Sendable, Equatable {
        /// Queued; `wasEmpty` tells a thread that waits in the kernel that it needs a wake-up.
        case accepted(wasEmpty: Bool)
        /// The queue is closed; the element was not queued.
        case closed
    }

    // All state is guarded by `lock`.
    private let lock = ConditionLock()
    private var elements = Deque<Element>()
    private var closed = false

    public init() {}

    /// Appends `element` unless the queue is closed, waking one thread waiting in `next`.
    @discardableResult
    public func push(_ element: Element) -> Push {
        lock.withLock {
            if closed { return .closed }
            let wasEmpty = elements.isEmpty
            elements.append(element)
            lock.signal()
            return .accepted(wasEmpty: wasEmpty)
        }
    }

    /// The oldest element, waiting while the queue is empty and open; nil once it is closed and
    /// empty.
    public func next() -> Element? {
        lock.withLock {
            while elements.isEmpty && !closed { lock.wait() }
            return elements.popFirst()
        }
    }

    /// Every queued element, oldest first, without waiting.
    public func drain() -> Deque<Element> {
        lock.withLock {
            if elements.isEmpty { return [] }
            defer { elements.removeAll(keepingCapacity: true) }
            return elements
        }
    }

    /// Refuses further pushes and wakes every waiting thread. Idempotent.
    public func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }

    public var isClosed: Bool { lock.withLock { closed } }
}
