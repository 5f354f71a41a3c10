// A directory fsync that fails (EIO after a write-back error) once a rename is done: the caller
// is told the change failed, and what a restart finds agrees with some state the caller could
// have seen — never a document it was told was not created, never a page named but gone.
import Foundation
import ScanBridgeCore
@testable import ScanBridgeStorage
import Testing

@Suite("Document storage when a folder's fsync fails")
struct DocumentFsyncFailureTests {
    @Test("a document whose folder could not be made durable is not created, now or after a restart")
    func createFailsAtTheLastFsync() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        let store = try await DocumentStore.open(folder: storage)
        // The seam is process-wide and suites run in parallel: this test's own folder.
        PosixFaults.failNextFsync(pathSuffix: storage, errno: EIO)
        let error = await #expect(throws: ScanBridgeError.self) { _ = try await store.create() }
        #expect(error?.code == StorageErrorCode.writeFailed && error?.cause?.code == Int(EIO))
        #expect(try await store.documentUIDs().isEmpty)
        let reopened = try await DocumentStore.open(folder: storage)
        #expect(try await reopened.documentUIDs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: storage).filter { !$0.hasPrefix(".") }.isEmpty)
    }

    @Test("pages whose manifest was renamed in but not made durable stay readable; a restart finds every page it names")
    func insertFailsAfterTheManifestRename() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        let (store, uid) = try await Self.documentWithOnePage(in: storage)
        let first = Support.rawPage(seq: 1)
        // The document folder's first fsync makes the new page files durable; the second follows
        // the manifest's rename.
        PosixFaults.failNextFsync(pathSuffix: storage + "/" + uid, errno: EIO, skipping: 1)
        let error = await #expect(throws: ScanBridgeError.self) {
            _ = try await store.insertPages([Support.rawPage(seq: 2), Support.rawPage(seq: 3)], into: uid)
        }
        #expect(error?.code == StorageErrorCode.writeFailed && error?.cause?.code == Int(EIO))
        // This run still answers with the pages it acknowledged.
        #expect(try await store.info(uid: uid).pages.count == 1)
        #expect(try await store.readPage(.index(0), of: uid) == first)

        #expect(Self.pageFiles(storage + "/" + uid).count == 3, "the manifest on disk names the new pages: they stay")

        // After a restart the manifest on disk decides; every page it names can be read.
        let reopened = try await DocumentStore.open(folder: storage)
        let info = try await reopened.info(uid: uid)
        #expect(info.pages.count == 3)
        for index in info.pages.indices {
            #expect(try await reopened.readPage(.index(index), of: uid) == Support.rawPage(seq: UInt64(index + 1)))
        }
    }

    @Test("an insert whose manifest never replaced the old one removes its page files at once")
    func insertFailsBeforeTheManifestRename() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        let (store, uid) = try await Self.documentWithOnePage(in: storage)
        // The new manifest's temporary file, before its rename.
        PosixFaults.failNextFsync(pathContaining: storage + "/" + uid + "/.tmp-manifest-", errno: EIO)
        let error = await #expect(throws: ScanBridgeError.self) {
            _ = try await store.insertPages([Support.rawPage(seq: 2)], into: uid)
        }
        #expect(error?.code == StorageErrorCode.writeFailed && error?.cause?.code == Int(EIO))
        #expect(Self.pageFiles(storage + "/" + uid).count == 1, "space is given back now, not at the next open")
        let reopened = try await DocumentStore.open(folder: storage)
        #expect(reopened.recovery.removedOrphanPages == 0)
        #expect(try await reopened.info(uid: uid).pages.count == 1)
    }

    /// A store in `storage` holding one document whose only page is `Support.rawPage(seq: 1)`.
    static func documentWithOnePage(in storage: String) async throws -> (DocumentStore, String) {
        let store = try await DocumentStore.open(folder: storage)
        let uid = try await store.create().uid
        _ = try await store.insertPages([Support.rawPage(seq: 1)], into: uid)
        return (store, uid)
    }

    static func pageFiles(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".page") && !$0.hasPrefix(".") }
    }
}
