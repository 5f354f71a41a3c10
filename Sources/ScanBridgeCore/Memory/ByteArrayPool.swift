import Glibc
import Synchronization

/// Large byte arrays kept for reuse once nothing else references them, so that work done page
/// after page (a scan's rasters, the pages' stored forms) does not fault in fresh memory every
/// time.
///
/// Why: `scanbridge serve` runs under `MemoryPolicy`, so every block of a megabyte or more is a
/// fresh mapping that the kernel zeroes page by page as it is first written, and gives back when
/// it is freed: for a page buffer (26 MB for A4 300 dpi colour) about a fifth of the service's
/// CPU in a colour scan job (perf, `make job-bench`). The pool keeps a reference to every array
/// it is given (`track`), at most `maxBytes` of them; an array is free once the pool's reference
/// is its only one (its page was deleted or spilled), and `take` hands a free one to the next
/// page instead of a new one. An array still referenced by anything (a page in the buffer, a
/// request reading it) is never handed out: the check is the storage's own reference count, and
/// even a wrong answer could not corrupt a page, since writing to a shared array copies it first.
///
/// Bounded: the pool references at most `maxBytes` of arrays (counted by capacity), and an
/// array nothing else has used for `idleRelease` is given back to the system by the pool's
/// trimmer thread, which runs only while the pool holds arrays. So an idle service returns to
/// its idle size half a minute after its pages are gone. Half a minute, not a few seconds: a
/// clerk's next batch (the feeder reloaded, the last pages checked) mostly starts within it,
/// and a colour page's buffer that has to be faulted in again costs about 18 ms of CPU
/// (memory touched for the first time: 0.7 CPU s a GB on the development machine).
public final class ByteArrayPool: Sendable {
    /// Arrays smaller than this come from the heap cheaply and are not pooled.
    public let minimumBytes: Int
    /// Bytes (capacity) of arrays the pool references at most, in use and free together.
    public let maxBytes: Int
    /// How long a free array is kept before the trimmer gives it back.
    public let idleRelease: Duration
    /// The trimmer thread's name.
    let name: String

    /// What the pool did, for tests and benchmarks.
    public struct Counters: Equatable, Sendable {
        public var reused = 0
        public var tracked = 0
        public var released = 0
    }

    private struct Slot {
        var pixels: [UInt8]
        /// When the trimmer first saw the buffer free (nil: in use, or not looked at yet).
        var freeSince: ContinuousClock.Instant?
    }

    private struct State {
        var slots: [Slot] = []
        var trackedBytes = 0
        var trimmerRunning = false
        var counters = Counters()

        mutating func removeSlot(at index: Int) -> [UInt8] {
            let slot = slots.remove(at: index)
            trackedBytes -= slot.pixels.capacity
            return slot.pixels
        }
    }

    private let state = Mutex(State())

    public init(name: String, minimumBytes: Int = 1 << 20, maxBytes: Int = 512 << 20, idleRelease: Duration = .seconds(30)) {
        precondition(MemoryLayout<[UInt8]>.size == MemoryLayout<NativeObject>.size,
                     "an array is one reference to its storage")
        self.name = name
        self.minimumBytes = minimumBytes
        self.maxBytes = maxBytes
        self.idleRelease = idleRelease
    }

    /// An array of exactly `count` bytes that nothing else references, its contents left over
    /// from an earlier page (the caller overwrites them); nil when the pool has none free (the
    /// caller allocates one). Free arrays of other sizes are given back at once: a scan of
    /// another page size has started.
    public func take(count: Int) -> [UInt8]? {
        guard count >= minimumBytes else { return nil }
        var unneeded: [[UInt8]] = []
        let found: [UInt8]? = state.withLock { state in
            var found: [UInt8]?
            var index = 0
            while index < state.slots.count {
                guard state.slots[index].pixels.storageIsUniquelyReferenced() else {
                    index += 1
                    continue
                }
                if found == nil && state.slots[index].pixels.count == count {
                    found = state.removeSlot(at: index)
                    state.counters.reused += 1
                } else if state.slots[index].pixels.count != count {
                    unneeded.append(state.removeSlot(at: index))
                    state.counters.released += 1
                } else {
                    index += 1
                }
            }
            return found
        }
        unneeded.removeAll()   // outside the lock: unmapping 26 MB takes a while
        return found
    }

    /// An empty array with room for at least `count` bytes that nothing else references (the
    /// free one with the least room), to be filled by the caller; nil when the pool has none.
    /// Arrays of varying sizes (encoded pages) share the pool this way.
    public func take(capacityFor count: Int) -> [UInt8]? {
        guard count >= minimumBytes else { return nil }
        var found: [UInt8]? = state.withLock { state in
            var best: Int?
            for index in state.slots.indices where state.slots[index].pixels.capacity >= count {
                if let chosen = best, state.slots[chosen].pixels.capacity <= state.slots[index].pixels.capacity { continue }
                if state.slots[index].pixels.storageIsUniquelyReferenced() { best = index }
            }
            guard let best else { return nil }
            state.counters.reused += 1
            return state.removeSlot(at: best)
        }
        found?.removeAll(keepingCapacity: true)
        return found
    }

    /// Keeps a reference to `pixels`, an array just filled, so that it can serve a later page
    /// once its own page is gone. Ignored for small arrays and when the pool is full.
    public func track(_ pixels: [UInt8]) {
        guard pixels.count >= minimumBytes else { return }
        let startTrimmer: Bool = state.withLock { state in
            guard state.trackedBytes + pixels.capacity <= maxBytes else { return false }
            state.slots.append(Slot(pixels: pixels))
            state.trackedBytes += pixels.capacity
            state.counters.tracked += 1
            defer { state.trimmerRunning = true }
            return !state.trimmerRunning
        }
        if startTrimmer {
            NamedThread.start(name: name) { [self] in trim() }
        }
    }

    /// Arrays referenced now (in use and free), and their bytes.
    public var holding: (buffers: Int, bytes: Int) {
        state.withLock { ($0.slots.count, $0.trackedBytes) }
    }

    public var counters: Counters {
        state.withLock { $0.counters }
    }

    /// The trimmer: gives back arrays free for `idleRelease`; ends when the pool is empty.
    private func trim() {
        let (seconds, attoseconds) = (idleRelease / 3).components
        let tick = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        while true {
            var remaining = tick, left = timespec()
            while nanosleep(&remaining, &left) != 0 && errno == EINTR { remaining = left }
            var released: [[UInt8]] = []
            let done: Bool = state.withLock { state in
                let now = ContinuousClock.now
                var index = 0
                while index < state.slots.count {
                    if !state.slots[index].pixels.storageIsUniquelyReferenced() {
                        state.slots[index].freeSince = nil
                    } else if let since = state.slots[index].freeSince, now - since >= idleRelease {
                        released.append(state.removeSlot(at: index))
                        state.counters.released += 1
                        continue
                    } else if state.slots[index].freeSince == nil {
                        state.slots[index].freeSince = now
                    }
                    index += 1
                }
                if state.slots.isEmpty { state.trimmerRunning = false }
                return state.slots.isEmpty
            }
            released.removeAll()   // outside the lock
            if done { return }
        }
    }
}

extension Array where Element == UInt8 {
    /// Whether this variable holds the only reference to the array's storage: the check
    /// `isKnownUniquelyReferenced` makes for a class, on the native object an array is a single
    /// reference to (checked when the pool is made). It reads only the object's strong count, so
    /// the class it is looked at through does not matter; a concrete native class, because the
    /// check through `AnyObject` answers false in unoptimised builds. The count is read
    /// atomically: a false answer may already be stale, a true one cannot be, since no other
    /// reference exists to copy.
    fileprivate mutating func storageIsUniquelyReferenced() -> Bool {
        withUnsafeMutablePointer(to: &self) { array in
            array.withMemoryRebound(to: NativeObject.self, capacity: 1) { storage in
                isKnownUniquelyReferenced(&storage.pointee)
            }
        }
    }
}

/// Any native Swift object, as `storageIsUniquelyReferenced` looks at an array's storage.
private final class NativeObject {}
