import Synchronization
import Testing
@testable import ScanBridgeCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("The syscall funnel")
struct SyscallTests {
    @Test("EINTR is retried: a call failing with EINTR twice succeeds on the third attempt")
    func eintrRetried() throws {
        var attempts = 0
        let value = try Syscall.checked("fake") { () -> Int32 in
            attempts += 1
            if attempts <= 2 {
                errno = EINTR
                return -1
            }
            return 42
        }
        #expect(value == 42)
        #expect(attempts == 3)
    }

    @Test("a blocking read on a pipe interrupted by a signal is retried and gets the bytes")
    func signalInterruptedRead() async throws {
        // No SA_RESTART: the kernel ends the read with EINTR instead of restarting it.
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        #expect(sigaction(SIGUSR2, &action, nil) == 0)

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let readEnd = fds[0], writeEnd = fds[1]
        let attempts = Atomic<Int>(0)
        let reader = Mutex<pthread_t?>(nil)
        let result = Mutex<Result<[UInt8], SystemCallError>?>(nil)

        NamedThread.start(name: "syscall-test") {
            // Threads inherit the creator's signal mask; this one must take the signal.
            var unblock = sigset_t()
            sigemptyset(&unblock)
            sigaddset(&unblock, SIGUSR2)
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            reader.withLock { $0 = pthread_self() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
            defer { buffer.deallocate() }
            let outcome: Result<[UInt8], SystemCallError>
            do throws(SystemCallError) {
                let count = try Syscall.checked("read") { () -> Int in
                    attempts.add(1, ordering: .relaxed)
                    return read(readEnd, buffer.baseAddress, buffer.count)
                }
                outcome = .success(Array(buffer[0..<count]))
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
        }
        // Signal the reader until the read has been interrupted and retried at least once.
        let deadline = ContinuousClock.now + .seconds(10)
        while attempts.load(ordering: .relaxed) < 2, ContinuousClock.now < deadline {
            if let target = reader.withLock({ $0 }) { pthread_kill(target, SIGUSR2) }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(attempts.load(ordering: .relaxed) >= 2)
        let bytes: [UInt8] = [1, 2, 3]
        #expect(write(writeEnd, bytes, bytes.count) == 3)
        while result.withLock({ $0 }) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try result.withLock { $0 }?.get() == bytes)
    }

    @Test("EAGAIN is a value: a read on an empty non-blocking pipe would block")
    func eagainIsValue() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        defer { close(fds[0]); close(fds[1]) }
        var buffer = [UInt8](repeating: 0, count: 8)
        let empty = try buffer.withUnsafeMutableBytes { raw throws(SystemCallError) in
            try Syscall.nonBlocking("read") { read(fds[0], raw.baseAddress, raw.count) }
        }
        #expect(empty == .wouldBlock)
        let sent: [UInt8] = [7, 8]
        #expect(write(fds[1], sent, 2) == 2)
        let ready = try buffer.withUnsafeMutableBytes { raw throws(SystemCallError) in
            try Syscall.nonBlocking("read") { read(fds[0], raw.baseAddress, raw.count) }
        }
        #expect(ready == .done(2))
        #expect(Array(buffer[0..<2]) == [7, 8])
    }

    @Test("a failure carries the call, the path and errno; `checked` throws EAGAIN")
    func errnoCarried() {
        let path = "/nonexistent-\(getpid())/file"
        #expect(throws: SystemCallError(call: "open", path: path, errno: ENOENT)) {
            try Syscall.checked("open", path: path) { open(path, O_RDONLY) }
        }
        #expect(throws: SystemCallError(call: "opendir", path: path, errno: ENOENT)) {
            try Syscall.nonNull("opendir", path: path) { opendir(path) }
        }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        defer { close(fds[0]); close(fds[1]) }
        var byte: UInt8 = 0
        #expect(throws: SystemCallError(call: "read", errno: EAGAIN)) {
            try Syscall.checked("read") { read(fds[0], &byte, 1) }
        }
        #expect(SystemCallError(call: "open", path: path, errno: ENOENT).description == "open \(path): No such file or directory (errno 2)")
        #expect(throws: SystemCallError(call: "connect", errno: ECONNREFUSED)) {
            try Syscall.nonBlocking("connect", inProgressIsWouldBlock: true) { () -> Int32 in
                errno = ECONNREFUSED
                return -1
            }
        }
        #expect((try? Syscall.nonBlocking("connect", inProgressIsWouldBlock: true) { () -> Int32 in
            errno = EINPROGRESS
            return -1
        }) == .wouldBlock)
    }
}
