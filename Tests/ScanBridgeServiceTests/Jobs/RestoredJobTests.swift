import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeImaging
import ScanBridgeStorage
import Testing
@testable import ScanBridgeService

@Suite("Jobs restored from the page journal")
struct RestoredJobTests {
    static func details(origin: String?) throws -> JournaledJobDetails {
        let scanner = try JSONDecoder().decode(ScannerInfo.self, from: Data("""
            {"id":"sane:test:0","saneName":"test:0","vendor":"Noname","model":"frontend-tester","type":"virtual device","displayName":"test"}
            """.utf8))
        return JournaledJobDetails(origin: origin, scanner: scanner, adjustments: [], configuration: DeviceConfiguration(pixelType: 2, resolution: 75),
                                   settings: nil, scannerFailureTimeout: 15, maxPages: 5)
    }

    static func page(_ seq: UInt8) -> Page {
        Page(encoded: [0xFF, 0xD8, 0xFF, seq] + [UInt8](repeating: seq, count: 1000), mediaType: "image/jpeg",
             info: PageInfo(width: 10, height: 10, format: .rgb24, xDPI: 75, yDPI: 75))
    }

    /// A journal folder holding one job of two pages that had not ended.
    static func journalWithInterruptedJob(_ folder: String, job: String) async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (journal, _) = try await PageJournal.open(folder: folder)
        let file = try await journal.begin(job: job, details: try details(origin: nil).encoded())
        try await file.append(page: page(1), id: 7, uid: "first", pageNumber: 1)
        try await file.append(page: page(2), id: 8, uid: "second", pageNumber: 2)
    }

    @Test("an unfinished job comes back interrupted with its pages under their ids; it is cleaned up after the TTL, never sooner, and a request restarts the clock")
    func interruptedAndCleanedUp() async throws {
        let folder = NSTemporaryDirectory() + "scanbridge-restored-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let job = "0f0e0d0c-0000-4000-8000-000000000001"
        try await Self.journalWithInterruptedJob(folder + "/journal", job: job)

        let (journal, recovered) = try await PageJournal.open(folder: folder + "/journal")
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache")
        let ttl = Duration.seconds(2)
        let registry = JobRegistry(buffer: buffer, journal: journal, interruptedJobTTL: ttl)
        let restored = await registry.restore(recovered)
        #expect(restored.jobs == 1 && restored.pages == 2)

        let started = ContinuousClock.now
        let scanJob = try await registry.job(job, origin: nil)
        #expect(await scanJob.status == .interrupted)
        #expect(await buffer.pages().map(\.id) == [7, 8])
        #expect(try await buffer.content(id: 8) == Self.page(2))
        let first = try #require(try await scanJob.next(.info))
        #expect(first.uid == "first" && first.pageNumber == 1)
        #expect(try await scanJob.next(.info)?.uid == "second")
        #expect(try await scanJob.next(.info) == nil)   // interrupted: nothing to wait for

        // Touched again after 1.5 s: the job must outlive started + 1.5 s + TTL.
        try await Task.sleep(for: .milliseconds(1500))
        _ = try await registry.job(job, origin: nil)
        let touched = ContinuousClock.now
        while (try? await registry.job(job, origin: nil, touching: false)) != nil {
            #expect(ContinuousClock.now - started < .seconds(30), "the job was never cleaned up")
            if ContinuousClock.now - started > .seconds(30) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ContinuousClock.now - touched >= ttl, "cleaned up sooner than the TTL after the last request")
        #expect(await buffer.count == 0)
        #expect(!FileManager.default.fileExists(atPath: folder + "/journal/\(job).journal"))
        await buffer.close()
    }

    @Test("an ended job comes back as it ended; cancel ends an interrupted one for good")
    func endedAndCanceled() async throws {
        let folder = NSTemporaryDirectory() + "scanbridge-restored-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let job = "0f0e0d0c-0000-4000-8000-000000000002"
        try await Self.journalWithInterruptedJob(folder + "/journal", job: job)
        do {
            let (journal, recovered) = try await PageJournal.open(folder: folder + "/journal")
            let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache")
            let registry = JobRegistry(buffer: buffer, journal: journal)
            await registry.restore(recovered)
            try await registry.job(job, origin: nil).cancel()
            let status = await (try registry.job(job, origin: nil)).status
            #expect(status == .canceled)
            await buffer.close()
        }
        let (journal, recovered) = try await PageJournal.open(folder: folder + "/journal")
        let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache")
        let registry = JobRegistry(buffer: buffer, journal: journal)
        await registry.restore(recovered)
        let scanJob = try await registry.job(job, origin: nil)
        let status = await scanJob.status, pageCount = await scanJob.pageCount
        #expect(status == .canceled && pageCount == 2)
        await #expect(throws: ScanBridgeError.self) { try await scanJob.start() }
        await buffer.close()
    }
}
