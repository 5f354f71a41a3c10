// Staging: a document already written to a file is moved in, not copied; staged bytes and
// their record are whole, private (0600) and listed again by a later run.
import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeUpload

@Suite("Uploads of files", .timeLimit(.minutes(2)))
struct StagedFileTests {
    @Test func aFileIsMovedIntoStagingAndSentWhole() async throws {
        let server = try await TestServer("http_receiver.py")
        let harness = try Harness()
        let data = randomBytes(200_000)
        try FileManager.default.createDirectory(atPath: harness.staging, withIntermediateDirectories: true)
        let path = harness.staging + "/content-test.tmp"
        try Data(data).write(to: URL(fileURLWithPath: path))
        let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int

        let target = HTTPPutTarget(url: "http://127.0.0.1:\(server.port)/put/doc.pdf")
        let id = try await harness.uploader.start(UploadDocument(file: path, fileName: "doc.pdf", contentType: "application/pdf"),
                                                  to: .httpPut(target), options: quick)
        #expect(!FileManager.default.fileExists(atPath: path), "the file was taken over")
        let staged = try #require(await harness.uploader.status(id)?.stagedFile)
        #expect(await harness.uploader.status(id)?.byteCount == Int64(data.count))
        if FileManager.default.fileExists(atPath: staged) {
            #expect(try FileManager.default.attributesOfItem(atPath: staged)[.systemFileNumber] as? Int == inode, "renamed, not copied")
        }
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .succeeded)
        #expect(final.response?.bodyText.contains(sha256Hex(data)) == true)
        #expect(harness.stagedFiles().isEmpty)
        await harness.close()
    }

    @Test func aRefusedTargetLeavesTheFileWhereItWas() async throws {
        let harness = try Harness()
        try FileManager.default.createDirectory(atPath: harness.staging, withIntermediateDirectories: true)
        let path = harness.staging + "/content-refused.tmp"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        await #expect(throws: ScanBridgeError.self) {
            try await harness.uploader.start(UploadDocument(file: path, fileName: "doc.pdf"), to: .httpPut(HTTPPutTarget(url: "gopher://x")))
        }
        #expect(FileManager.default.fileExists(atPath: path))
        await harness.close()
    }

    @Test func stagedBytesAndRecordAreWholeAndPrivate() async throws {
        let harness = try Harness()
        let data = randomBytes(300_000)
        // Nothing listens there: the upload fails at once and keeps its staged copy.
        let url = "http://127.0.0.1:\(TestServer.closedPort())/doc.pdf"
        let id = try await harness.uploader.start(UploadDocument(data: data, fileName: "doc.pdf", contentType: "application/pdf"),
                                                  to: .httpPut(HTTPPutTarget(url: url)),
                                                  options: UploadOptions(maxAttempts: 1))
        let final = try await harness.uploader.wait(id)
        #expect(final.state == .failed)
        #expect(harness.stagedFiles() == ["\(id).data", "\(id).json"], "no temporary file is left behind")
        let staged = try #require(final.stagedFile)
        #expect(FileManager.default.contents(atPath: staged) == data)
        for name in harness.stagedFiles() {
            let mode = try FileManager.default.attributesOfItem(atPath: harness.staging + "/" + name)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name) is readable by the service's user only")
        }
        let recovered = Uploader(stagingFolder: harness.staging, logger: CapturedLog().logger())
        let listed = await recovered.recoverStaged()
        #expect(listed.map(\.id) == [id])
        #expect(listed.first?.byteCount == Int64(data.count))
        #expect(listed.first?.fileName == "doc.pdf")
        await recovered.shutdown()
        await harness.close()
    }
}
