// FTP and FTPS uploads against pyftpdlib on 127.0.0.1 (Tests/Servers/ftp_server.py).
import Foundation
import ScanBridgeCore
import Synchronization
import Testing
@testable import ScanBridgeUpload

@Suite("FTP uploads", .timeLimit(.minutes(2)))
struct FTPUploadTests {
    @Test(arguments: [true, false])
    func storesTheFileInPassiveAndActiveMode(passive: Bool) async throws {
        let root = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer("ftp_server.py", [root, "scanner", "ftp-pw-1"])
        let harness = try Harness()
        let data = randomBytes(700_000)
        let target = FTPTarget(host: "127.0.0.1", port: server.port, path: "inbox/2026/scan 1.pdf",
                               username: "scanner", password: "ftp-pw-1", passive: passive)
        let id = try await harness.uploader.start(UploadDocument(data: data, fileName: "scan.pdf"), to: .ftp(target), options: quick)
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .succeeded, "\(String(describing: final.error))")
        #expect(final.response?.statusCode == 226)
        #expect(final.progress.sent == Int64(data.count))
        let stored = FileManager.default.contents(atPath: root + "/inbox/2026/scan 1.pdf")
        #expect(stored == data)
        _ = try await server.waitForReport { $0["event"] as? String == "stored" }
        #expect(harness.stagedFiles().isEmpty)
        await harness.close()
    }

    @Test func wrongPasswordFailsAtOnceAndKeepsTheDocument() async throws {
        let root = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer("ftp_server.py", [root, "scanner", "right-pw"])
        let harness = try Harness()
        let id = try await harness.uploader.start(
            UploadDocument(data: randomBytes(100), fileName: "scan.pdf"),
            to: .ftp(FTPTarget(host: "127.0.0.1", port: server.port, path: "scan.pdf", username: "scanner", password: "wrong-pw")),
            options: quick)
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .failed)
        #expect(final.error?.code == UploadErrorCode.transferFailed)
        #expect(final.error?.cause?.code == 67)  // CURLE_LOGIN_DENIED
        #expect(final.attempt == 1)
        #expect(harness.stagedFiles() == ["\(id).data", "\(id).json"])
        await harness.close()
    }

    @Test func explicitFTPSWithSelfSignedCertificate() async throws {
        let certificate = try TestCertificate.get()
        let root = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer("ftp_server.py", [root, "scanner", "ftps-pw", "--tls", certificate.certificate, certificate.key])
        let harness = try Harness()
        let data = randomBytes(300_000)
        let target = FTPTarget(host: "127.0.0.1", port: server.port, path: "secure.pdf", username: "scanner",
                               password: "ftps-pw", security: .explicitTLS)

        let refused = try await harness.uploader.start(UploadDocument(data: data, fileName: "secure.pdf"), to: .ftp(target), options: quick)
        let refusedFinal = try await harness.uploader.wait(refused)
        #expect(refusedFinal.state == .failed)
        #expect(refusedFinal.error?.cause?.code == CurlCode.peerFailedVerification)
        #expect(!FileManager.default.fileExists(atPath: root + "/secure.pdf"))

        var trusting = quick
        trusting.tls = TLSOptions(caFile: certificate.certificate)
        let response = try await harness.uploader.upload(UploadDocument(data: data, fileName: "secure.pdf"), to: .ftp(target), options: trusting)
        #expect(response.statusCode == 226)
        #expect(FileManager.default.contents(atPath: root + "/secure.pdf") == data)
        await harness.close()
    }

    @Test func plainFTPToATLSOnlyServerIsRefused() async throws {
        let certificate = try TestCertificate.get()
        let root = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer("ftp_server.py", [root, "scanner", "pw", "--tls", certificate.certificate, certificate.key])
        let harness = try Harness()
        let final = try await harness.uploader.wait(harness.uploader.start(
            UploadDocument(data: randomBytes(100), fileName: "p.pdf"),
            to: .ftp(FTPTarget(host: "127.0.0.1", port: server.port, path: "p.pdf", username: "scanner", password: "pw")),
            options: quick))
        #expect(final.state == .failed)
        #expect(!FileManager.default.fileExists(atPath: root + "/p.pdf"))
        await harness.close()
    }
}

@Suite("Route-level flow", .timeLimit(.minutes(2)))
struct RouteFlowTests {
    /// What a route does: decode the JSON target and options, start, stream events as JSON.
    @Test func jsonTargetToFTPWithEncodedEvents() async throws {
        let root = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer("ftp_server.py", [root, "scanner", "json-pw"])
        let harness = try Harness()
        let body = """
            {"type": "ftp", "host": "127.0.0.1", "port": \(server.port), "path": "from-json/doc.pdf",
             "username": "scanner", "password": "json-pw"}
            """
        let target = try JSONDecoder().decode(UploadTarget.self, from: Data(body.utf8))
        let options = try JSONDecoder().decode(UploadOptions.self, from: Data(#"{"maxAttempts": 2, "totalTimeout": 20}"#.utf8))
        let data = randomBytes(2_000_000)
        let id = try await harness.uploader.start(UploadDocument(data: data, fileName: "doc.pdf"), to: target, options: options)
        var lines: [String] = []
        for await event in await harness.uploader.events(id)! {
            lines.append("event: \(event.eventName)\ndata: " + String(decoding: try JSONEncoder().encode(event), as: UTF8.self))
        }
        #expect(lines.last?.hasPrefix("event: upload-succeeded") == true)
        #expect(lines.contains { $0.contains(#""type":"progress""#) })
        #expect(!lines.joined().contains("json-pw"))
        #expect(FileManager.default.contents(atPath: root + "/from-json/doc.pdf") == data)
        let status = String(decoding: try JSONEncoder().encode(await harness.uploader.status(id)!), as: UTF8.self)
        #expect(status.contains(#""state":"succeeded""#) && status.contains(#""statusCode":226"#))
        await harness.close()
    }
}

@Suite("Cancellation under churn")
struct ChurnTests {
    /// Many uploads through a limit of 3, each canceled at a random moment after its start (queued,
    /// connecting, mid-body, finishing): every one ends exactly once, in a final state, and the suite
    /// never hangs. Each body takes about 150 ms at the server's pace, so the queue lasts about a
    /// second while every cancel comes within 400 ms of its own start: late ones are still queued.
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
}

/// Calls to `wait` made by detached tasks, and how many have returned.
private final class WaiterCount: Sendable {
    private let counts = Mutex((calls: 0, answered: 0))
    var calls: Int { counts.withLock { $0.calls } }
    var unanswered: Int { counts.withLock { $0.calls - $0.answered } }
    func called() { counts.withLock { $0.calls += 1 } }
    func answered() { counts.withLock { $0.answered += 1 } }
}
