// Credentials never reach a log line, an error message, a status or a staged record.
import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeUpload

@Suite("Secrets stay out of logs and errors", .timeLimit(.minutes(2)))
struct SecretTests {
    @Test func credentialsAreAbsentFromLogsErrorsStatusesAndStagedRecords() async throws {
        let ftpPassword = "ftp-Secr3t-\(UUID().uuidString.prefix(8))"
        let httpPassword = "http-Secr3t-\(UUID().uuidString.prefix(8))"
        let bearer = "Bearer tok-Secr3t-\(UUID().uuidString.prefix(8))"
        let cookie = "cookie-Secr3t-\(UUID().uuidString.prefix(8))"
        let s3Secret = "s3-Secr3t/\(UUID().uuidString.prefix(8))+"
        let secrets = [ftpPassword, httpPassword, bearer, cookie, s3Secret]

        let root = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ftp = try await TestServer("ftp_server.py", [root, "scanner", "the-right-one"])
        let http = try await TestServer("http_receiver.py", ["--basic", "clerk:the-right-one", "--fail-first", "1"])
        let s3 = try await SharedS3Server.shared.get()
        let harness = try Harness()
        let document = UploadDocument(data: randomBytes(5000), fileName: "s.pdf")
        let targets: [UploadTarget] = [
            .ftp(FTPTarget(host: "127.0.0.1", port: ftp.port, path: "s.pdf", username: "scanner", password: ftpPassword)),
            .httpPut(HTTPPutTarget(url: "http://127.0.0.1:\(http.port)/s.pdf", headers: [HeaderField("Authorization", bearer)],
                                   cookies: [NameValue("sid", cookie)])),
            .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(http.port)/s", credentials: HTTPCredentials(username: "clerk", password: httpPassword))),
            .httpPost(HTTPPostTarget(url: "http://127.0.0.1:\(TestServer.closedPort())/s", credentials: HTTPCredentials(username: "clerk", password: httpPassword))),
            .s3(S3Target(endpoint: "http://127.0.0.1:\(s3.port)", bucket: "scans", key: "s.pdf",
                         accessKeyID: s3.announcement["access_key"] as? String ?? "", secretAccessKey: s3Secret)),
            .s3(S3Target(endpoint: "http://127.0.0.1:\(TestServer.closedPort())", bucket: "scans", key: "s.pdf",
                         accessKeyID: "AKIAEXAMPLE", secretAccessKey: s3Secret)),
        ]
        var texts: [String] = []
        var ids: [UploadID] = []
        for target in targets { ids.append(try await harness.uploader.start(document, to: target, options: quick)) }
        for (id, target) in zip(ids, targets) {
            let final = try await harness.uploader.wait(id)
            #expect(final.state == .failed, "\(target.redactedDescription)")
            texts.append(String(describing: final))
            texts.append(final.error?.description ?? "")
            texts.append(target.redactedDescription)
            texts.append(try String(contentsOfFile: harness.staging + "/\(id).json", encoding: .utf8))
        }
        // A URL with credentials in it is refused without echoing them.
        do {
            _ = try await harness.uploader.start(document, to: .httpPut(HTTPPutTarget(url: "http://clerk:\(httpPassword)@127.0.0.1:1/x")))
            Issue.record("a URL with credentials was accepted")
        } catch {
            #expect(error.code == UploadErrorCode.invalidParameter)
            texts.append(error.description)
        }
        await harness.close()
        texts += harness.log.lines
        #expect(harness.log.lines.count > 10)
        for secret in secrets {
            let leaks = texts.filter { $0.contains(secret) || $0.contains(secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!) }
            #expect(leaks.isEmpty, "\(secret) leaked: \(leaks)")
        }
    }
}
