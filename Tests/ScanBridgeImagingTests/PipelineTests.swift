import Foundation
import ScanBridgeCore
import Synchronization
import Testing
@testable import ScanBridgeImaging

/// Counts work in flight and remembers the peak and the threads it ran on.
final class Concurrency: Sendable {
    private let state = Mutex<(current: Int, peak: Int, offPool: Int)>((0, 0, 0))
    func enter(_ pool: ComputePool) {
        let inPool = pool.isCurrentThreadInPool
        state.withLock { $0.current += 1; $0.peak = Swift.max($0.peak, $0.current); if !inPool { $0.offPool += 1 } }
    }
    func leave() { state.withLock { $0.current -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
    var offPool: Int { state.withLock { $0.offPool } }
}

struct Boom: Error, Equatable { let index: Int }

final class Flag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}

@Suite("Pipeline")
struct PipelineTests {
    static func numbers(_ count: Int) -> AsyncStream<Int> {
        AsyncStream { continuation in
            for i in 0..<count { continuation.yield(i) }
            continuation.finish()
        }
    }

    @Test func parallelMapKeepsOrderBoundsConcurrencyAndUsesThePool() async throws {
        let pool = ComputePool(threads: 4, name: "sb-test-pool")
        defer { pool.shutdown() }
        let tracker = Concurrency()
        var results: [Int] = []
        for try await value in Self.numbers(40).parallelMap(limit: 3, pool: pool, { (i: Int) -> Int in
            tracker.enter(pool)
            defer { tracker.leave() }
            usleep(UInt32((i * 7919) % 13) * 1000)   // uneven work: later items often finish first
            return i * i
        }) {
            results.append(value)
        }
        #expect(results == (0..<40).map { $0 * $0 })
        #expect(tracker.peak <= 3)
        #expect(tracker.peak >= 2, "work really ran in parallel")
        #expect(tracker.offPool == 0, "every transform ran on the pool's own threads")
    }

    @Test func errorsArriveInOrderAndStopTheSequence() async throws {
        var received: [Int] = []
        do {
            for try await value in Self.numbers(20).parallelMap(limit: 4, { (i: Int) -> Int in
                if i == 5 { throw Boom(index: i) }
                return i
            }) {
                received.append(value)
            }
            Issue.record("no error")
        } catch let error as Boom {
            #expect(error == Boom(index: 5))
        }
        #expect(received == [0, 1, 2, 3, 4])
    }

    @Test func computePoolRunsOffTheCooperativePool() async throws {
        let onPool = try await ComputePool.shared.run { ComputePool.shared.isCurrentThreadInPool }
        #expect(onPool)
        #expect(!ComputePool.shared.isCurrentThreadInPool)
        #expect(ComputePool.shared.threadCount == ProcessInfo.processInfo.activeProcessorCount)
        await #expect(throws: Boom.self) { try await ComputePool.shared.run { () throws -> Int in throw Boom(index: 0) } }
    }

    @Test func aJobsCapturesAreReleasedOnceItHasRun() async throws {
        // Pages are tens of MB: a pool that kept run jobs (and what they capture) until a later
        // compaction held dozens of pages after their scan jobs were gone.
        final class Payload: Sendable {}
        weak var released: Payload?
        do {
            let payload = Payload()
            released = payload
            _ = try await ComputePool.shared.run { withExtendedLifetime(payload) { 1 } }
        }
        // The worker drops its last reference right after resuming us.
        for _ in 0..<100 where released != nil { try await Task.sleep(for: .milliseconds(10)) }
        #expect(released == nil)
    }

    @Test func theScanPipelineMakesEachPagesStoredFormAndThumbnailSourceInOrder() async throws {
        let pages = [TestPage.make(width: 1240, height: 1754, format: .rgb24, dpi: 150, seed: 1),
                     TestPage.make(width: 1240, height: 1754, format: .gray8, dpi: 150, seed: 2),
                     TestPage.make(width: 1754, height: 1240, format: .bw1, dpi: 150, seed: 3),
                     TestPage.make(width: 200, height: 120, format: .rgb24, dpi: 150, seed: 4)]
        // Elements without an image (pages that arrive encoded) pass through with no products.
        let stream = AsyncStream<Int> { continuation in
            for index in 0...pages.count { continuation.yield(index) }
            continuation.finish()
        }
        var seen: [Int] = []
        for try await (index, products) in stream.scanPipeline(image: { $0 < pages.count ? pages[$0] : nil }) {
            seen.append(index)
            guard index < pages.count else {
                #expect(products == PageProducts())
                continue
            }
            let page = pages[index]
            let stored = try #require(products.storedForm)
            #expect(stored.format == StoredForm.format(for: page.format))
            // Encoded into the run's reused memory, byte for byte what an encode on its own gives.
            #expect(stored == (try StoredForm.encode(page)))
            let decoded = try ImageDecoder.decode(stored.bytes)
            #expect(decoded.width == page.width && decoded.height == page.height)
            if page.format == .bw1 {
                #expect(stored.format == .png)
                #expect(Bool(samePixels(decoded, page)))
            } else {
                #expect(stored.format == .jpeg)
                #expect(psnr(decoded, page) > 28)
            }
            if max(page.width, page.height) > ScanPipeline.thumbnailSourceBox * 2 {
                let source = try #require(products.thumbnailSource)
                let thumbnail = try #require(source.thumbnail(maxWidth: 160, maxHeight: 160))
                #expect(max(thumbnail.width, thumbnail.height) == 160)
            } else {
                #expect(products.thumbnailSource == nil, "a page about thumbnail size is not reduced")
            }
        }
        #expect(seen == Array(0...pages.count))
    }

    @Test func scannedPagesToPDFThroughThePipeline() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("pipeline.pdf").path
        let count = 8
        // Pages of different widths so that the order can be checked in the result.
        let pages = AsyncStream<Image> { continuation in
            for i in 0..<count { continuation.yield(TestPage.make(width: 300 + 20 * i, height: 400, format: .rgb24, dpi: 72, seed: UInt64(i))) }
            continuation.finish()
        }
        let writer = try await AsyncPDFWriter.file(path: path, options: .init(metadata: PDFMetadata(title: "Pipeline")))
        for try await (_, products) in pages.scanPipeline(image: { $0 }) {
            let pieces = try await writer.addPage(try PDFPageImage(jpeg: try #require(products.storedForm).bytes))
            #expect(pieces.isEmpty, "a file writer hands nothing back")
        }
        try await writer.finish()
        #expect(writer.pageCount == count)
        try PDFTests.expectQpdfCheck(path)
        let info = squeezed(String(decoding: try runTool("pdfinfo", ["-f", "1", "-l", String(count), path]).output, as: UTF8.self))
        for i in 0..<count { #expect(info.contains("Page \(i + 1) size: \(300 + 20 * i) x 400 pts")) }
    }
}

/// The pipeline stage between a scanner and the buffer: a page that is ready is handed out while
/// the scanner is still reading the next one, and a scanner that fails mid-batch loses none of
/// the pages it delivered before.
@Suite("Pipeline with a slow, failing producer")
struct PipelineProducerTests {
    @Test func aFinishedPageIsHandedOutWhileTheProducerWaits() async throws {
        let (pages, producer) = AsyncThrowingStream<Int, any Error>.makeStream()
        producer.yield(1)
        // Page 2 comes only after 30 s, or once the test is done: page 1 must not wait for it.
        let secondPageScanned = Flag()
        let scanner = Task {
            try? await Task.sleep(for: .seconds(30))
            secondPageScanned.set()
            producer.yield(2)
            producer.finish()
        }
        defer { scanner.cancel() }
        var iterator = pages.parallelMap(limit: 2) { $0 * 10 }.makeAsyncIterator()
        #expect(try await iterator.next() == 10)
        #expect(!secondPageScanned.isSet, "page 1 waited for page 2 to be scanned")
    }

    @Test func pagesBeforeAProducerFailureAreAllDelivered() async throws {
        let (pages, producer) = AsyncThrowingStream<Int, any Error>.makeStream()
        for page in 1...3 { producer.yield(page) }
        producer.finish(throwing: Boom(index: 4))
        var received: [Int] = []
        do {
            for try await value in pages.parallelMap(limit: 2, { (page: Int) -> Int in
                usleep(UInt32(4 - page) * 20_000)   // later pages finish first
                return page
            }) { received.append(value) }
            Issue.record("the producer's error was lost")
        } catch let error as Boom {
            #expect(error == Boom(index: 4))
        }
        #expect(received == [1, 2, 3])
    }

    @Test func theProducerIsPulledOnlyWhenThereIsRoom() async throws {
        let pulled = Concurrency()
        let numbers = AsyncStream<Int> { continuation in
            for i in 0..<100 { continuation.yield(i) }
            continuation.finish()
        }.map { (value: Int) -> Int in pulled.enter(.shared); return value }
        var iterator = numbers.parallelMap(limit: 3) { $0 }.makeAsyncIterator()
        #expect(try await iterator.next() == 0)
        try await Task.sleep(for: .milliseconds(100))
        // One handed out, three in flight at most.
        #expect(pulled.peak <= 4)
    }
}
