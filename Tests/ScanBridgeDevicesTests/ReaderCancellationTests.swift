import Foundation
import Glibc
@_spi(Testing) import ScanBridgeDevices
import Testing

/// SANE's sanei_thread asks for asynchronous cancellation of every backend reader thread and
/// cancels the reader at the end of each page; a reader cancelled inside malloc/free deadlocks
/// the process (README "Batch benchmark"). ScanBridge's executables define and export
/// `pthread_setcanceltype` (CDeferredCancellation), turning that request into deferred
/// cancellation. These tests look the function up the way a dlopen'ed backend binds it: through
/// the process's global symbol scope. The existing cancel tests (`cancelMidPageStopsWithinOneSecond`)
/// show that a reader blocked in write() is still ended at once.
@Suite("Backend reader threads get deferred cancellation")
struct ReaderCancellationTests {
    typealias SetCancelType = @convention(c) (Int32, UnsafeMutablePointer<Int32>?) -> Int32

    /// `pthread_setcanceltype` as the global scope resolves it (what libsane-test.so binds to).
    static func globalSetCancelType() throws -> SetCancelType {
        let program = try #require(dlopen(nil, RTLD_NOW))
        defer { dlclose(program) }
        let symbol = try #require(dlsym(program, "pthread_setcanceltype"))
        return unsafeBitCast(symbol, to: SetCancelType.self)
    }

    @Test func theExecutableExportsItsDefinition() {
        #expect(SANEContext.readerCancellationIsDeferred)
    }

    @Test func askingForAsynchronousCancellationGivesDeferred() async throws {
        let setCancelType = try Self.globalSetCancelType()
        // On a thread of its own, as sanei_thread's reader does at its start.
        let (status, typeAfterRequest) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int32, Int32), Never>) in
            let thread = Thread {
                var previous: Int32 = -1, current: Int32 = -1
                let status = setCancelType(Int32(PTHREAD_CANCEL_ASYNCHRONOUS), &previous)
                // Set it back to deferred and read what it was.
                _ = setCancelType(Int32(PTHREAD_CANCEL_DEFERRED), &current)
                continuation.resume(returning: (status, current))
            }
            thread.start()
        }
        #expect(status == 0)
        #expect(typeAfterRequest == Int32(PTHREAD_CANCEL_DEFERRED))
    }

    @Test func deferredRequestsAndErrorsPassThroughToLibc() throws {
        let setCancelType = try Self.globalSetCancelType()
        var previous: Int32 = -1
        #expect(setCancelType(Int32(PTHREAD_CANCEL_DEFERRED), &previous) == 0)
        #expect(previous == Int32(PTHREAD_CANCEL_DEFERRED))
        // An invalid type is libc's to refuse (EINVAL), as before.
        #expect(setCancelType(42, &previous) == EINVAL)
    }
}
