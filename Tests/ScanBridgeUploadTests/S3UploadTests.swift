// S3-compatible uploads (SigV4) against moto's server on 127.0.0.1, started once per suite
// (Tests/Servers/s3_server.py). The server checks every signature; objects are read back
// with boto3 inside the server script and compared by SHA-256.
import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeUpload

@Suite("S3 uploads", .timeLimit(.minutes(2)))
struct S3UploadTests {
    func target(_ server: TestServer, key: String, secret: String? = nil, partSize: Int64 = 6 << 20,
                threshold: Int64 = 8 << 20) -> S3Target {
        S3Target(endpoint: "http://127.0.0.1:\(server.port)", region: server.announcement["region"] as? String ?? "us-east-1",
                 bucket: server.announcement["bucket"] as? String ?? "", key: key,
                 accessKeyID: server.announcement["access_key"] as? String ?? "",
                 secretAccessKey: secret ?? server.announcement["secret_key"] as? String ?? "",
                 multipartThreshold: threshold, partSize: partSize,
                 headers: [HeaderField("x-amz-meta-station", "desk-3")])
    }

    @Test func singlePutStoresTheObject() async throws {
        let server = try await SharedS3Server.shared.get()
        let harness = try Harness()
        let data = randomBytes(1_234_567)
        let key = "scans/\(UUID().uuidString)/single page+1.pdf"
        let response = try await harness.uploader.upload(UploadDocument(data: data, fileName: "s.pdf", contentType: "application/pdf"),
                                                         to: .s3(target(server, key: key)), options: quick)
        #expect(response.statusCode == 200)
        #expect(response.header("ETag") != nil)
        let stored = try await server.command("get \(key)")
        #expect(stored["size"] as? Int == data.count, "\(stored)")
        #expect(stored["sha256"] as? String == sha256Hex(data))
        #expect(harness.stagedFiles().isEmpty)
        await harness.close()
    }

    @Test func multipartUploadStoresTheObject() async throws {
        let server = try await SharedS3Server.shared.get()
        let harness = try Harness()
        let data = randomBytes(13 << 20 + 12_345)  // three parts of 6 MiB, 6 MiB and the rest
        let key = "scans/\(UUID().uuidString)/large.pdf"
        let id = try await harness.uploader.start(UploadDocument(data: data, fileName: "large.pdf", contentType: "application/pdf"),
                                                  to: .s3(target(server, key: key)), options: quick)
        let events = await harness.uploader.events(id)
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .succeeded, "\(String(describing: final.error)) \(final.response?.bodyText ?? "")")
        #expect(final.response?.bodyText.contains("CompleteMultipartUploadResult") == true)
        #expect(final.progress.sent == Int64(data.count))
        let progress = await collect(events).compactMap { if case .progress(let p) = $0 { p.sent } else { nil } }
        #expect(progress == progress.sorted())  // monotonic across parts
        let stored = try await server.command("get \(key)")
        #expect(stored["size"] as? Int == data.count, "\(stored)")
        #expect(stored["sha256"] as? String == sha256Hex(data))
        #expect(try await server.command("multipart")["in_progress"] as? Int == 0)
        await harness.close()
    }

    @Test func failedMultipartUploadIsAborted() async throws {
        let server = try await SharedS3Server.shared.get()
        let harness = try Harness()
        // 5 MiB parts: the server (6 MiB minimum) refuses CompleteMultipartUpload.
        let key = "scans/\(UUID().uuidString)/refused.pdf"
        let id = try await harness.uploader.start(UploadDocument(data: randomBytes(11 << 20), fileName: "r.pdf"),
                                                  to: .s3(target(server, key: key, partSize: 5 << 20, threshold: 5 << 20)), options: quick)
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .failed)
        #expect(final.error?.code == UploadErrorCode.rejected)
        #expect(final.response?.bodyText.contains("EntityTooSmall") == true, "\(String(describing: final.error)) \(final.response?.bodyText ?? "")")
        #expect(try await server.command("multipart")["in_progress"] as? Int == 0)
        #expect(try await server.command("get \(key)")["error"] != nil)
        #expect(harness.stagedFiles() == ["\(id).data", "\(id).json"])
        await harness.close()
    }

    @Test func wrongSecretIsRejected() async throws {
        let server = try await SharedS3Server.shared.get()
        let harness = try Harness()
        let final = try await harness.uploader.wait(harness.uploader.start(
            UploadDocument(data: randomBytes(1000), fileName: "w.pdf"),
            to: .s3(target(server, key: "w.pdf", secret: "not-the-secret")), options: quick))
        #expect(final.state == .failed)
        #expect(final.response?.statusCode == 403)
        #expect(final.response?.bodyText.contains("SignatureDoesNotMatch") == true)
        await harness.close()
    }
}
