import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeStorage
import Testing

/// Real processes: `storage-crash-writer` killed with SIGKILL mid-write, writing under a file
/// size limit (disk full), and writing as an unprivileged user into a folder it may not write.
@Suite("Crash safety and failing disks", .serialized)
struct CrashAndFailureTests {
    struct ModelPage { var uid: String; var seq: UInt64 }
    struct ModelDocument { var password: String?; var pages: [ModelPage] }

    /// The page's bytes (raw pixels or encoded bytes) and the sequence number they start with.
    static func contentBytes(_ page: Page) -> [UInt8] {
        switch page.content {
        case .raw(let image): image.pixels
        case .encoded(_, let bytes): bytes
        }
    }

    static func seq(of bytes: [UInt8]) -> UInt64 {
        bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    @Test("kill -9 at random moments, 30 times: every acknowledged page intact, nothing half-written visible")
    func killDuringWrites() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        var model: [String: ModelDocument] = [:]
        var unknownDocuments: Set<String> = []
        var acknowledged = 0, recovered = 0, verifiedPages = 0
        var generator = SystemRandomNumberGenerator()

        for iteration in 1...30 {
            // Run the writer and kill it after a random delay.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Support.writerBinary)
            process.arguments = ["write", storage, String(iteration)]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            let collected = Support.Collected()
            output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
            try process.run()
            try await Task.sleep(for: .milliseconds(Int.random(in: 60...450, using: &generator)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            output.fileHandleForReading.readabilityHandler = nil
            collected.append(output.fileHandleForReading.readDataToEndOfFile())
            #expect(process.terminationReason == .uncaughtSignal, "iteration \(iteration): the writer was killed, not finished")

            // Apply every complete acknowledgement line to the model.
            let text = String(decoding: collected.get(), as: UTF8.self)
            var lines = text.split(separator: "\n").map(String.init)
            if !text.isEmpty, !text.hasSuffix("\n") { lines.removeLast() }   // a line cut by the kill is no acknowledgement
            var lastDocument: String?
            var touched: Set<String> = []
            for line in lines {
                let fields = line.split(separator: " ").map(String.init)
                if fields.count > 1, fields[0] != "OPEN" { touched.insert(fields[1]) }
                switch fields.first {
                case "OPEN": recovered += Int(fields[1])! + Int(fields[2])!
                case "DOC":
                    model[fields[1]] = ModelDocument(password: fields[2] == "-" ? nil : fields[2], pages: [])
                    lastDocument = fields[1]
                case "ACK":
                    model[fields[1]]!.pages.insert(ModelPage(uid: fields[2], seq: UInt64(fields[3])!), at: Int(fields[4])!)
                    acknowledged += 1
                    lastDocument = fields[1]
                case "DEL":
                    model[fields[1]]!.pages.removeAll { $0.uid == fields[2] }
                    lastDocument = fields[1]
                default: Issue.record("iteration \(iteration): unexpected line \(line)")
                }
            }

            // "Restart": open the store and check everything.
            let store = try await DocumentStore.open(folder: storage)
            recovered += store.recovery.removedTemporary + store.recovery.removedOrphanPages
            #expect(store.recovery.unreadableDocuments.isEmpty)
            let names = try FileManager.default.contentsOfDirectory(atPath: storage)
            #expect(names.allSatisfy { !$0.hasPrefix(".") }, "no half-created or half-deleted document is visible: \(names)")
            for uid in try await store.documentUIDs() where model[uid] == nil && !unknownDocuments.contains(uid) {
                // Created but not acknowledged: it can only be empty (or locked, when it has a password).
                do {
                    #expect(try await store.info(uid: uid).pages.isEmpty)
                } catch {
                    #expect(error.code == StorageErrorCode.wrongPassword)
                }
                unknownDocuments.insert(uid)
            }
            // Documents this run wrote are checked after every kill; all of them every 10th
            // (each check of a protected document costs a key derivation).
            for (uid, document) in model where touched.contains(uid) || iteration % 10 == 0 {
                let info = try await store.info(uid: uid, password: document.password)
                let actual = info.pages.map(\.uid), expected = document.pages.map(\.uid)
                if uid == lastDocument {
                    // The operation in flight when the kill came may or may not have committed.
                    let extraOne = actual.count == expected.count + 1 && actual.filter { expected.contains($0) } == expected
                    let missingOne = actual.count + 1 == expected.count && expected.filter { actual.contains($0) } == actual
                    #expect(actual == expected || extraOne || missingOne, "iteration \(iteration), document \(uid): \(actual) vs acknowledged \(expected)")
                } else {
                    #expect(actual == expected, "iteration \(iteration), document \(uid)")
                }
                let files = try FileManager.default.contentsOfDirectory(atPath: storage + "/" + uid)
                #expect(Set(files) == Set(actual.map { $0 + ".page" } + ["manifest"]), "only committed files remain")
                var pages: [ModelPage] = []
                for pageUID in actual {
                    let page = try await store.readPage(.uid(pageUID), of: uid, password: document.password)
                    let bytes = Self.contentBytes(page)
                    let seq = Self.seq(of: bytes)
                    #expect(bytes == Support.bytes(seq: seq, count: bytes.count), "page \(pageUID) is complete and exact")
                    if let known = document.pages.first(where: { $0.uid == pageUID }) {
                        #expect(known.seq == seq, "acknowledged page \(pageUID) holds its own content")
                    }
                    pages.append(ModelPage(uid: pageUID, seq: seq))
                    verifiedPages += 1
                }
                model[uid]!.pages = pages
            }
        }
        #expect(acknowledged > 30)
        print("crash test: 30 kills, \(acknowledged) acknowledged page writes, \(verifiedPages) page reads verified, \(recovered) leftovers of interrupted writes removed, \(model.count) documents")
    }

    @Test("disk full (file size limit, EFBIG): a clear error, the document keeps every page stored before")
    func diskFull() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let storage = folder + "/storage"
        let store = try await DocumentStore.open(folder: storage)
        let document = try await store.create()
        let before = try await store.insertPages([Support.rawPage(seq: 1), Support.rawPage(seq: 2, width: 10, height: 10)], into: document.uid)

        // RLIMIT_FSIZE 100 000 bytes with SIGXFSZ ignored: writing a 300 kB page fails with EFBIG.
        let full = try Support.run(Support.writerBinary, ["insert", storage, document.uid, "300000", "--fsize-limit", "100000"])
        #expect(full.stdout.hasPrefix("ERROR \(StorageErrorCode.writeFailed) Cannot write page 1 of 1: no space left"), "\(full.stdout)\(full.stderr)")
        #expect(full.stdout.contains("| \(EFBIG) "))
        let small = try Support.run(Support.writerBinary, ["insert", storage, document.uid, "1000", "--fsize-limit", "100000"])
        #expect(small.stdout == "OK 3\n", "writes under the limit still work: \(small.stdout)")
        let noIndex = try Support.run(Support.writerBinary, ["create", storage, "--fsize-limit", "10"])
        #expect(noIndex.stdout.hasPrefix("ERROR \(StorageErrorCode.writeFailed) Cannot write the document index"), "\(noIndex.stdout)")

        let reopened = try await DocumentStore.open(folder: storage)
        #expect(try await reopened.documentUIDs() == [document.uid], "the failed create left no document")
        let after = try await reopened.info(uid: document.uid)
        #expect(Array(after.pages.prefix(2)) == before.pages)
        #expect(after.pages.count == 3)
        #expect(try await reopened.readPage(.index(0), of: document.uid) == Support.rawPage(seq: 1))
        #expect(try await reopened.readPage(.index(1), of: document.uid) == Support.rawPage(seq: 2, width: 10, height: 10))
        #expect(try FileManager.default.contentsOfDirectory(atPath: storage + "/" + document.uid).count == 4)
    }

    @Test("an unwritable folder: a clear error naming the cause, nothing stored is lost")
    func unwritableFolder() async throws {
        let folder = try Support.temporaryFolder()
        defer {
            _ = try? Support.run("/bin/chmod", ["-R", "u+w", folder])
            Support.remove(folder)
        }
        let storage = folder + "/storage"
        let store = try await DocumentStore.open(folder: storage)
        let document = try await store.create()
        _ = try await store.insertPages([Support.rawPage(seq: 1)], into: document.uid)

        if Support.isRoot {
            // Root writes anywhere: run the writer as `nobody` over a tree it may read but not write.
            _ = try Support.run("/bin/chmod", ["-R", "a+rX", folder])
            let writer = folder + "/storage-crash-writer"
            try FileManager.default.copyItem(atPath: Support.writerBinary, toPath: writer)
            let asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", writer]
            let insert = try Support.run("/usr/bin/setpriv", asNobody + ["insert", storage, document.uid, "1000"])
            #expect(insert.stdout.hasPrefix("ERROR \(StorageErrorCode.accessDenied) Cannot write page 1 of 1: the folder is not writable"), "\(insert.stdout)\(insert.stderr)")
            #expect(insert.stdout.contains("| \(EACCES) "))
            let create = try Support.run("/usr/bin/setpriv", asNobody + ["create", storage])
            #expect(create.stdout.hasPrefix("ERROR \(StorageErrorCode.accessDenied) Cannot write the new document"), "\(create.stdout)")
            try FileManager.default.createDirectory(atPath: folder + "/cache", withIntermediateDirectories: true)
            _ = try Support.run("/bin/chmod", ["755", folder + "/cache"])
            let buffer = try Support.run("/usr/bin/setpriv", asNobody + ["spill", folder + "/cache", "1", "10", "0"])
            #expect(buffer.stdout.hasPrefix("ERROR \(StorageErrorCode.accessDenied) "), "\(buffer.stdout)")
        } else {
            _ = try Support.run("/bin/chmod", ["0555", storage, storage + "/" + document.uid])
            do {
                _ = try await store.insertPages([Support.rawPage(seq: 2)], into: document.uid)
                Issue.record("insert into a read-only folder succeeded")
            } catch {
                #expect(error.code == StorageErrorCode.accessDenied)
                #expect(error.cause?.code == Int(EACCES))
            }
            do {
                _ = try await store.create()
                Issue.record("create in a read-only folder succeeded")
            } catch {
                #expect(error.code == StorageErrorCode.accessDenied)
            }
            _ = try Support.run("/bin/chmod", ["0755", storage, storage + "/" + document.uid])
        }
        let reopened = try await DocumentStore.open(folder: storage)
        #expect(try await reopened.documentUIDs() == [document.uid])
        #expect(try await reopened.readPage(.index(0), of: document.uid) == Support.rawPage(seq: 1))
        #expect(try await reopened.info(uid: document.uid).pages.count == 1)
    }
}
