// A document already written to a file is staged by moving it, not by copying its bytes.
import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeUpload

@Suite("Uploads of files")
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
}
