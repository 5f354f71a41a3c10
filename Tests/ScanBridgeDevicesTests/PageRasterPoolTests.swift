import Foundation
@_spi(Testing) @testable import ScanBridgeDevices
import ScanBridgeCore
import ScanBridgeImaging
import Testing

/// The address of an array's storage: equal for two arrays that share it.
private func storage(_ pixels: [UInt8]) -> UnsafeRawPointer {
    pixels.withUnsafeBytes { $0.baseAddress! }
}

/// A copy with storage of its own (`let copy = pixels` would share it).
private func snapshot(_ pixels: [UInt8]) -> [UInt8] {
    pixels.withUnsafeBufferPointer { Array($0) }
}

@Suite("Page raster pool")
struct PageRasterPoolTests {
    @Test func aBufferIsHandedOutOnlyOnceNothingElseReferencesIt() {
        let pool = ByteArrayPool(name: "sb-test-pool", minimumBytes: 16, maxBytes: 1 << 20, idleRelease: .seconds(60))
        var page: [UInt8]? = [UInt8](repeating: 7, count: 4096)
        pool.track(page!)
        #expect(pool.holding.buffers == 1)
        #expect(pool.take(count: 4096) == nil, "handed out while a page references it")
        let address = storage(page!)
        page = nil
        var reused = pool.take(count: 4096)
        #expect(reused.map(storage) == address)
        #expect(pool.holding.buffers == 0 && pool.counters.reused == 1)
        // Taken out of the pool, the buffer is the caller's alone: writing it copies nothing.
        reused![0] = 1
        #expect(reused.map(storage) == address)
    }

    @Test func smallBuffersAndBuffersPastTheBoundAreNotKept() {
        // The bound counts the arrays' room (their capacity, a little over 4096 each).
        let room = [UInt8](repeating: 1, count: 4096).capacity
        let pool = ByteArrayPool(name: "sb-test-pool", minimumBytes: 1024, maxBytes: 2 * room, idleRelease: .seconds(60))
        pool.track([UInt8](repeating: 0, count: 512))
        #expect(pool.holding.buffers == 0)
        var kept: [[UInt8]] = []
        for _ in 0..<3 {
            let page = [UInt8](repeating: 1, count: 4096)
            kept.append(page)
            pool.track(page)
        }
        #expect(pool.holding.buffers == 2 && pool.holding.bytes == 2 * room)
        #expect(pool.take(count: 512) == nil)
        kept.removeAll()
    }

    @Test func freeBuffersOfAnotherSizeAreGivenBackWhenAScanOfThatSizeStarts() {
        let pool = ByteArrayPool(name: "sb-test-pool", minimumBytes: 16, maxBytes: 1 << 20, idleRelease: .seconds(60))
        pool.track([UInt8](repeating: 1, count: 4096))
        let inUse = [UInt8](repeating: 2, count: 2048)
        pool.track(inUse)
        #expect(pool.take(count: 1000) == nil)
        // The free 4096-byte buffer went; the 2048-byte one is still referenced and stays.
        #expect(pool.holding.buffers == 1 && pool.holding.bytes == inUse.capacity && pool.counters.released == 1)
        #expect(inUse.allSatisfy { $0 == 2 })
    }

    @Test func theTrimmerGivesBackBuffersLeftFreeAndEnds() async throws {
        let pool = ByteArrayPool(name: "sb-test-pool", minimumBytes: 16, maxBytes: 1 << 20, idleRelease: .milliseconds(150))
        var page: [UInt8]? = [UInt8](repeating: 3, count: 4096)
        pool.track(page!)
        try await Task.sleep(for: .milliseconds(400))
        #expect(pool.holding.buffers == 1, "a buffer a page still uses was given back")
        page = nil
        let deadline = ContinuousClock.now + .seconds(5)
        while pool.holding.buffers > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(pool.holding.buffers == 0 && pool.counters.released == 1)
        // A later page starts the trimmer again.
        pool.track([UInt8](repeating: 4, count: 4096))
        while pool.holding.buffers > 0 && ContinuousClock.now < deadline + .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(pool.holding.buffers == 0)
    }
}

/// Scans through a pool: serialized with the other sessions on the test devices.
extension SANESessionTests {
    private static let colourPage = [("mode", "Color"), ("source", "Automatic Document Feeder")]

    private static func scan(pool: ByteArrayPool, picture: String, maxPages: Int? = nil) async throws -> TestSANE.Outcome {
        let session = try await TestSANE.open(options: colourPage + [("test-picture", picture)])
        await session.setRasterPool(pool)
        let outcome = await TestSANE.collect(try await session.scan(maxPages: maxPages))
        await session.close()
        return outcome
    }

    @Test func pooledBuffersNeverServeAPageStillReferencedAndGiveTheSamePixels() async throws {
        // Without a pool (it keeps nothing): the pixels every later scan must match.
        let unpooled = ByteArrayPool(name: "sb-test-pool", minimumBytes: 1, maxBytes: 0)
        let pattern = try await Self.scan(pool: unpooled, picture: "Color pattern", maxPages: 3)
        let grid = try await Self.scan(pool: unpooled, picture: "Grid", maxPages: 3)
        #expect(pattern.error == nil && pattern.pages.count == 3 && grid.pages.count == 3)
        #expect(pattern.pages[0].image!.pixels != grid.pages[0].image!.pixels)

        let pool = ByteArrayPool(name: "sb-test-pool", minimumBytes: 1, maxBytes: 64 << 20, idleRelease: .seconds(60))
        // First job: its pages stay referenced (as pages in the image buffer are).
        var first = try await Self.scan(pool: pool, picture: "Grid", maxPages: 3).pages
        let firstCopies = first.map { snapshot($0.image!.pixels) }
        let firstAddresses = Set(first.map { storage($0.image!.pixels) })
        #expect(pool.counters.tracked == 3 && pool.counters.reused == 0)
        // Second job while the first's pages live: fresh buffers, the first's pages untouched.
        let second = try await Self.scan(pool: pool, picture: "Color pattern", maxPages: 3).pages
        #expect(pool.counters.reused == 0)
        #expect(second.allSatisfy { !firstAddresses.contains(storage($0.image!.pixels)) })
        #expect(first.map { $0.image!.pixels } == firstCopies)
        #expect(second.map { $0.image!.pixels } == pattern.pages.map { $0.image!.pixels })
        // Once the first job's pages are gone, the third job's pages reuse their buffers and
        // carry nothing of them; the second job's pages, still held, are left alone.
        first.removeAll()
        let secondAddresses = Set(second.map { storage($0.image!.pixels) })
        let third = try await Self.scan(pool: pool, picture: "Color pattern", maxPages: 3).pages
        #expect(pool.counters.reused == 3)
        #expect(third.allSatisfy { firstAddresses.contains(storage($0.image!.pixels)) })
        #expect(third.allSatisfy { !secondAddresses.contains(storage($0.image!.pixels)) })
        #expect(third.map { $0.image!.pixels } == pattern.pages.map { $0.image!.pixels })
        #expect(second.map { $0.image!.pixels } == pattern.pages.map { $0.image!.pixels })
    }

    @Test func aPageCancelledMidReadLeavesTheDeliveredPagesIntact() async throws {
        let pool = ByteArrayPool(name: "sb-test-pool", minimumBytes: 1, maxBytes: 64 << 20, idleRelease: .seconds(60))
        // Free buffers of the right size in the pool, from a job whose pages are gone.
        _ = try await Self.scan(pool: pool, picture: "Grid", maxPages: 4)
        #expect(pool.counters.tracked == 4)
        // Slow reads from page 3 on: the consumer cancels while page 3 is being read into a
        // reused buffer.
        let session = try await TestSANE.open(options: Self.colourPage + [("test-picture", "Color pattern")])
        await session.setRasterPool(pool)
        await session.setBeforePageHook { page in page == 3 ? [("read-delay-duration", "200000")] : [] }
        let stream = try await session.scan()
        var delivered: [ScannedPage] = []
        for try await page in stream {
            delivered.append(page)
            if delivered.count == 2 { break }
        }
        try await Task.sleep(for: .milliseconds(300))
        await session.cancel()
        await session.waitUntilIdle()
        await session.setBeforePageHook(nil)
        try await session.setOption("read-delay-duration", text: "1000")
        let copies = delivered.map { snapshot($0.image!.pixels) }
        // The next job reuses what is free, never the two pages still held.
        await session.setRasterPool(pool)
        let again = await TestSANE.collect(try await session.scan(maxPages: 3))
        await session.close()
        let heldAddresses = Set(delivered.map { storage($0.image!.pixels) })
        #expect(again.error == nil && again.pages.count == 3)
        #expect(again.pages.allSatisfy { !heldAddresses.contains(storage($0.image!.pixels)) })
        #expect(delivered.map { $0.image!.pixels } == copies)
        let reference = try await Self.scan(pool: ByteArrayPool(name: "sb-test-pool", minimumBytes: 1, maxBytes: 0), picture: "Color pattern", maxPages: 3)
        #expect(again.pages.map { $0.image!.pixels } == reference.pages.map { $0.image!.pixels })
        #expect(delivered.map { $0.image!.pixels } == Array(reference.pages.prefix(2)).map { $0.image!.pixels })
    }
}
