// FTP and FTPS uploads against pyftpdlib on 127.0.0.1 (Tests/Servers/ftp_server.py).
import Foundation
import ScanBridgeCore
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
