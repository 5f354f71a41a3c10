import Synchronization
import Testing
@testable import ScanBridgeCore

#if canImport(Glibc)
import Glibc
#endif

/// An append-only list shared by jobs on other threads.
private final class Log<Entry: Sendable>: Sendable {
    private let entries = Mutex<[Entry]>([])
    func add(_ entry: Entry) { entries.withLock { $0.append(entry) } }
    var all: [Entry] { entries.withLock { $0 } }
}

private struct Late: Error, Equatable {}

/// A value shared by reference between the test and jobs on other threads.
private final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func store(_ value: Value) { storage.withLock { $0 = value } }
    /// Applies `change` and returns the new value.
    @discardableResult
    func update(_ change: (inout Value) -> Void) -> Value {
        storage.withLock { value in
            change(&value)
            return value
        }
    }
}

@Suite("Dedicated threads")
struct ExecutorTests {
    @Test("one thread runs jobs one at a time in submission order, all on the same named thread")
    func orderOnOneThread() async throws {
        let threads = DedicatedThreads(name: "sb-test-order")
        defer { threads.stop() }
        let order = Log<Int>()
        let names = Log<String>()
        let running = Shared(0)
        let overlapped = Shared(false)
        for index in 0..<200 {
            threads.submit {
                if running.update({ $0 += 1 }) > 1 { overlapped.store(true) }
                order.add(index)
                names.add(currentThreadName())
                running.update { $0 -= 1 }
            }
        }
        let last = try await threads.run { threads.isCurrent }
        #expect(last)
        #expect(!threads.isCurrent)
        #expect(order.all == Array(0..<200))
        #expect(Set(names.all) == ["sb-test-order"])
        #expect(!overlapped.value)
    }

    @Test("N threads run jobs in parallel")
    func parallel() async throws {
        let threads = DedicatedThreads(name: "sb-test-parallel", threads: 3)
        defer { threads.stop() }
        // Each job waits until all three have started: only possible when they run at once.
        let started = Shared(0)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await threads.run { () -> Bool in
                        started.update { $0 += 1 }
                        let deadline = ContinuousClock.now + .seconds(10)
                        while started.value < 3 {
                            if ContinuousClock.now > deadline { return false }
                            usleep(1000)
                        }
                        return threads.isCurrent
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == [true, true, true])
        #expect(threads.threadCount == 3)
    }

    @Test("a job's result and error reach the caller; sync blocks until the job returns")
    func resultsAndErrors() async throws {
        let threads = DedicatedThreads(name: "sb-test-result")
        defer { threads.stop() }
        #expect(try await threads.run { 6 * 7 } == 42)
        await #expect(throws: Late.self) { try await threads.run { () throws -> Int in throw Late() } }
        let value = Shared(0)
        let seen = threads.sync { () -> Int in
            usleep(20_000)
            value.store(5)
            return 9
        }
        #expect(seen == 9)
        #expect(value.value == 5)
    }

    @Test("a one-shot continuation is resumed once: only the first of many racing parties wins")
    func oneShotResumedOnce() async throws {
        let winners = Shared(0)
        let threads = DedicatedThreads(name: "sb-test-race", threads: 4)
        defer { threads.stop() }
        let value = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, Error>) in
            let shot = OneShot(continuation)
            for index in 0..<64 {
                threads.submit {
                    if shot.resume(with: .success(index)) { winners.update { $0 += 1 } }
                }
            }
        }
        _ = try await threads.run {}   // every racing job has run (they were queued before)
        _ = try await threads.run {}
        _ = try await threads.run {}
        _ = try await threads.run {}
        #expect((0..<64).contains(value))
        #expect(winners.value == 1)
    }

    @Test("a timeout fires while the job is still running; the job's late result is dropped")
    func timeoutDropsLateResult() async throws {
        let threads = DedicatedThreads(name: "sb-test-timeout")
        defer { threads.stop() }
        let release = BlockingResult<Void>()
        let finished = Shared(false)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: Late.self) {
            try await threads.run(timeout: .milliseconds(100), timeoutError: { Late() }) { () -> Int in
                release.wait()
                finished.store(true)
                return 1
            }
        }
        let waited = clock.now - start
        #expect(waited >= .milliseconds(100))
        #expect(waited < .seconds(5))
        #expect(!finished.value, "the caller was resumed before the job ended")
        release.fulfil(())
        // The thread goes on with the next job once the slow one has returned its (dropped) result.
        #expect(try await threads.run { finished.value })
    }

    @Test("a job that beats its timeout returns its result and the timer never fires")
    func jobBeatsTimeout() async throws {
        let threads = DedicatedThreads(name: "sb-test-fast")
        defer { threads.stop() }
        let timedOut = Shared(false)
        let value = try await withOneShot(timeout: .milliseconds(50), timeoutError: { Late() },
                                          whenTimedOut: { timedOut.store(true) }) { shot in
            threads.submit { shot.resume(with: .success(7)) }
        }
        #expect(value == 7)
        try await Task.sleep(for: .milliseconds(150))
        #expect(!timedOut.value)
    }

    @Test("runUnlessCancelled: a task cancelled before its job starts gets CancellationError, the job is skipped")
    func cancellation() async throws {
        let threads = DedicatedThreads(name: "sb-test-cancel")
        defer { threads.stop() }
        let gate = BlockingResult<Void>()
        let ran = Shared(false)
        threads.submit { gate.wait() }   // keeps the thread busy so the next job stays queued
        let task = Task {
            try await threads.runUnlessCancelled { ran.store(true) }
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        gate.fulfil(())
        await #expect(throws: CancellationError.self) { try await task.value }
        _ = try await threads.run {}
        #expect(!ran.value)

        // Already cancelled: refused before anything is queued.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await threads.runUnlessCancelled { ran.store(true) }
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        // Not cancelled: runs as usual; `run` runs a cancelled task's job anyway.
        try await threads.runUnlessCancelled { ran.store(true) }
        #expect(ran.value)
        let forced = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await threads.run { 3 }
        }
        #expect(try await forced.value == 3)
    }

    @Test("stop lets queued jobs finish, then the threads end")
    func stopDrains() async throws {
        let threads = DedicatedThreads(name: "sb-test-stop")
        let done = Log<Int>()
        let ended = BlockingResult<Void>()
        for index in 0..<10 { threads.submit { usleep(1000); done.add(index) } }
        threads.submit { ended.fulfil(()) }
        threads.stop()
        ended.wait()
        #expect(done.all == Array(0..<10))
    }

    @Test("a timed wait returns nil after its time-out, and the value once another thread hands it over")
    func timedWait() {
        let never = BlockingResult<Int>()
        let started = ContinuousClock.now
        #expect(never.wait(timeout: .milliseconds(50)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(50))

        let handed = BlockingResult<Int>()
        NamedThread.start(name: "test-handover") {
            usleep(20_000)
            handed.fulfil(7)
        }
        #expect(handed.wait(timeout: .seconds(10)) == 7)
        #expect(handed.wait(timeout: .milliseconds(1)) == 7)
    }

    @Test("queue: next hands out elements in order, then nil once closed; drain takes everything")
    func queue() {
        let queue = ThreadQueue<Int>()
        #expect(queue.push(1) == .accepted(wasEmpty: true))
        #expect(queue.push(2) == .accepted(wasEmpty: false))
        #expect(Array(queue.drain()) == [1, 2])
        #expect(queue.drain().isEmpty)
        #expect(queue.push(3) == .accepted(wasEmpty: true))
        queue.close()
        #expect(queue.push(4) == .closed)
        #expect(queue.next() == 3)
        #expect(queue.next() == nil)
    }

    @Test("thread names are cut to the kernel's 15 bytes at a character boundary")
    func names() {
        #expect(NamedThread.kernelName("sane-device test:0") == "sane-device tes")
        #expect(NamedThread.kernelName("short") == "short")
        #expect(NamedThread.kernelName("ééééééééé") == "ééééééé")
    }
}

/// The kernel's name of the calling thread.
func currentThreadName() -> String {
    var buffer = [CChar](repeating: 0, count: 32)
    let fd = open("/proc/thread-self/comm", O_RDONLY)
    guard fd >= 0 else { return "?" }
    defer { close(fd) }
    let count = read(fd, &buffer, 31)
    guard count > 0 else { return "?" }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        .trimmingCharacters(in: "\n")
}

private extension String {
    func trimmingCharacters(in character: Character) -> String {
        var result = self
        while result.last == character { result.removeLast() }
        return result
    }
}
