/// A value one thread hands to another that blocks until it arrives: for code that must wait
/// synchronously (a `deinit`-like cleanup, the CLI's main thread). Never wait on the
/// cooperative pool.
public final class BlockingResult<Value: Sendable>: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = ConditionLock()
    private var value: Value?

    public init() {}

    /// Stores `value` and wakes the waiter. Only the first call counts.
    public func fulfil(_ value: Value) {
        lock.withLock {
            if self.value == nil { self.value = value }
            lock.broadcast()
        }
    }

    /// Blocks the calling thread until `fulfil` has been called, then returns the value.
    public func wait() -> Value {
        lock.withLock {
            while value == nil { lock.wait() }
            return value!
        }
    }

    /// Blocks the calling thread until `fulfil` has been called or `timeout` has passed; nil on
    /// time-out.
    public func wait(timeout: Duration) -> Value? {
        let deadline = ConditionLock.deadline(after: timeout)
        return lock.withLock {
            while value == nil {
                if !lock.wait(until: deadline) { break }
            }
            return value
        }
    }
}
