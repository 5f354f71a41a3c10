import ScanBridgeCore
import Testing

@Suite("Byte array pool, arrays of varying sizes")
struct ByteArrayPoolTests {
    private static func storage(_ bytes: [UInt8]) -> UnsafeRawPointer {
        bytes.withUnsafeBytes { $0.baseAddress! }
    }

    private static func array(count: Int, room: Int) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(room)
        bytes.append(contentsOf: repeatElement(9, count: count))
        return bytes
    }

    @Test("the free array with the least room that fits is handed out, emptied; arrays in use and too small ones are not")
    func leastRoomThatFits() {
        let pool = ByteArrayPool(name: "sb-test-sizes", minimumBytes: 16, maxBytes: 1 << 20, idleRelease: .seconds(60))
        var small: [UInt8]? = Self.array(count: 1000, room: 2000)
        var large: [UInt8]? = Self.array(count: 1000, room: 8000)
        let inUse = Self.array(count: 3000, room: 4000)
        for bytes in [small!, large!, inUse] { pool.track(bytes) }
        #expect(pool.take(capacityFor: 1500) == nil, "every array is still referenced")
        let smallAddress = Self.storage(small!), largeAddress = Self.storage(large!)
        small = nil
        large = nil
        #expect(pool.take(capacityFor: 9000) == nil, "none has room for 9000")
        let taken = pool.take(capacityFor: 1500)
        #expect(taken.map(Self.storage) == smallAddress)
        #expect(taken?.isEmpty == true && (taken?.capacity ?? 0) >= 1500)
        let next = pool.take(capacityFor: 1500)
        #expect(next.map(Self.storage) == largeAddress, "the array in use is skipped though it has less room")
        #expect(pool.take(capacityFor: 16) == nil)
        #expect(pool.counters.reused == 2 && pool.holding.buffers == 1)
    }

    @Test("the bound counts the arrays' room, not their bytes")
    func boundByCapacity() {
        let pool = ByteArrayPool(name: "sb-test-bound", minimumBytes: 16, maxBytes: 10_000, idleRelease: .seconds(60))
        pool.track(Self.array(count: 100, room: 6000))
        pool.track(Self.array(count: 100, room: 6000))
        #expect(pool.holding.buffers == 1 && pool.holding.bytes >= 6000)
    }
}
