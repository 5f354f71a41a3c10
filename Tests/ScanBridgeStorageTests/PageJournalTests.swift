import Foundation
import ScanBridgeCore
import ScanBridgeImaging
@testable import ScanBridgeStorage
import Testing

@Suite("Page journal")
struct PageJournalTests {
    static func encodedPage(seq: UInt64, size: Int = 40_000) -> Page {
        Page(encoded: Support.bytes(seq: seq, count: size), mediaType: "image/jpeg",
             info: PageInfo(width: 640, height: 480, format: .rgb24, xDPI: 150, yDPI: 150))
    }

    /// A journal with one job of `count` pages (ids 11…, uids p0…), closed again.
    static func writeJob(_ folder: String, job: String = "job-1", count: Int, end: JournaledJobEnd? = nil) async throws {
        let (journal, _) = try await PageJournal.open(folder: folder)
        let file = try await journal.begin(job: job, details: Array("{\"who\":\"test\"}".utf8))
        for index in 0..<count {
            try await file.append(page: encodedPage(seq: UInt64(index)), id: 11 + index, uid: "p\(index)", pageNumber: index + 1)
        }
        if let end { try await file.end(end) }
    }

    static func journalFile(_ folder: String, job: String = "job-1") -> String { folder + "/" + job + ".journal" }

    @Test("pages come back byte-exact after a restart, with their ids, numbers and the job's record")
    func roundTrip() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        try await Self.writeJob(folder, count: 5)
        let (_, jobs) = try await PageJournal.open(folder: folder)
        #expect(jobs.count == 1)
        let job = try #require(jobs.first)
        #expect(job.uid == "job-1" && job.end == nil && job.tornBytes == 0 && job.damagedRecords == 0)
        #expect(String(decoding: job.details, as: UTF8.self) == "{\"who\":\"test\"}")
        #expect(job.pages.map(\.meta.uid) == ["p0", "p1", "p2", "p3", "p4"])
        #expect(job.pages.map(\.meta.id) == [11, 12, 13, 14, 15])
        #expect(job.pages.map(\.meta.pageNumber) == [1, 2, 3, 4, 5])
        for (index, page) in job.pages.enumerated() {
            #expect(try page.read() == Self.encodedPage(seq: UInt64(index)))
        }
        // The page bytes are sealed: not in the file in clear.
        let bytes = Array(FileManager.default.contents(atPath: Self.journalFile(folder))!)
        #expect(!Support.contains(bytes, Array(Self.encodedPage(seq: 2).content.encodedImage!.bytes.prefix(64))))
    }

    @Test("an end record restores the job as it ended")
    func endRecord() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        try await Self.writeJob(folder, count: 2, end: JournaledJobEnd(status: "completed", code: 0, message: "Successful"))
        let (_, jobs) = try await PageJournal.open(folder: folder)
        #expect(jobs.first?.end == JournaledJobEnd(status: "completed", code: 0, message: "Successful"))
        #expect(jobs.first?.pages.count == 2)
    }

    @Test("a record torn at any byte is cut off; every whole record before it stays, and appends go on after it")
    func tornTail() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        try await Self.writeJob(folder, count: 3)
        let path = Self.journalFile(folder)
        let whole = Array(FileManager.default.contents(atPath: path)!)
        // Where the third page record starts: recovered from a two-page journal's length.
        let twoPagesFolder = folder + "/two"
        try await Self.writeJob(twoPagesFolder, count: 2)
        let twoPages = Array(FileManager.default.contents(atPath: Self.journalFile(twoPagesFolder))!).count
        var generator = SystemRandomNumberGenerator()
        for cut in [twoPages + 1, twoPages + 27, twoPages + 29, twoPages + 200, whole.count - 1] + (0..<6).map({ _ in Int.random(in: (twoPages + 1)..<whole.count, using: &generator) }) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(whole[0..<cut]))
            let (journal, jobs) = try await PageJournal.open(folder: folder)
            let job = try #require(jobs.first { $0.uid == "job-1" })
            #expect(job.pages.map(\.meta.uid) == ["p0", "p1"], "cut at \(cut)")
            #expect(job.tornBytes == cut - twoPages)
            #expect(Array(FileManager.default.contents(atPath: path)!).count == twoPages)
            // The job goes on: a new page after the cut is read back with the others.
            try await journal.reopen(job: "job-1").append(page: Self.encodedPage(seq: 9), id: 20, uid: "p9", pageNumber: 3)
            let (_, again) = try await PageJournal.open(folder: folder)
            let resumed = try #require(again.first { $0.uid == "job-1" })
            #expect(resumed.pages.map(\.meta.uid) == ["p0", "p1", "p9"])
            #expect(try resumed.pages[2].read() == Self.encodedPage(seq: 9))
        }
    }

    @Test("a page whose bytes changed on disk is reported damaged and never read as a page; the others stay")
    func damagedBody() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        try await Self.writeJob(folder, count: 3)
        let (_, before) = try await PageJournal.open(folder: folder)
        let victim = try #require(before.first?.pages[1])
        let path = Self.journalFile(folder)
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        bytes[victim.bodyOffset + victim.bodyLength / 2] ^= 0x40
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))

        let (_, jobs) = try await PageJournal.open(folder: folder)
        let pages = try #require(jobs.first?.pages)
        #expect(pages.map(\.meta.uid) == ["p0", "p1", "p2"])
        #expect(try pages[0].read() == Self.encodedPage(seq: 0))
        #expect(try pages[2].read() == Self.encodedPage(seq: 2))
        let error = #expect(throws: ScanBridgeError.self) { try pages[1].read() }
        #expect(error?.code == StorageErrorCode.readFailed)
        #expect(error?.message.contains("Page 2 (p1)") == true)

        // Through the buffer: the damaged page fails with -1036, the others are served.
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache")
        let restored = try await buffer.restore(pages, tags: ["job:job-1"])
        #expect(restored.map(\.id) == [11, 12, 13])
        #expect(try await buffer.content(id: 11) == Self.encodedPage(seq: 0))
        await #expect(throws: ScanBridgeError.self) { _ = try await buffer.content(id: 12) }
        // Ids handed out later stay above the restored ones.
        #expect(try await buffer.append(Self.encodedPage(seq: 5)).id == 14)
        await buffer.close()
    }

    @Test("a record whose header was damaged in the middle is skipped; the records after it are kept")
    func damagedHeader() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        try await Self.writeJob(folder, count: 4)
        let (_, before) = try await PageJournal.open(folder: folder)
        let second = try #require(before.first?.pages[1])
        let path = Self.journalFile(folder)
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        // A byte of the second page record's meta (just before its body).
        bytes[second.bodyOffset - 5] ^= 0x01
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let (_, jobs) = try await PageJournal.open(folder: folder)
        let job = try #require(jobs.first)
        #expect(job.pages.map(\.meta.uid) == ["p0", "p2", "p3"])
        #expect(job.damagedRecords == 1 && job.tornBytes == 0)
        #expect(try job.pages[2].read() == Self.encodedPage(seq: 3))
    }

    @Test("a removed job's journal is gone; a file without a whole job record is discarded")
    func removal() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        try await Self.writeJob(folder, job: "a", count: 1)
        try await Self.writeJob(folder, job: "b", count: 1)
        let (journal, _) = try await PageJournal.open(folder: folder)
        await journal.remove(job: "a")
        _ = FileManager.default.createFile(atPath: Self.journalFile(folder, job: "c"), contents: Data([0x53, 0x42]))
        let (_, jobs) = try await PageJournal.open(folder: folder)
        #expect(jobs.map(\.uid) == ["b"])
        #expect(!FileManager.default.fileExists(atPath: Self.journalFile(folder, job: "c")))
    }

    @Test("EIO on fsync: the append is reported failed with its cause, cut off again and not retried into a success")
    func fsyncFailure() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        try await Self.writeJob(folder, job: "job-eio", count: 2)
        let path = Self.journalFile(folder, job: "job-eio")
        let length = Array(FileManager.default.contents(atPath: path)!).count
        let (journal, _) = try await PageJournal.open(folder: folder)
        let file = journal.reopen(job: "job-eio")
        // The seam is process-wide and suites run in parallel: a job name no other test uses.
        PosixFaults.failNextFsync(pathSuffix: "/job-eio.journal", errno: EIO)
        let error = await #expect(throws: ScanBridgeError.self) {
            try await file.append(page: Self.encodedPage(seq: 7), id: 30, uid: "lost", pageNumber: 3)
        }
        #expect(error?.code == StorageErrorCode.writeFailed && error?.cause?.code == Int(EIO))
        #expect(Array(FileManager.default.contents(atPath: path)!).count == length)
        try await file.append(page: Self.encodedPage(seq: 8), id: 31, uid: "kept", pageNumber: 3)
        let (_, jobs) = try await PageJournal.open(folder: folder)
        let pages = try #require(jobs.first?.pages)
        #expect(pages.map(\.meta.uid) == ["p0", "p1", "kept"])
        #expect(try pages[2].read() == Self.encodedPage(seq: 8))
    }

    /// The file's size from its inode (reading it would bring it into the page cache).
    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    /// How many of the file's 4 KiB pages the page cache holds (`mincore` over a mapping of it).
    static func cachedPages(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let length = fileSize(path)
        guard length > 0 else { return 0 }
        let mapping = try #require(mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0))
        try #require(mapping != MAP_FAILED)
        defer { munmap(mapping, length) }
        var resident = [UInt8](repeating: 0, count: (length + 4095) / 4096)
        try #require(mincore(mapping, length, &resident) == 0)
        return resident.filter { $0 & 1 != 0 }.count
    }

    @Test("every record ends on a 4 KiB boundary and is written past the page cache; the meta comes back without its padding")
    func alignedDirectRecords() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let path = Self.journalFile(folder, job: "aligned")
        let (journal, _) = try await PageJournal.open(folder: folder)
        let file = try await journal.begin(job: "aligned", details: Array("{\"who\":\"test\"}".utf8))
        #expect(Self.fileSize(path) == 4096)
        for index in 0..<3 {
            try await file.append(page: Self.encodedPage(seq: UInt64(index), size: 40_000 + 777 * index), id: index, uid: "p\(index)", pageNumber: index + 1)
            #expect(Self.fileSize(path) % 4096 == 0)
        }
        try await file.end(JournaledJobEnd(status: "completed", code: 0, message: "Successful"))
        #expect(Self.fileSize(path) % 4096 == 0)
        // Direct writes on the test folder's file system (ext4 on the machines this runs on): the
        // records went from memory to the disk, and none of them sits in the page cache.
        #expect(journal.writesPastPageCache)
        #expect(try Self.cachedPages(path) == 0)
        let (_, jobs) = try await PageJournal.open(folder: folder)
        let job = try #require(jobs.first)
        #expect(String(decoding: job.details, as: UTF8.self) == "{\"who\":\"test\"}")
        #expect(job.end?.status == "completed" && job.damagedRecords == 0 && job.tornBytes == 0)
        for (index, page) in job.pages.enumerated() {
            #expect(try page.read() == Self.encodedPage(seq: UInt64(index), size: 40_000 + 777 * index))
        }
    }

    @Test("a journal file that does not end aligned takes the next record through the page cache, and the one after direct")
    func unalignedFileGoesOn() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let (journal, _) = try await PageJournal.open(folder: folder)
        let path = Self.journalFile(folder, job: "odd")
        // A job record 4095 bytes long, as a record framed for another offset would leave the file.
        let record = JournalRecord.frame(kind: .job, meta: Array("{\"who\":\"odd\"}".utf8), bodyLength: 0, at: 1)
        #expect(record.count == 4095)
        _ = FileManager.default.createFile(atPath: path, contents: Data(record))
        let file = journal.reopen(job: "odd")
        try await file.append(page: Self.encodedPage(seq: 1), id: 1, uid: "a", pageNumber: 1)
        #expect(Self.fileSize(path) % 4096 == 0)
        try await file.append(page: Self.encodedPage(seq: 2), id: 2, uid: "b", pageNumber: 2)
        #expect(journal.writesPastPageCache)
        let (_, jobs) = try await PageJournal.open(folder: folder)
        let job = try #require(jobs.first)
        #expect(String(decoding: job.details, as: UTF8.self) == "{\"who\":\"odd\"}")
        #expect(try job.pages.map { try $0.read() } == [Self.encodedPage(seq: 1), Self.encodedPage(seq: 2)])
    }

    @Test("a file system that refuses direct writes gets every record through the page cache, and nothing is lost")
    func directWritesRefused() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let path = Self.journalFile(folder, job: "no-direct")
        // The seam is process-wide: the whole path, which no other test uses.
        PosixFaults.refuseDirectWrites(pathSuffix: path)
        defer { PosixFaults.refuseDirectWrites(pathSuffix: nil) }
        let (journal, _) = try await PageJournal.open(folder: folder)
        let file = try await journal.begin(job: "no-direct", details: Array("{}".utf8))
        #expect(!journal.writesPastPageCache)
        for index in 0..<2 {
            try await file.append(page: Self.encodedPage(seq: UInt64(index)), id: index, uid: "p\(index)", pageNumber: index + 1)
        }
        #expect(Self.fileSize(path) % 4096 == 0)
        let (_, jobs) = try await PageJournal.open(folder: folder)
        #expect(try jobs.first?.pages.map { try $0.read() } == [Self.encodedPage(seq: 0), Self.encodedPage(seq: 1)])
    }
}
