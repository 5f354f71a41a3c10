import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeStorage
import Testing

@Suite("Image buffer")
struct ImageBufferTests {
    @Test("ordered pages with stable ids and uids: insert, move, swap, replace, remove, remove all")
    func operations() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache")
        var added: [BufferPage] = []
        for seq in 0..<4 { added.append(try await buffer.append(Support.rawPage(seq: UInt64(seq)))) }
        #expect(added.map(\.id) == [1, 2, 3, 4])
        #expect(Set(added.map(\.uid)).count == 4)
        #expect(added.allSatisfy { Identifier.isValid($0.uid) })

        let front = try await buffer.insert(Support.rawPage(seq: 10, width: 17, height: 5, format: .bw1, dpi: 150), at: 0)
        #expect(front.id == 5 && front.index == 0)
        #expect(front.info == PageInfo(width: 17, height: 5, format: .bw1, xDPI: 150, yDPI: 150))
        #expect(front.info.bitsPerPixel == 1 && front.info.samplesPerPixel == 1)
        #expect(await buffer.pages().map(\.id) == [5, 1, 2, 3, 4])

        try await buffer.move(from: 0, to: 4)
        #expect(await buffer.pages().map(\.id) == [1, 2, 3, 4, 5])
        try await buffer.swap(0, 3)
        #expect(await buffer.pages().map(\.id) == [4, 2, 3, 1, 5])
        #expect(try await buffer.page(uid: added[0].uid).index == 3)
        #expect(try await buffer.id(at: 0) == 4)

        let edited = Page(encoded: [1, 2, 3], mediaType: "image/png", info: PageInfo(width: 1, height: 1, format: .gray8, xDPI: 72, yDPI: 72))
        let replaced = try await buffer.replace(id: 2, with: edited)
        #expect(replaced.id == 2 && replaced.uid == added[1].uid && replaced.mediaType == "image/png")
        #expect(try await buffer.content(id: 2) == edited)

        try await buffer.remove(id: 3)
        #expect(await buffer.pages().map(\.id) == [4, 2, 1, 5])
        #expect(await buffer.pages().map(\.index) == [0, 1, 2, 3])
        await buffer.removeAll()
        #expect(await buffer.count == 0)
        // Ids are never reused.
        #expect(try await buffer.append(Support.rawPage(seq: 99)).id == 6)
        await buffer.close()
    }

    @Test("tags and selection")
    func tagsAndSelection() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache")
        for seq in 0..<5 { try await buffer.append(Support.rawPage(seq: UInt64(seq), width: 8, height: 8), tags: seq == 0 ? ["first"] : []) }
        try await buffer.addTag("odd", to: [2, 4])
        try await buffer.addTag("first", to: [2])
        try await buffer.removeTag("first", from: [1])
        #expect(await buffer.ids(taggedWith: "odd") == [2, 4])
        #expect(await buffer.ids(taggedWith: "first") == [2])
        try await buffer.select([5, 1])
        #expect(await buffer.selection == [1, 5])
        try await buffer.move(from: 4, to: 0)
        #expect(await buffer.selection == [5, 1])
        #expect(try await buffer.page(id: 4).tags == ["odd"])
        #expect(try await buffer.page(id: 5).isSelected)
        await #expect(throws: ScanBridgeError.self) { try await buffer.select([1, 77]) }
        #expect(await buffer.selection == [5, 1], "a failed call changes nothing")
        await buffer.close()
    }

    @Test("errors: unknown ids, bad indices, the page-count limit, a closed buffer")
    func errors() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache", limits: BufferLimits(memoryBytes: 1 << 20, maxPages: 3))
        for seq in 0..<3 { try await buffer.append(Support.rawPage(seq: UInt64(seq), width: 10, height: 10)) }
        func code(_ body: () async throws -> Void) async -> Int? {
            do { try await body(); return nil } catch let error as ScanBridgeError { return error.code } catch { return nil }
        }
        #expect(await code { try await buffer.append(Support.rawPage(seq: 3)) } == StorageErrorCode.bufferFull)
        #expect(await buffer.count == 3, "pages stored before the limit stay")
        #expect(await code { _ = try await buffer.content(id: 42) } == StorageErrorCode.imageNotFound)
        #expect(await code { _ = try await buffer.page(uid: "../../etc/passwd") } == StorageErrorCode.imageNotFound)
        #expect(await code { try await buffer.move(from: 0, to: 3) } == StorageErrorCode.indexOutOfRange)
        #expect(await code { try await buffer.swap(-1, 0) } == StorageErrorCode.indexOutOfRange)
        #expect(await code { _ = try await buffer.insert(Support.rawPage(seq: 9), at: 9) } == StorageErrorCode.bufferFull)
        try await buffer.remove(id: 1)
        #expect(await code { _ = try await buffer.insert(Support.rawPage(seq: 9), at: 9) } == StorageErrorCode.indexOutOfRange)
        #expect(await code { try await buffer.remove(ids: [2, 1]) } == StorageErrorCode.imageNotFound)
        #expect(await buffer.count == 2)
        await buffer.close()
        await buffer.close()
        #expect(await code { _ = try await buffer.append(Support.rawPage(seq: 1)) } == StorageErrorCode.closed)
    }

    @Test("past the memory limit pages spill to encrypted cache files and come back byte-exact")
    func spillAndReload() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let cache = folder + "/cache"
        let limit = 1 << 20
        let buffer = try await ImageBuffer.open(cacheFolder: cache, limits: BufferLimits(memoryBytes: limit, maxPages: 100))
        let marker = Array("PLAINTEXT-MARKER-IN-PIXELS".utf8)
        var pages: [Page] = []
        for seq in 0..<24 {
            // 300×200 RGB = 180 000 bytes; a marker in each page's pixels, encoded pages too.
            var page = Support.rawPage(seq: UInt64(seq))
            if case .raw(var image) = page.content {
                image.pixels.replaceSubrange(100..<(100 + marker.count), with: marker)
                page = Page(image: image)
            }
            if seq % 3 == 0 {
                page = Page(encoded: Support.bytes(seq: UInt64(seq), count: 150_000) + marker, mediaType: "image/jpeg", info: page.info)
            }
            pages.append(page)
            try await buffer.append(page)
            // Over the limit only by pages being written out, and by at most two pages.
            let now = await buffer.stats
            #expect(now.residentBytes - now.spillingBytes <= limit)
            #expect(now.residentBytes <= limit + 2 * 180_000)
        }
        #expect(await buffer.flush() == nil)
        let stats = await buffer.stats
        #expect(stats.residentBytes <= limit && stats.spillingBytes == 0)
        #expect(stats.pagesOnDisk >= 17)
        #expect(stats.bytesOnDisk + stats.residentBytes == pages.reduce(0) { $0 + $1.byteCount },
                "each page's bytes are in memory or only on disk")
        #expect(stats.peakResidentBytes <= limit + 2 * 180_000, "at most two pages over the limit, briefly")
        let files = Support.allFileBytes(below: cache).filter { $0.path.hasSuffix(".page") }
        #expect(files.count == stats.pagesOnDisk)
        #expect(files.allSatisfy { !Support.contains($0.bytes, marker) }, "cache files are encrypted")

        // Every page comes back byte-exact, in any order, while memory stays under the limit.
        for index in [23, 0, 5, 12, 1, 22, 3] + Array(0..<24) {
            #expect(try await buffer.content(at: index) == pages[index])
            let now = await buffer.stats
            #expect(now.residentBytes - now.spillingBytes <= limit)
        }
        await buffer.flush()
        #expect(await buffer.stats.residentBytes <= limit)
        #expect(await buffer.stats.reloads > 0)

        // Removing pages removes their cache files; removeAll removes the rest; close the folder.
        try await buffer.remove(id: 1)
        await buffer.removeAll()
        #expect(Support.allFileBytes(below: cache).filter { $0.path.hasSuffix(".page") }.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).count == 1)
        await buffer.close()
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)
    }

    @Test("forms derived from a page are handed out while the page is in memory and unchanged, and count against the limit")
    func storedForm() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        // 300×200 RGB pages of 180 000 bytes, stored forms of 20 000: five such pages fit in memory.
        let limit = 1_000_000
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache", limits: BufferLimits(memoryBytes: limit, maxPages: 100))
        let raw = Support.rawPage(seq: 1)
        let stored = Page(encoded: Support.bytes(seq: 2, count: 20_000), mediaType: "image/jpeg", info: raw.info)
        let first = try await buffer.append(raw, derived: PageDerivatives(storedForm: stored))
        #expect(try await buffer.storedForm(id: first.id) == stored)
        #expect(try await buffer.derived(id: first.id).thumbnailSource == nil)
        #expect(try await buffer.content(id: first.id) == raw, "the content stays the page as scanned")
        #expect(await buffer.stats.residentBytes == 200_000)
        #expect(first.byteCount == 180_000 && first.mediaType == nil, "the page is described by its content")

        // Without one there is none; an unknown id is an error, as for content.
        let plain = try await buffer.append(Support.rawPage(seq: 3))
        #expect(try await buffer.storedForm(id: plain.id) == nil)
        await #expect(throws: ScanBridgeError.self) { _ = try await buffer.storedForm(id: 99) }

        // An edit makes it stale: replace drops it.
        let edited = try await buffer.append(Support.rawPage(seq: 4), derived: PageDerivatives(storedForm: stored))
        try await buffer.replace(id: edited.id, with: Support.rawPage(seq: 5))
        #expect(try await buffer.storedForm(id: edited.id) == nil)
        #expect(await buffer.stats.residentBytes == 200_000 + 180_000 + 180_000)

        // Spilling writes the content only and drops the stored form; the page comes back exact.
        for seq in 10..<14 { try await buffer.append(Support.rawPage(seq: UInt64(seq)), derived: PageDerivatives(storedForm: stored)) }
        #expect(await buffer.flush() == nil)
        #expect(try await buffer.storedForm(id: first.id) == nil, "the least recently used page spilled")
        #expect(try await buffer.content(id: first.id) == raw)
        let now = await buffer.stats
        #expect(now.residentBytes - now.spillingBytes <= limit)

        // A thumbnail source is kept and counted the same way.
        await buffer.removeAll()
        guard case .raw(let image) = raw.content else { Issue.record("not a raw page"); return }
        let source = ThumbnailSource(of: image, maxWidth: 20, maxHeight: 20)
        let reduced = try await buffer.append(raw, derived: PageDerivatives(thumbnailSource: source))
        #expect(try await buffer.derived(id: reduced.id).thumbnailSource == source)
        #expect(await buffer.stats.residentBytes == 180_000 + source.byteCount && source.block > 1)

        // Removing every page gives all of its memory back.
        await buffer.removeAll()
        #expect(await buffer.stats.residentBytes == 0)
        await buffer.close()
    }

    @Test("a producer and a reader at once: every page byte-exact, memory bounded")
    func concurrentProducerAndReader() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let limit = 600_000
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache", limits: BufferLimits(memoryBytes: limit, maxPages: 1000))
        let count = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for seq in 0..<count { try await buffer.append(Support.rawPage(seq: UInt64(seq))) }
            }
            group.addTask {
                var seen = 0
                while seen < count {
                    if await buffer.count > seen {
                        let page = try await buffer.content(at: seen)
                        #expect(page == Support.rawPage(seq: UInt64(seen)))
                        seen += 1
                    } else {
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
            }
            try await group.waitForAll()
        }
        for index in 0..<count { #expect(try await buffer.content(at: index) == Support.rawPage(seq: UInt64(index))) }
        await buffer.flush()
        #expect(await buffer.stats.residentBytes <= limit)
        await buffer.close()
    }

    @Test("a crashed run's cache folder is removed on open; a live buffer's is kept")
    func staleCacheRemoved() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let cache = folder + "/cache"
        // A real run killed with pages spilled: its folder stays behind.
        let killed = try Support.run("/bin/sh", ["-c", "exec \"$0\" spill \"$1\" 30 100000 200000 & sleep 0.05; kill -9 $! 2>/dev/null; wait", Support.writerBinary, cache])
        _ = killed
        try FileManager.default.createDirectory(atPath: cache + "/buffer-deadbeef", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: cache + "/buffer-deadbeef/.lock", contents: Data())
        _ = FileManager.default.createFile(atPath: cache + "/buffer-deadbeef/7-1.page", contents: Data(repeating: 1, count: 100))
        let live = try await ImageBuffer.open(cacheFolder: cache, limits: BufferLimits(memoryBytes: 0, maxPages: 10))
        try await live.append(Support.rawPage(seq: 1))
        await live.flush()
        #expect(await live.stats.pagesOnDisk == 1)
        #expect(await live.stats.bytesOnDisk == Support.rawPage(seq: 1).byteCount)
        #expect(await live.stats.staleFoldersRemoved >= 1)
        #expect(!FileManager.default.fileExists(atPath: cache + "/buffer-deadbeef"))
        let second = try await ImageBuffer.open(cacheFolder: cache)
        #expect(await second.stats.staleFoldersRemoved == 0, "the live buffer's folder is locked, so kept")
        #expect(try await live.content(at: 0) == Support.rawPage(seq: 1))
        await second.close()
        await live.close()
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)
    }

    @Test("memory bound: a process pushing 120 MB of pages through an 8 MB limit peaks near the limit, not the total")
    func memoryBound() throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let pageBytes = 2_000_000, pages = 60, limit = 8 << 20
        let result = try Support.run(Support.writerBinary, ["spill", folder + "/cache", "\(pages)", "\(pageBytes)", "\(limit)"])
        let fields = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        #expect(fields.first == "OK" && fields.count >= 8, "\(result.stdout)\(result.stderr)")
        guard fields.count >= 8, let spilled = Int(fields[3]), let base = Int(fields[5]), let peak = Int(fields[7]) else { return }
        #expect(spilled >= pages - limit / pageBytes - 1)
        // Documented overhead: about three pages in flight (produced, being spilled, read back)
        // plus allocator slack; the 120 MB pushed through must not show up.
        let overhead = peak - base - limit
        print("memory bound: \(pages) pages of \(pageBytes) bytes, limit \(limit >> 20) MiB: base \(base >> 20) MiB, peak \(peak >> 20) MiB, overhead over the limit \(overhead >> 20) MiB")
        // Measured here: 8 MiB; 20 MiB without `MemoryPolicy` (freed pages kept in heap arenas).
        #expect(overhead < 5 * pageBytes + (6 << 20), "peak \(peak >> 20) MiB, base \(base >> 20) MiB")
    }

    @Test("spilling onto a full disk: a clear error, the new page refused, every earlier page kept")
    func spillOnFullDisk() throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        // RLIMIT_FSIZE 50 000 bytes with SIGXFSZ ignored: the first 100 kB spill file fails with EFBIG
        // (what a full disk does, as ENOSPC). The fifth page pushes memory over 450 000 bytes and
        // starts that spill; the sixth append finds it failed, retries, and is refused.
        let result = try Support.run(Support.writerBinary, ["spill", folder + "/cache", "40", "100000", "450000", "--fsize-limit", "50000"])
        #expect(result.stdout.contains("ERROR \(StorageErrorCode.writeFailed) "), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("File too large"))
        #expect(!result.stdout.contains("MISMATCH"))
        #expect(result.stdout.contains("after 5 pages"))
        #expect(result.stdout.contains("KEPT 5"))
        #expect(result.status == 0)
    }
}
