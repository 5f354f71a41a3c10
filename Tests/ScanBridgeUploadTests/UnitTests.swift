// Pure parts of ScanBridgeUpload: validation, redaction, S3 URLs and XML, the limiter.
import Foundation
import Synchronization
import ScanBridgeCore
import Testing
@testable import ScanBridgeUpload

@Suite("Upload building blocks")
struct UnitTests {
    @Test func targetsAreValidated() {
        let bad: [UploadTarget] = [
            .httpPost(HTTPPostTarget(url: "ftp://127.0.0.1/x")),
            .httpPost(HTTPPostTarget(url: "not a url")),
            .httpPost(HTTPPostTarget(url: "http://127.0.0.1/", fieldName: "a\"b")),
            .httpPut(HTTPPutTarget(url: "http://127.0.0.1/", headers: [HeaderField("X-A", "1\r\nX-B: 2")])),
            .httpPut(HTTPPutTarget(url: "http://127.0.0.1/", cookies: [NameValue("a;b", "1")])),
            .ftp(FTPTarget(host: "127.0.0.1", path: "../etc/passwd")),
            .ftp(FTPTarget(host: "127.0.0.1", path: "dir/")),
            .ftp(FTPTarget(host: "127.0.0.1", port: 70000, path: "a.pdf")),
            .ftp(FTPTarget(host: "bad host", path: "a.pdf")),
            .s3(S3Target(endpoint: "http://127.0.0.1:9000", bucket: "b", key: "k", accessKeyID: "a", secretAccessKey: "")),
            .s3(S3Target(endpoint: "http://127.0.0.1:9000", bucket: "b/c", key: "k", accessKeyID: "a", secretAccessKey: "s")),
            .s3(S3Target(endpoint: "http://127.0.0.1:9000", bucket: "b", key: "k", accessKeyID: "a", secretAccessKey: "s", partSize: 1 << 20)),
        ]
        for target in bad {
            #expect(throws: ScanBridgeError.self, "\(target.redactedDescription)") { try target.validate() }
        }
        #expect(throws: Never.self) {
            try UploadTarget.s3(S3Target(endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", bucket: "my.bucket-1",
                                         key: "a/b c.pdf", accessKeyID: "a", secretAccessKey: "s")).validate()
        }
    }

    @Test func badDocumentsAreRefusedAndNothingIsStaged() async throws {
        let harness = try Harness()
        let target = UploadTarget.httpPost(HTTPPostTarget(url: "http://127.0.0.1:1/"))
        for name in ["", "../x.pdf", "a/b.pdf", "a\"b.pdf", "line\nbreak"] {
            await #expect(throws: ScanBridgeError.self) {
                try await harness.uploader.start(UploadDocument(data: Data([1]), fileName: name), to: target)
            }
        }
        #expect(harness.stagedFiles().isEmpty)
        await #expect(throws: ScanBridgeError.self) { try await harness.uploader.wait(UploadID("abc")!) }
        #expect(UploadID("../../etc") == nil)
        #expect(UploadID("ABC") == nil)
        await harness.close()
    }

    @Test func redaction() {
        #expect(Redaction.url("https://u:p@example.com:8443/a/b?token=xyz&x=1#f") == "https://example.com:8443/a/b?token=…&x=…")
        #expect(Redaction.scrub("login p@ss/1 failed for p%40ss%2F1", secrets: ["p@ss/1"]) == "login *** failed for ***")
    }

    @Test func s3URLsAndXML() {
        var target = S3Target(endpoint: "http://127.0.0.1:9000/", bucket: "scans", key: "a b/c+d~é.pdf",
                              accessKeyID: "a", secretAccessKey: "s")
        #expect(TransferBuilders.s3URL(target) == "http://127.0.0.1:9000/scans/a%20b/c%2Bd~%C3%A9.pdf")
        target.pathStyle = false
        target.endpoint = "https://s3.amazonaws.com"
        #expect(TransferBuilders.s3URL(target) == "https://scans.s3.amazonaws.com/a%20b/c%2Bd~%C3%A9.pdf")
        let answer = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><UploadId>a&amp;b/c+=</UploadId></InitiateMultipartUploadResult>"
        #expect(S3XML.text(of: "UploadId", in: answer) == "a&b/c+=")
        #expect(S3XML.text(of: "Missing", in: answer) == nil)
        #expect(String(decoding: S3XML.completeBody(etags: ["\"e1\"", "\"e2\""]), as: UTF8.self)
            .contains("<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"))
        #expect(TransferBuilders.sigV4Encode("a+b/c=") == "a%2Bb%2Fc%3D")
    }

    @Test func limiterServesWaitersInOrderAndDropsCanceledOnes() async throws {
        let limiter = AsyncLimiter(limit: 1)
        #expect(await limiter.acquire())
        let order = OrderLog()
        let canceled = Task { await limiter.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        let waiter = Task { let got = await limiter.acquire(); order.add("waiter \(got)") }
        try await Task.sleep(for: .milliseconds(50))
        canceled.cancel()
        #expect(await canceled.value == false)
        limiter.release()
        await waiter.value
        #expect(order.entries == ["waiter true"])
        limiter.release()
        #expect(await limiter.acquire())
    }
}

final class OrderLog: Sendable {
    private let storage = Synchronization.Mutex<[String]>([])
    func add(_ entry: String) { storage.withLock { $0.append(entry) } }
    var entries: [String] { storage.withLock { $0 } }
}

@Suite("Upload thread", .timeLimit(.minutes(2)))
struct UploadThreadTests {
    /// libcurl's callbacks (and so every blocking read of the staged file) run on the one
    /// dedicated upload thread, never on a thread of Swift's cooperative pool.
    @Test func callbacksRunOnTheDedicatedThread() async throws {
        let server = try await TestServer("http_receiver.py")
        let folder = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(FileManager.default.createFile(atPath: folder + "/body", contents: randomBytes(200_000)))
        let engine = CurlMultiThread(name: "sb-upload-test")
        let names = OrderLog()
        var spec = TransferSpec(url: "http://127.0.0.1:\(server.port)/t")
        spec.method = .put
        spec.body = .file(path: folder + "/body", offset: 0, length: 200_000)
        let request = spec
        let outcomes = await withTaskGroup(of: TransferOutcome.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await engine.perform(CurlTransfer(spec: request) { _ in names.add(currentThreadName()) })
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.map(\.responseCode) == [200, 200, 200])
        #expect(!names.entries.isEmpty)
        #expect(Set(names.entries) == ["sb-upload-test"])
        await engine.shutdown()
    }
}

/// The kernel's name of the calling thread (pthread names are cut to 15 bytes).
func currentThreadName() -> String {
    ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?")
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("JSON forms for the routes")
struct CodingTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    @Test func targetsDecode() throws {
        let post = try decode(UploadTarget.self, """
            {"type": "http-post", "url": "https://example.com/up", "fieldName": "file",
             "formFields": [{"name": "b", "value": "2"}, {"name": "a", "value": "1"}],
             "headers": {"X-Token": "t"}, "cookies": {"sid": "s"}, "username": "u", "password": "p"}
            """)
        #expect(post == .httpPost(HTTPPostTarget(url: "https://example.com/up", fieldName: "file",
                                                 formFields: [NameValue("b", "2"), NameValue("a", "1")],
                                                 headers: [HeaderField("X-Token", "t")], cookies: [NameValue("sid", "s")],
                                                 credentials: HTTPCredentials(username: "u", password: "p"))))
        let ftp = try decode(UploadTarget.self, #"{"type": "ftp", "host": "h", "path": "a/b.pdf", "security": "implicit", "passive": false}"#)
        #expect(ftp == .ftp(FTPTarget(host: "h", port: 990, path: "a/b.pdf", passive: false, security: .implicitTLS)))
        let s3 = try decode(UploadTarget.self, """
            {"type": "s3", "endpoint": "http://127.0.0.1:9000", "bucket": "b", "key": "k.pdf",
             "accessKeyId": "A", "secretAccessKey": "S", "partSize": 6291456}
            """)
        #expect(s3 == .s3(S3Target(endpoint: "http://127.0.0.1:9000", bucket: "b", key: "k.pdf", accessKeyID: "A",
                                   secretAccessKey: "S", partSize: 6 << 20)))
        #expect(throws: DecodingError.self) { try decode(UploadTarget.self, #"{"type": "gopher", "url": "x"}"#) }
        #expect(throws: DecodingError.self) { try decode(UploadTarget.self, #"{"type": "ftp", "host": "h"}"#) }
        #expect(throws: DecodingError.self) { try decode(UploadTarget.self, #"{"type": "ftp", "host": "h", "path": "p", "security": "tls"}"#) }
    }

    @Test func optionsDecode() throws {
        let options = try decode(UploadOptions.self, #"{"maxAttempts": 2, "totalTimeout": 1.5, "verifyTLS": false, "caFile": "/ca.pem"}"#)
        #expect(options.maxAttempts == 2)
        #expect(options.totalTimeout == .milliseconds(1500))
        #expect(options.tls == TLSOptions(verifyPeer: false, caFile: "/ca.pem"))
        #expect(try decode(UploadOptions.self, "{}") == UploadOptions())
        #expect(throws: DecodingError.self) { try decode(UploadOptions.self, #"{"maxAttempts": 0}"#) }
        #expect(throws: DecodingError.self) { try decode(UploadOptions.self, #"{"totalTimeout": -1}"#) }
    }

    @Test func statusAndEventsEncodeWithoutSecretsOrPaths() throws {
        let target = UploadTarget.ftp(FTPTarget(host: "h", path: "a.pdf", username: "u", password: "hunter2"))
        let status = UploadStatus(id: UploadID("0123-abcd")!, state: .failed, target: target.redactedDescription, fileName: "a.pdf",
                                  byteCount: 10, attempt: 2, progress: UploadProgress(sent: 4, total: 10),
                                  response: UploadResponse(statusCode: 530, body: Data("Login incorrect.".utf8)),
                                  error: ScanBridgeError(code: UploadErrorCode.transferFailed, message: "upload failed",
                                                         cause: .init(code: 67, message: "libcurl: Access denied")),
                                  stagedFile: "/opt/scanbridge/upload/0123-abcd.data", created: Date(timeIntervalSince1970: 0))
        let json = String(decoding: try JSONEncoder().encode(status), as: UTF8.self)
        #expect(json.contains(#""state":"failed""#))
        #expect(json.contains(#""progress":{"sent":4,"total":10}"#) || json.contains(#""progress":{"total":10,"sent":4}"#))
        #expect(json.contains(#""staged":true"#))
        #expect(json.contains(#""code":67"#))
        #expect(json.contains("Login incorrect."))
        #expect(!json.contains("hunter2"))
        #expect(!json.contains("/opt/scanbridge"))
        let event = String(decoding: try JSONEncoder().encode(UploadEvent.retrying(attempt: 2, delay: .milliseconds(500), reason: "server answered 503")), as: UTF8.self)
        #expect(event.contains(#""type":"retrying""#) && event.contains(#""delay":0.5"#))
        #expect(UploadEvent.progress(UploadProgress(sent: 1, total: 2)).eventName == "upload-progress")
        let binary = String(decoding: try JSONEncoder().encode(UploadResponse(statusCode: 200, body: Data([0xff, 0xfe]))), as: UTF8.self)
        #expect(binary.contains(#""bodyBase64":"\/\/4=""#) || binary.contains(#""bodyBase64":"//4=""#))
    }
}
