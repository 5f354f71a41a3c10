// HTTP(S) uploads against real servers on 127.0.0.1 (Tests/Servers/http_receiver.py).
import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeUpload

/// An uploader over a fresh staging folder, with its log captured.
struct Harness {
    let uploader: Uploader
    let staging: String
    let log = CapturedLog()

    init(maxConcurrentUploads: Int = 4) throws {
        staging = try Paths.temporaryFolder() + "/upload"
        uploader = Uploader(stagingFolder: staging, maxConcurrentUploads: maxConcurrentUploads, logger: log.logger())
    }

    func close() async {
        await uploader.shutdown()
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: staging).deletingLastPathComponent().path)
    }

    func stagedFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []).sorted()
    }
}

/// Fast retries for tests.
let quick = UploadOptions(maxAttempts: 3, initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200),
                          totalTimeout: .seconds(20), connectTimeout: .seconds(5))

func collect(_ events: AsyncStream<UploadEvent>?) async -> [UploadEvent] {
    var all: [UploadEvent] = []
    if let events { for await event in events { all.append(event) } }
    return all
}

/// Waits until the upload has sent at least `bytes` (or fails the test after 10 s).
func waitForProgress(_ uploader: Uploader, _ id: UploadID, atLeast bytes: Int64) async throws {
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
        if let status = await uploader.status(id), status.progress.sent >= bytes { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw ServerFailure(description: "upload \(id) made no progress")
}

@Suite("HTTP uploads", .timeLimit(.minutes(2)))
struct HTTPUploadTests {
    @Test func multipartPostDeliversBytesFieldsHeadersAndCookies() async throws {
        let server = try await TestServer("http_receiver.py")
        let harness = try Harness()
        let data = randomBytes(300_000)
        let target = HTTPPostTarget(url: "http://127.0.0.1:\(server.port)/upload?batch=7", fieldName: "scan",
                                    fileName: "batch 7.pdf",
                                    formFields: [NameValue("title", "Invoices"), NameValue("pages", "12")],
                                    headers: [HeaderField("X-Scan-Station", "desk-3")],
                                    cookies: [NameValue("session", "abc123"), NameValue("lang", "fr")])
        let id = try await harness.uploader.start(UploadDocument(data: data, fileName: "doc.pdf", contentType: "application/pdf"),
                                                  to: .httpPost(target), options: quick)
        let events = await harness.uploader.events(id)
        let final = try await harness.uploader.wait(id)
        let seen = await collect(events)

        #expect(final.state == .succeeded)
        #expect(final.response?.statusCode == 201)
        #expect(final.response?.bodyText.contains(sha256Hex(data)) == true)
        #expect(final.response?.header("X-Receiver") == "scanbridge-test")
        #expect(final.progress == UploadProgress(sent: final.progress.total, total: final.progress.total))
        #expect(final.stagedFile == nil)
        #expect(harness.stagedFiles().isEmpty)
        #expect(seen.last.map { if case .succeeded = $0 { true } else { false } } == true)

        let request = try await server.waitForReport { $0["event"] as? String == "request" }
        #expect(request["method"] as? String == "POST")
        #expect(request["path"] as? String == "/upload?batch=7")
        let fields = request["fields"] as? [String: any Sendable]
        #expect(fields?["title"] as? String == "Invoices")
        #expect(fields?["pages"] as? String == "12")
        let file = (request["files"] as? [any Sendable])?.first as? [String: any Sendable]
        #expect(file?["field"] as? String == "scan")
        #expect(file?["filename"] as? String == "batch 7.pdf")
        #expect(file?["content_type"] as? String == "application/pdf")
        #expect(file?["size"] as? Int == data.count)
        #expect(file?["sha256"] as? String == sha256Hex(data))
        let headers = request["headers"] as? [String: any Sendable]
        #expect(headers?["x-scan-station"] as? String == "desk-3")
        #expect(headers?["cookie"] as? String == "session=abc123; lang=fr")
        await harness.close()
    }

    @Test func putSendsRawBytesWithBasicAuthentication() async throws {
        let server = try await TestServer("http_receiver.py", ["--basic", "clerk:pa55-put"])
        let harness = try Harness()
        let data = randomBytes(1_000_003)
        let response = try await harness.uploader.upload(
            UploadDocument(data: data, fileName: "scan.tiff", contentType: "image/tiff"),
            to: .httpPut(HTTPPutTarget(url: "http://127.0.0.1:\(server.port)/docs/scan.tiff",
                                       credentials: HTTPCredentials(username: "clerk", password: "pa55-put"))),
            options: quick)
        #expect(response.statusCode == 200)
        let request = try await server.waitForReport { $0["event"] as? String == "request" }
        #expect(request["method"] as? String == "PUT")
        #expect(request["body_sha256"] as? String == sha256Hex(data))
        #expect((request["headers"] as? [String: any Sendable])?["content-type"] as? String == "image/tiff")
        #expect(harness.stagedFiles().isEmpty)
        await harness.close()
    }

    @Test func rejectionIsFinalAndKeepsTheStagedFileAndTheServersAnswer() async throws {
        let server = try await TestServer("http_receiver.py", ["--basic", "clerk:right"])
        let harness = try Harness()
        let id = try await harness.uploader.start(UploadDocument(data: randomBytes(1000), fileName: "a.pdf"),
                                                  to: .httpPut(HTTPPutTarget(url: "http://127.0.0.1:\(server.port)/a.pdf",
                                                                             credentials: HTTPCredentials(username: "clerk", password: "wrong"))),
                                                  options: quick)
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .failed)
        #expect(final.error?.code == UploadErrorCode.rejected)
        #expect(final.response?.statusCode == 401)
        #expect(final.response?.bodyText.contains("unauthorized") == true)
        #expect(final.attempt == 1)  // 4xx is not retried
        _ = try await server.waitForReport { $0["event"] as? String == "request" }
        #expect(server.reports.filter { $0["event"] as? String == "request" }.count == 1)
        #expect(harness.stagedFiles() == ["\(id).data", "\(id).json"])
        await harness.close()
    }

    @Test func retriesTwo503sThenSucceeds() async throws {
        let server = try await TestServer("http_receiver.py", ["--fail-first", "2"])
        let silent = try await TestServer("http_receiver.py", ["silent"])
        // The only slot is taken by an upload that never gets an answer, so the one under test
        // stays queued until its events are subscribed to: its first 503 cannot come before.
        let harness = try Harness(maxConcurrentUploads: 1)
        let blocker = try await harness.uploader.start(UploadDocument(data: randomBytes(1000), fileName: "b.pdf"),
                                                       to: .httpPut(HTTPPutTarget(url: "http://127.0.0.1:\(silent.port)/b")),
                                                       options: quick)
        try await waitForProgress(harness.uploader, blocker, atLeast: 1000)
        let data = randomBytes(50_000)
        let id = try await harness.uploader.start(UploadDocument(data: data, fileName: "r.pdf"),
                                                  to: .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(server.port)/r")),
                                                  options: quick)
        let events = await harness.uploader.events(id)
        #expect(await harness.uploader.status(id)?.state == .queued)
        #expect(await harness.uploader.cancel(blocker))
        let final = try await harness.uploader.wait(id)
        let seen = await collect(events)
        #expect(final.state == .succeeded)
        #expect(final.attempt == 3)
        #expect(final.response?.statusCode == 201)
        let retries = seen.compactMap { if case .retrying(let attempt, _, let reason) = $0 { (attempt, reason) } else { nil } }
        #expect(retries.map(\.0) == [2, 3])
        #expect(retries.allSatisfy { $0.1.contains("503") })
        _ = try await server.waitForReport { $0["status"] as? Int == 201 }  // its stdout may lag a little
        let statuses = server.reports.compactMap { $0["status"] as? Int }
        #expect(statuses == [503, 503, 201])
        await harness.close()
    }

    @Test func connectionRefusedIsRetriedThenFailsAndKeepsTheDocument() async throws {
        let harness = try Harness()
        let port = TestServer.closedPort()
        let id = try await harness.uploader.start(UploadDocument(data: randomBytes(10), fileName: "x.pdf"),
                                                  to: .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(port)/")),
                                                  options: quick)
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .failed)
        #expect(final.error?.code == UploadErrorCode.transferFailed)
        #expect(final.error?.cause?.code == CurlCode.couldntConnect)
        #expect(final.attempt == 3)
        #expect(final.stagedFile != nil)
        #expect(harness.stagedFiles() == ["\(id).data", "\(id).json"])
        await harness.close()
    }

    @Test func serverThatNeverAnswersTimesOutAndLeavesNothingHalfDone() async throws {
        let server = try await TestServer("http_receiver.py", ["silent"])
        let harness = try Harness()
        var options = quick
        options.totalTimeout = .seconds(1)
        let started = ContinuousClock.now
        let id = try await harness.uploader.start(UploadDocument(data: randomBytes(20_000), fileName: "t.pdf"),
                                                  to: .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(server.port)/t")),
                                                  options: options)
        let final = try await harness.uploader.wait(id)
        let elapsed = ContinuousClock.now - started
        #expect(final.state == .failed)
        #expect(final.error?.code == UploadErrorCode.timedOut)
        #expect(elapsed < .seconds(15))  // 1 s allowed, not the 300 s default (slack for a loaded machine)
        // The connection was closed (no transfer left hanging) and the document is still staged.
        _ = try await server.waitForReport { $0["event"] as? String == "closed" }
        #expect(harness.stagedFiles() == ["\(id).data", "\(id).json"])
        let record = try String(contentsOfFile: harness.staging + "/\(id).json", encoding: .utf8)
        #expect(record.contains("did not finish"))
        await harness.close()
    }

    @Test func selfSignedCertificateIsRefusedByDefaultAndAcceptedWithItsCA() async throws {
        let certificate = try TestCertificate.get()
        let server = try await TestServer("http_receiver.py", ["--tls", certificate.certificate, certificate.key])
        let harness = try Harness()
        let url = "https://127.0.0.1:\(server.port)/secure"
        let data = randomBytes(40_000)

        let refused = try await harness.uploader.start(UploadDocument(data: data, fileName: "s.pdf"),
                                                       to: .httpPost(HTTPPostTarget(url: url)), options: quick)
        let refusedFinal = try await harness.uploader.wait(refused)
        #expect(refusedFinal.state == .failed)
        #expect(refusedFinal.error?.code == UploadErrorCode.transferFailed)
        #expect(refusedFinal.error?.cause?.code == CurlCode.peerFailedVerification)
        #expect(refusedFinal.attempt == 1)  // a certificate problem is not retried

        var trusting = quick
        trusting.tls = TLSOptions(caFile: certificate.certificate)
        let response = try await harness.uploader.upload(UploadDocument(data: data, fileName: "s.pdf"),
                                                         to: .httpPost(HTTPPostTarget(url: url)), options: trusting)
        #expect(response.statusCode == 201)
        #expect(response.bodyText.contains(sha256Hex(data)))
        // The refused one is still staged and can be sent again, now trusting the CA.
        try await harness.uploader.retry(refused, options: trusting)
        #expect(try await harness.uploader.wait(refused).state == .succeeded)
        #expect(harness.stagedFiles().isEmpty)
        await harness.close()
    }

    @Test func cancelByIDMidUploadThenRetryByID() async throws {
        let slow = try await TestServer("http_receiver.py", ["--slow", "400000"])
        let harness = try Harness()
        let data = randomBytes(4_000_000)
        let id = try await harness.uploader.start(UploadDocument(data: data, fileName: "big.pdf"),
                                                  to: .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(slow.port)/slow")),
                                                  options: quick)
        let events = await harness.uploader.events(id)
        try await waitForProgress(harness.uploader, id, atLeast: 100_000)
        let canceledAt = ContinuousClock.now
        #expect(await harness.uploader.cancel(id))
        let final = try await harness.uploader.wait(id)
        #expect(ContinuousClock.now - canceledAt < .seconds(2))
        #expect(final.state == .canceled)
        #expect(final.error?.code == UploadErrorCode.canceled)
        #expect(final.progress.sent > 0 && final.progress.sent < Int64(data.count))
        let seen = await collect(events)
        #expect(seen.contains { if case .progress = $0 { true } else { false } })
        #expect(seen.last == .canceled)
        // The server sees the connection end once it has drained what the kernel buffered.
        _ = try await slow.waitForReport(timeout: 30) { $0["event"] as? String == "aborted" }
        #expect(harness.stagedFiles() == ["\(id).data", "\(id).json"])
        #expect(await harness.uploader.cancel(id) == false)

        // Retry by id to a fast receiver: the staged bytes go out intact.
        let fast = try await TestServer("http_receiver.py")
        try await harness.uploader.retry(id, target: .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(fast.port)/fast")))
        let retried = try await harness.uploader.wait(id)
        #expect(retried.state == .succeeded)
        let request = try await fast.waitForReport { $0["event"] as? String == "request" }
        let file = (request["files"] as? [any Sendable])?.first as? [String: any Sendable]
        #expect(file?["sha256"] as? String == sha256Hex(data))
        #expect(harness.stagedFiles().isEmpty)
        await harness.close()
    }

    @Test func taskCancellationCancelsTheUpload() async throws {
        let slow = try await TestServer("http_receiver.py", ["--slow", "400000"])
        let harness = try Harness()
        let uploader = harness.uploader
        let task = Task {
            try await uploader.upload(UploadDocument(data: randomBytes(4_000_000), fileName: "big.pdf"),
                                      to: .httpPut(HTTPPutTarget(url: "http://127.0.0.1:\(slow.port)/slow")), options: quick)
        }
        var running: UploadStatus?
        let deadline = Date().addingTimeInterval(10)
        while running == nil, Date() < deadline {
            running = await uploader.list().first { $0.progress.sent > 50_000 }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(running != nil)
        task.cancel()
        let result = await task.result
        #expect(throws: ScanBridgeError.self) { try result.get() }
        if case .failure(let error as ScanBridgeError) = result { #expect(error.code == UploadErrorCode.canceled) }
        #expect(await uploader.list().map(\.state) == [.canceled])
        await harness.close()
    }

    @Test func concurrentUploadsAreLimited() async throws {
        let slow = try await TestServer("http_receiver.py", ["--slow", "200000"])
        let harness = try Harness(maxConcurrentUploads: 1)
        let target = UploadTarget.httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(slow.port)/slow"))
        let first = try await harness.uploader.start(UploadDocument(data: randomBytes(2_000_000), fileName: "1.pdf"), to: target, options: quick)
        let second = try await harness.uploader.start(UploadDocument(data: randomBytes(2_000_000), fileName: "2.pdf"), to: target, options: quick)
        try await waitForProgress(harness.uploader, first, atLeast: 50_000)
        try await Task.sleep(for: .milliseconds(200))
        #expect(await harness.uploader.status(first)?.state == .uploading)
        #expect(await harness.uploader.status(second)?.state == .queued)
        #expect(await harness.uploader.status(second)?.progress.sent == 0)
        // When the first ends, the queued one gets the slot.
        #expect(await harness.uploader.cancel(first))
        #expect(try await harness.uploader.wait(first).state == .canceled)
        try await waitForProgress(harness.uploader, second, atLeast: 50_000)
        #expect(await harness.uploader.status(second)?.state == .uploading)
        await harness.uploader.cancel(second)
        #expect(try await harness.uploader.wait(second).state == .canceled)
        await harness.close()
    }
}

@Suite("Staging", .timeLimit(.minutes(2)))
struct StagingTests {
    @Test func documentsKeptByAnEarlierRunCanBeRetriedByID() async throws {
        let folder = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = randomBytes(123_456)
        let first = Uploader(stagingFolder: folder + "/upload", logger: CapturedLog().logger())
        let id = try await first.start(UploadDocument(data: data, fileName: "kept.pdf", contentType: "application/pdf"),
                                       to: .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(TestServer.closedPort())/")),
                                       options: UploadOptions(maxAttempts: 1))
        #expect(try await first.wait(id).state == .failed)
        await first.shutdown()

        // A new run finds the staged document; it needs its target again (no credentials on disk).
        let second = Uploader(stagingFolder: folder + "/upload", logger: CapturedLog().logger())
        let recovered = await second.recoverStaged()
        #expect(recovered.map(\.id) == [id])
        #expect(recovered.first?.fileName == "kept.pdf")
        #expect(recovered.first?.byteCount == Int64(data.count))
        await #expect(throws: ScanBridgeError.self) { try await second.retry(id) }
        let server = try await TestServer("http_receiver.py")
        try await second.retry(id, target: .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(server.port)/")))
        #expect(try await second.wait(id).state == .succeeded)
        let request = try await server.waitForReport { $0["event"] as? String == "request" }
        let file = (request["files"] as? [any Sendable])?.first as? [String: any Sendable]
        #expect(file?["sha256"] as? String == sha256Hex(data))
        #expect(file?["filename"] as? String == "kept.pdf")
        #expect(file?["content_type"] as? String == "application/pdf")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/upload").isEmpty)
        // A finished upload cannot be retried again.
        await #expect(throws: ScanBridgeError.self) { try await second.retry(id) }
        await second.shutdown()
    }

    @Test func stagingFailureIsReportedAndNothingStarts() async throws {
        let folder = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The staging "folder" is a file: writing there must fail with a clear error.
        #expect(FileManager.default.createFile(atPath: folder + "/upload", contents: Data()))
        let uploader = Uploader(stagingFolder: folder + "/upload", logger: CapturedLog().logger())
        do {
            _ = try await uploader.start(UploadDocument(data: Data([1, 2, 3]), fileName: "a.pdf"),
                                         to: .httpPut(HTTPPutTarget(url: "http://127.0.0.1:1/a.pdf")))
            Issue.record("staging into a file succeeded")
        } catch {
            #expect(error.code == UploadErrorCode.stagingFailed)
            #expect(error.message.contains(folder))
        }
        #expect(await uploader.list().isEmpty)
        await uploader.shutdown()
    }
}
