import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeStorage
import Testing

private func code(_ body: () async throws -> Void) async -> Int? {
    do { try await body(); return nil } catch let error as ScanBridgeError { return error.code } catch { return nil }
}

@Suite("Persistent documents")
struct DocumentStoreTests {
    @Test("create, insert at positions, delete by uid and index, reorder, read back, survive reopening")
    func roundTrip() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        let store = try await DocumentStore.open(folder: storage)
        let created = try await store.create()
        #expect(created.pages.isEmpty && !created.isEncrypted && Identifier.isValid(created.uid))

        let a = Support.rawPage(seq: 1, width: 101, height: 33, format: .gray16, dpi: 200)
        let b = Support.rawPage(seq: 2, width: 77, height: 10, format: .bw1, dpi: 600)
        let c = Page(encoded: Support.bytes(seq: 3, count: 5000), mediaType: "image/jpeg",
                     info: PageInfo(width: 2480, height: 3508, format: .rgb24, xDPI: 300, yDPI: 300))
        var info = try await store.insertPages([a, c], into: created.uid)
        info = try await store.insertPages([b], into: created.uid, at: 1)
        #expect(info.pages.count == 3)
        #expect(info.pages.map(\.info) == [a.info, b.info, c.info])
        #expect(info.pages.map(\.mediaType) == [nil, nil, "image/jpeg"])
        #expect(info.pages.map(\.byteCount) == [a.byteCount, b.byteCount, 5000])
        let uids = info.pages.map(\.uid)
        #expect(try await store.readPage(.uid(uids[1]), of: created.uid) == b)
        #expect(try await store.readPage(.index(2), of: created.uid) == c)

        info = try await store.reorder(created.uid, pageUIDs: [uids[2], uids[0], uids[1]])
        #expect(info.pages.map(\.uid) == [uids[2], uids[0], uids[1]])
        info = try await store.movePage(created.uid, from: 0, to: 2)
        #expect(info.pages.map(\.uid) == uids)
        #expect(await code { _ = try await store.reorder(created.uid, pageUIDs: [uids[0], uids[0], uids[1]]) } == StorageErrorCode.indexOutOfRange)
        #expect(await code { _ = try await store.insertPages([a], into: created.uid, at: 4) } == StorageErrorCode.indexOutOfRange)

        info = try await store.deletePage(.uid(uids[1]), from: created.uid)
        info = try await store.deletePage(.index(1), from: created.uid)
        #expect(info.pages.map(\.uid) == [uids[0]])
        #expect(await code { _ = try await store.deletePage(.uid(uids[1]), from: created.uid) } == StorageErrorCode.pageNotFound)
        #expect(await code { _ = try await store.deletePage(.index(1), from: created.uid) } == StorageErrorCode.indexOutOfRange)
        let second = try await store.create()
        _ = try await store.insertPages([b, c], into: second.uid)

        // A new store on the same folder (a restart) sees the same documents and bytes.
        let reopened = try await DocumentStore.open(folder: storage)
        #expect(reopened.recovery.documents == 2)
        #expect(reopened.recovery.removedOrphanPages == 0 && reopened.recovery.removedTemporary == 0)
        #expect(try await reopened.documentUIDs() == [created.uid, second.uid].sorted())
        #expect(try await reopened.info(uid: created.uid).pages.map(\.uid) == [uids[0]])
        #expect(try await reopened.readPage(.index(0), of: created.uid) == a)
        #expect(try await reopened.readPage(.index(1), of: second.uid) == c)
        // Deleted pages' files are gone; only the manifest and live pages remain.
        let names = try FileManager.default.contentsOfDirectory(atPath: storage + "/" + created.uid).sorted()
        #expect(names == ["manifest", uids[0] + ".page"].sorted())

        try await reopened.delete(uid: second.uid)
        #expect(await code { _ = try await reopened.info(uid: second.uid) } == StorageErrorCode.documentNotFound)
        #expect(!FileManager.default.fileExists(atPath: storage + "/" + second.uid))
        #expect(try FileManager.default.contentsOfDirectory(atPath: storage) == [created.uid])
    }

    @Test("password-protected documents: encrypted at rest, wrong or missing password refused with -1043")
    func encryptedAtRest() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        // More wrong passwords in a row than the back-off lets through: this test is about -1043.
        let store = try await DocumentStore.open(folder: storage, passwordAttempts: PasswordAttempts(freeFailures: 100))
        let marker = Array("TOP-SECRET-PLAINTEXT-MARKER".utf8)
        let page = Page(encoded: marker + Support.bytes(seq: 5, count: 2000) + marker, mediaType: "image/png",
                        info: PageInfo(width: 640, height: 480, format: .rgb24, xDPI: 96, yDPI: 96))
        let raw = Support.rawPage(seq: 6)
        let secret = try await store.create(password: "correct horse")
        #expect(secret.isEncrypted)
        let info = try await store.insertPages([page, raw], into: secret.uid, password: "correct horse")
        let open = try await store.create()
        _ = try await store.insertPages([page], into: open.uid)

        // The marker is visible in the unprotected document's files (so the search works) and in
        // none of the protected one's.
        let protectedFiles = Support.allFileBytes(below: storage + "/" + secret.uid)
        #expect(protectedFiles.count == 3)
        #expect(protectedFiles.allSatisfy { !Support.contains($0.bytes, marker) })
        #expect(protectedFiles.allSatisfy { !Support.contains($0.bytes, Array("correct horse".utf8)) })
        #expect(protectedFiles.allSatisfy { !Support.contains($0.bytes, Array(raw.fileBytesSample)) })
        #expect(Support.allFileBytes(below: storage + "/" + open.uid).contains { Support.contains($0.bytes, marker) })
        // Page sizes and formats are sealed too: the manifest does not say 640.
        let manifest = try String(contentsOfFile: storage + "/" + secret.uid + "/manifest", encoding: .isoLatin1)
        #expect(!manifest.contains("640") && !manifest.contains("image/png"))

        for attempt in [nil, "", "wrong horse", "correct horsE"] as [String?] {
            do {
                _ = try await store.readPage(.index(0), of: secret.uid, password: attempt)
                Issue.record("read with password \(attempt ?? "nil") succeeded")
            } catch {
                #expect(error.code == StorageErrorCode.wrongPassword)
                #expect(!error.message.contains("TOP-SECRET"))
            }
            #expect(await code { _ = try await store.info(uid: secret.uid, password: attempt) } == StorageErrorCode.wrongPassword)
            #expect(await code { _ = try await store.insertPages([raw], into: secret.uid, password: attempt) } == StorageErrorCode.wrongPassword)
            #expect(await code { try await store.delete(uid: secret.uid, password: attempt) } == StorageErrorCode.wrongPassword)
        }
        #expect(await code { _ = try await store.create(password: String(repeating: "x", count: 33)) } == StorageErrorCode.passwordTooLong)
        _ = try await store.create(password: String(repeating: "é", count: 32))

        // After a restart the derived key is gone: the password is checked against the file.
        let reopened = try await DocumentStore.open(folder: storage)
        #expect(await code { _ = try await reopened.readPage(.index(0), of: secret.uid, password: "wrong") } == StorageErrorCode.wrongPassword)
        #expect(try await reopened.info(uid: secret.uid, password: "correct horse") == info)
        #expect(try await reopened.readPage(.index(0), of: secret.uid, password: "correct horse") == page)
        #expect(try await reopened.readPage(.uid(info.pages[1].uid), of: secret.uid, password: "correct horse") == raw)
        try await reopened.delete(uid: secret.uid, password: "correct horse")
    }

    @Test("client-supplied names never leave storage/: traversal attempts are refused as unknown uids")
    func pathTraversal() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        let store = try await DocumentStore.open(folder: storage)
        let document = try await store.create()
        _ = try await store.insertPages([Support.rawPage(seq: 1, width: 4, height: 4)], into: document.uid)
        // A document outside storage/ that a traversal would reach.
        try FileManager.default.createDirectory(atPath: folder + "/victim", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/victim/manifest"))
        let before = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()

        let attempts = ["../victim", "..", ".", "%2e%2e", "%2e%2e%2fvictim", "..%2fvictim", "/etc", "/tmp/../etc/passwd",
                        document.uid + "/../../victim", document.uid + "\0", "a\0b", "", String(repeating: "a", count: 65),
                        "..\\victim", "victim/", " " + document.uid, "manifest", "\u{2215}etc", ".tmp-x", ".trash-y"]
        for attempt in attempts {
            #expect(await code { _ = try await store.info(uid: attempt) } == StorageErrorCode.documentNotFound, "\(attempt)")
            #expect(await code { _ = try await store.insertPages([Support.rawPage(seq: 2)], into: attempt) } == StorageErrorCode.documentNotFound)
            #expect(await code { _ = try await store.readPage(.index(0), of: attempt) } == StorageErrorCode.documentNotFound)
            #expect(await code { try await store.delete(uid: attempt) } == StorageErrorCode.documentNotFound)
            #expect(await code { _ = try await store.readPage(.uid(attempt), of: document.uid) } == StorageErrorCode.pageNotFound)
            #expect(await code { _ = try await store.deletePage(.uid(attempt), from: document.uid) } == StorageErrorCode.pageNotFound)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == before)
        #expect(FileManager.default.fileExists(atPath: folder + "/victim/manifest"))
        #expect(try await store.info(uid: document.uid).pages.count == 1)

        // A planted manifest whose page file points outside its folder is not trusted.
        let evil = storage + "/evildoc"
        try FileManager.default.createDirectory(atPath: evil, withIntermediateDirectories: true)
        let json = Array(#"{"format":1,"uid":"evildoc","created":0,"pages":[{"uid":"x","file":"../../victim/manifest"}],"details":[{"uid":"x","width":1,"height":1,"format":"gray8","xDPI":1,"yDPI":1,"byteCount":1}]}"#.utf8)
        let length = UInt32(json.count)
        let container = Array("SBPLAIN1".utf8) + [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)] + json
        try Data(container).write(to: URL(fileURLWithPath: evil + "/manifest"))
        let reopened = try await DocumentStore.open(folder: storage)
        #expect(reopened.recovery.unreadableDocuments == ["evildoc"])
        #expect(await code { _ = try await reopened.readPage(.index(0), of: "evildoc") } == StorageErrorCode.documentNotFound)
        #expect(await code { try await reopened.delete(uid: "evildoc") } == StorageErrorCode.documentNotFound)
        #expect(FileManager.default.fileExists(atPath: folder + "/victim/manifest"))
        #expect(try await reopened.documentUIDs() == [document.uid])

        #expect(PageReference(pathSegment: "0") == .index(0))
        #expect(PageReference(pathSegment: "12") == .index(12))
        #expect(PageReference(pathSegment: "-1") == .uid("-1"))
        #expect(PageReference(pathSegment: "..") == .uid(".."))
        #expect(PageReference(pathSegment: "99999999999999999999") == .uid("99999999999999999999"))
        for _ in 0..<200 { #expect(PageReference(pathSegment: Identifier.random()) != .index(0)) }
    }

    @Test("leftovers of interrupted operations are removed at open; damaged files are reported, not served")
    func recoveryAndDamage() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        let store = try await DocumentStore.open(folder: storage)
        let plain = try await store.create()
        let plainInfo = try await store.insertPages([Support.rawPage(seq: 1), Support.rawPage(seq: 2)], into: plain.uid)
        let secret = try await store.create(password: "pw")
        let secretInfo = try await store.insertPages([Support.rawPage(seq: 3)], into: secret.uid, password: "pw")

        // What a crash could leave: a half-created document, a half-deleted one, a page file
        // written but never committed, an unfinished temporary file, an unfinished manifest.
        let files = FileManager.default
        try files.createDirectory(atPath: storage + "/.tmp-abc", withIntermediateDirectories: true)
        try Data("half".utf8).write(to: URL(fileURLWithPath: storage + "/.tmp-abc/manifest"))
        try files.createDirectory(atPath: storage + "/.trash-def", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: storage + "/" + plain.uid + "/zzzz.page"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: storage + "/" + plain.uid + "/.tmp-yyyy.page"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: storage + "/" + secret.uid + "/.tmp-manifest-1"))

        let reopened = try await DocumentStore.open(folder: storage)
        #expect(reopened.recovery.documents == 2)
        #expect(reopened.recovery.removedTemporary == 4)
        #expect(reopened.recovery.removedOrphanPages == 1)
        #expect(try files.contentsOfDirectory(atPath: storage).sorted() == [plain.uid, secret.uid].sorted())
        #expect(try await reopened.info(uid: plain.uid) == plainInfo)
        #expect(try await reopened.info(uid: secret.uid, password: "pw") == secretInfo)

        // Flip one byte in a page file: the plain page fails its checksum, the sealed one its tag.
        for (uid, page, password) in [(plain.uid, plainInfo.pages[0].uid, nil), (secret.uid, secretInfo.pages[0].uid, "pw")] as [(String, String, String?)] {
            let path = storage + "/" + uid + "/" + page + ".page"
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(await code { _ = try await reopened.readPage(.uid(page), of: uid, password: password) } == StorageErrorCode.readFailed)
        }
        #expect(try await reopened.readPage(.index(1), of: plain.uid) == Support.rawPage(seq: 2), "other pages are unaffected")
    }
}

private extension Page {
    /// 64 bytes from the middle of a raw page's pixels, to look for in files.
    var fileBytesSample: ArraySlice<UInt8> {
        guard case .raw(let image) = content else { return [] }
        return image.pixels[1000..<1064]
    }
}
