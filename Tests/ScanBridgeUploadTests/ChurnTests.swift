// Uploads under concurrent calls: cancels at random moments, waiters arriving as uploads end,
// and removal racing a retry. Every call ends, and the uploader's records stay consistent.
import Foundation
import ScanBridgeCore
import Synchronization
import Testing
@testable import ScanBridgeUpload

@Suite("Uploads under concurrent calls", .timeLimit(.minutes(2)))
struct ChurnTests {
    /// Many uploads through a limit of 3, each canceled at a random moment after its start (queued,
    /// connecting, mid-body, finishing): every one ends exactly once, in a final state, and the suite
    /// never hangs. Each body takes about 150 ms at the server's pace and every cancel comes
    /// within 400 ms of its own start, so however fast staging is, most are canceled while queued
    /// or on the wire.
    @Test(.timeLimit(.minutes(1)))
    func randomCancelsAllEnd() async throws {
        let server = try await TestServer("http_receiver.py", ["--slow", "1000000"])
        let harness = try Harness(maxConcurrentUploads: 3)
        let target = UploadTarget.httpPut(HTTPPutTarget(url: "http://127.0.0.1:\(server.port)/churn"))
        let uploader = harness.uploader
        var ids: [UploadID] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<24 {
                let id = try await uploader.start(UploadDocument(data: randomBytes(150_000 + index * 1000), fileName: "c.pdf"),
                                                  to: target, options: quick)
                ids.append(id)
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 0...400)))
                    await uploader.cancel(id)
                }
            }
            try await group.waitForAll()
        }
        var states: [UploadState] = []
        for id in ids { states.append(try await harness.uploader.wait(id).state) }
        #expect(states.allSatisfy { $0 == .succeeded || $0 == .canceled })
        #expect(states.contains(.canceled))
        // Succeeded ones left nothing staged; canceled ones kept exactly their two files.
        let canceled = zip(ids, states).filter { $0.1 == .canceled }.map(\.0)
        #expect(harness.stagedFiles() == canceled.flatMap { ["\($0).data", "\($0).json"] }.sorted())
        await harness.close()
    }

    /// `wait` called while an upload is ending (the uploader is then busy with the staging
    /// folder) is answered like any other: once every upload has ended, nobody is left waiting.
    /// Each upload (about 17 ms on the wire) gets a new waiter every fraction of a millisecond
    /// until it has ended, so some arrive during its ending. A lost waiter would hang its caller
    /// for good, so the waiters are counted instead of awaited.
    @Test(.timeLimit(.minutes(1)))
    func waitersArrivingAsUploadsEndAreAllAnswered() async throws {
        let server = try await TestServer("http_receiver.py", ["--slow", "3000000"])
        let harness = try Harness(maxConcurrentUploads: 8)
        let target = UploadTarget.httpPut(HTTPPutTarget(url: "http://127.0.0.1:\(server.port)/waiters"))
        let uploader = harness.uploader
        let waiters = WaiterCount()
        var ids: [UploadID] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<24 {
                let id = try await uploader.start(UploadDocument(data: randomBytes(50_000), fileName: "w.pdf"), to: target, options: quick)
                ids.append(id)
                group.addTask {
                    while await uploader.status(id)?.state.isFinal == false {
                        waiters.called()
                        Task.detached {
                            _ = try? await uploader.wait(id)
                            waiters.answered()
                        }
                        try? await Task.sleep(for: .microseconds(200))
                    }
                }
            }
            try await group.waitForAll()
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while waiters.unanswered > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await uploader.list().allSatisfy { $0.state == .succeeded })
        #expect(waiters.calls > 2 * ids.count)
        #expect(waiters.unanswered == 0)
        await harness.close()
    }

    /// `discard` deletes the staged copy while `retry` reads its size: one of the two wins and
    /// the other is refused. Both succeeding would leave a running upload without its record.
    @Test func discardRacingRetryLetsExactlyOneThrough() async throws {
        let harness = try Harness()
        let uploader = harness.uploader
        let refused = UploadTarget.httpPut(HTTPPutTarget(url: "http://127.0.0.1:1/nobody"))
        let once = UploadOptions(maxAttempts: 1, totalTimeout: .seconds(5), connectTimeout: .seconds(2))
        for _ in 0..<30 {
            let id = try await uploader.start(UploadDocument(data: randomBytes(1000), fileName: "r.pdf"), to: refused, options: once)
            #expect(try await uploader.wait(id).state == .failed)
            async let discarded: Bool = { do { try await uploader.discard(id); return true } catch { return false } }()
            async let retried: Bool = { do { try await uploader.retry(id); return true } catch { return false } }()
            let (discardSucceeded, retrySucceeded) = await (discarded, retried)
            #expect(discardSucceeded != retrySucceeded)
            if retrySucceeded {
                #expect(try await uploader.wait(id).state == .failed)
                try await uploader.discard(id)
            }
            #expect(await uploader.status(id) == nil)
        }
        #expect(harness.stagedFiles().isEmpty)
        await harness.close()
    }
}

/// Calls to `wait` made by detached tasks, and how many have returned.
private final class WaiterCount: Sendable {
    private let counts = Mutex((calls: 0, answered: 0))
    var calls: Int { counts.withLock { $0.calls } }
    var unanswered: Int { counts.withLock { $0.calls - $0.answered } }
    func called() { counts.withLock { $0.calls += 1 } }
    func answered() { counts.withLock { $0.answered += 1 } }
}
