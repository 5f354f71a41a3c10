/// Block averaging of 8-bit gray and colour pages: every `block × block` square of pixels becomes
/// its rounded mean. The scan pipeline makes a thumbnail source of every page this way, and
/// `resized` takes it for shrinks by a whole factor.
///
/// It reads every byte of the page once, and on a page larger than the caches that read is most
/// of its time, so the work per byte is kept to vector operations the build's baseline x86-64
/// target has (SSE2: no byte shuffles, no 32-bit lane multiply instruction of its own): a scalar
/// loop per output pixel, adding its `block` column sums channel by channel and dividing with a
/// 64-bit multiply, costs more than the whole read of a colour page (perf annotate).
extension Image {
    /// The largest block `blockAveraged` takes.
    static let largestBlock = 16

    /// Each `block × block` square averaged into one pixel (8-bit formats); the right and bottom
    /// remainders narrower than a block are left out. DPI scales with the size.
    ///
    /// Gray pages in blocks of 2 or 4 are added straight from the bytes (`averageGrayPairs`);
    /// other blocks and colour go through 16-bit column sums a row of blocks at a time
    /// (`averageThroughColumnSums`).
    func blockAveraged(_ block: Int) -> Image {
        precondition(format == .gray8 || format == .rgb24, "block averaging works on 8-bit gray or colour")
        precondition((2...Self.largestBlock).contains(block), "block sizes 2…16 keep the sums in 16 bits (255 · 16² < 2¹⁶)")
        let outWidth = width / block, outHeight = height / block
        let count = outWidth * format.channels * outHeight
        let out = [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
            // No storage when the image is smaller than a block: nothing to write.
            if let destination = storage.baseAddress, count > 0 {
                if format == .gray8 && (block == 2 || block == 4) {
                    averageGrayPairs(block, outWidth: outWidth, outHeight: outHeight, into: destination)
                } else {
                    averageThroughColumnSums(block, outWidth: outWidth, outHeight: outHeight, into: destination)
                }
            }
            initialized = count
        }
        var result = with(width: outWidth, height: outHeight, format: format, pixels: out)
        result.xDPI = xDPI / Double(block)
        result.yDPI = yDPI / Double(block)
        return result
    }

    /// Gray, blocks of 2 or 4: two neighbouring bytes are added as the halves of a 16-bit lane
    /// (mask and shift), the block's rows added lane by lane, and for blocks of 4 two
    /// neighbouring 16-bit sums as the halves of a 32-bit lane: 16 (8) output pixels a step, all
    /// in contiguous vectors.
    private func averageGrayPairs(_ block: Int, outWidth: Int, outHeight: Int, into destination: UnsafeMutablePointer<UInt8>) {
        let stride = self.stride, mean = BlockMean(block: block)
        let lowBytes = SIMD16<UInt16>(repeating: 0xFF)
        @inline(__always) func pairSums(_ rows: UnsafeRawPointer, at offset: Int) -> SIMD16<UInt16> {
            let pairs = rows.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt16>.self)
            return (pairs & lowBytes) &+ (pairs &>> 8)
        }
        pixels.withUnsafeBytes { source in
            for outY in 0..<outHeight {
                let rows = source.baseAddress! + outY * block * stride
                let out = destination + outY * outWidth
                var x = 0
                if block == 2 {
                    while x + 16 <= outWidth {
                        let sums = pairSums(rows, at: 2 &* x) &+ pairSums(rows + stride, at: 2 &* x)
                        UnsafeMutableRawPointer(out + x).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (sums &+ 2) &>> 2), as: SIMD16<UInt8>.self)
                        x += 16
                    }
                } else {
                    while x + 8 <= outWidth {
                        let pairs = (pairSums(rows, at: 4 &* x) &+ pairSums(rows + stride, at: 4 &* x))
                            &+ (pairSums(rows + 2 &* stride, at: 4 &* x) &+ pairSums(rows + 3 &* stride, at: 4 &* x))
                        let quads = unsafeBitCast(pairs, to: SIMD8<UInt32>.self)
                        let sums = (quads & SIMD8(repeating: 0xFFFF)) &+ (quads &>> 16)
                        UnsafeMutableRawPointer(out + x).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: (sums &+ 8) &>> 4), as: SIMD8<UInt8>.self)
                        x += 8
                    }
                }
                // The last pixels of the row, fewer than a step.
                let bytes = rows.assumingMemoryBound(to: UInt8.self)
                for rest in x..<outWidth {
                    var sum: UInt32 = 0
                    for dy in 0..<block {
                        for dx in 0..<block { sum &+= UInt32(bytes[dy &* stride &+ rest &* block &+ dx]) }
                    }
                    out[rest] = mean(sum)
                }
            }
        }
    }

    /// Any block, gray or colour, a row of blocks at a time: the block's rows added column by
    /// column into 16-bit sums (`addRows`), then each output pixel's `block` column sums added
    /// (`addColourPixels` for colour), then the means of the whole row (`BlockMean.store`).
    private func averageThroughColumnSums(_ block: Int, outWidth: Int, outHeight: Int, into destination: UnsafeMutablePointer<UInt8>) {
        let channels = format.channels, stride = self.stride, mean = BlockMean(block: block)
        let outRow = outWidth * channels, usedRow = outRow * block
        // One lane past the end of each: the colour step reads and writes 4 lanes for 3 channels.
        var columns = [UInt16](repeating: 0, count: usedRow + 1)
        var sums = [UInt16](repeating: 0, count: outRow + 1)
        pixels.withUnsafeBytes { source in
            columns.withUnsafeMutableBufferPointer { columns in
                sums.withUnsafeMutableBufferPointer { sums in
                    let columns = columns.baseAddress!, sums = sums.baseAddress!
                    for outY in 0..<outHeight {
                        Self.addRows(source.baseAddress! + outY * block * stride, count: block, stride: stride, into: columns, width: usedRow)
                        if channels == 3 {
                            Self.addColourPixels(columns, block: block, outWidth: outWidth, into: sums)
                        } else {
                            for x in 0..<outWidth {
                                var sum: UInt16 = 0
                                let start = x &* block
                                for dx in 0..<block { sum &+= columns[start &+ dx] }
                                sums[x] = sum
                            }
                        }
                        mean.store(UnsafePointer(sums), count: outRow, into: destination + outY * outRow)
                    }
                }
            }
        }
    }

    /// `columns[i]` = the sum of byte `i` of `count` rows from `first`, for `i < width`: two rows a
    /// pass (three in the last pass of an odd count), 16 bytes a step widened to 16-bit lanes.
    private static func addRows(_ first: UnsafeRawPointer, count: Int, stride: Int, into columns: UnsafeMutablePointer<UInt16>, width: Int) {
        let out = UnsafeMutableRawPointer(columns)
        let steps = width / 16
        @inline(__always) func widened(_ row: UnsafeRawPointer, _ offset: Int) -> (SIMD8<UInt16>, SIMD8<UInt16>) {
            let bytes = row.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
            return (SIMD8(truncatingIfNeeded: bytes.lowHalf), SIMD8(truncatingIfNeeded: bytes.highHalf))
        }
        var done = 0
        while done < count {
            let rows = count - done == 3 ? 3 : 2
            let a = first + done * stride, b = a + stride, c = b + stride
            let adding = done > 0
            for step in 0..<steps {
                let offset = 16 &* step
                var (low, high) = widened(a, offset)
                let (low2, high2) = widened(b, offset)
                low &+= low2; high &+= high2
                if rows == 3 {
                    let (low3, high3) = widened(c, offset)
                    low &+= low3; high &+= high3
                }
                if adding {
                    low &+= out.loadUnaligned(fromByteOffset: 2 &* offset, as: SIMD8<UInt16>.self)
                    high &+= out.loadUnaligned(fromByteOffset: 2 &* offset &+ 16, as: SIMD8<UInt16>.self)
                }
                out.storeBytes(of: low, toByteOffset: 2 &* offset, as: SIMD8<UInt16>.self)
                out.storeBytes(of: high, toByteOffset: 2 &* offset &+ 16, as: SIMD8<UInt16>.self)
            }
            for i in (steps * 16)..<width {
                var sum = UInt16(a.load(fromByteOffset: i, as: UInt8.self)) &+ UInt16(b.load(fromByteOffset: i, as: UInt8.self))
                if rows == 3 { sum &+= UInt16(c.load(fromByteOffset: i, as: UInt8.self)) }
                columns[i] = adding ? columns[i] &+ sum : sum
            }
            done += rows
        }
    }

    /// `sums[3x + c]` = the sum of channel `c` over output pixel `x`'s `block` column sums. Each
    /// pixel's three channels are added as a 4-lane vector whose fourth lane (the next pixel's
    /// first channel) the next pixel's store overwrites; `columns` and `sums` have a lane to spare
    /// at the end for the last pixel. Blocks of 2, 3 and 4 are written out (a loop over the
    /// block costs more than the adds).
    private static func addColourPixels(_ columns: UnsafeMutablePointer<UInt16>, block: Int, outWidth: Int, into sums: UnsafeMutablePointer<UInt16>) {
        let from = UnsafeRawPointer(columns), to = UnsafeMutableRawPointer(sums)
        @inline(__always) func pixel(_ offset: Int) -> SIMD4<UInt16> { from.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt16>.self) }
        @inline(__always) func store(_ sum: SIMD4<UInt16>, _ x: Int) { to.storeBytes(of: sum, toByteOffset: 6 &* x, as: SIMD4<UInt16>.self) }
        switch block {
        case 2:
            for x in 0..<outWidth { let o = 12 &* x; store(pixel(o) &+ pixel(o &+ 6), x) }
        case 3:
            for x in 0..<outWidth { let o = 18 &* x; store(pixel(o) &+ pixel(o &+ 6) &+ pixel(o &+ 12), x) }
        case 4:
            for x in 0..<outWidth { let o = 24 &* x; store((pixel(o) &+ pixel(o &+ 6)) &+ (pixel(o &+ 12) &+ pixel(o &+ 18)), x) }
        default:
            for x in 0..<outWidth {
                var sum = SIMD4<UInt16>()
                var o = 6 &* block &* x
                for _ in 0..<block { sum &+= pixel(o); o &+= 6 }
                store(sum, x)
            }
        }
    }
}

/// The rounded mean of a block's sum, `(sum + d/2) / d` for d = block², as a multiply and a
/// shift. With m = ⌈2²⁴ / d⌉ and n = sum + d/2 ≤ 255.5 · d, `n · m >> 24` is exact: its error
/// over n / d is below n / 2²⁴ < 1/256 ≤ 1/d, too little to reach the next integer, and n · m
/// stays below 2³², so 32-bit lanes hold it (every block and sum is tested). A power-of-two d
/// is a shift of the 16-bit sum.
struct BlockMean {
    let divisor: UInt32
    let half: UInt32
    let reciprocal: UInt32
    /// log₂ d when d is a power of two, else 0.
    let shift: UInt16

    init(block: Int) {
        precondition((1...16).contains(block), "sums of blocks up to 16 × 16 fit the reciprocal's bound")
        divisor = UInt32(block * block)
        half = divisor / 2
        reciprocal = ((1 << 24) + divisor - 1) / divisor
        shift = divisor.nonzeroBitCount == 1 ? UInt16(divisor.trailingZeroBitCount) : 0
    }

    @inline(__always) func callAsFunction(_ sum: UInt32) -> UInt8 {
        UInt8(truncatingIfNeeded: ((sum &+ half) &* reciprocal) &>> 24)
    }

    /// The means of `count` sums, 8 a step.
    func store(_ sums: UnsafePointer<UInt16>, count: Int, into destination: UnsafeMutablePointer<UInt8>) {
        let from = UnsafeRawPointer(sums), to = UnsafeMutableRawPointer(destination)
        let steps = count / 8
        if shift > 0 {
            let rounding = SIMD8<UInt16>(repeating: UInt16(half)), bits = SIMD8<UInt16>(repeating: shift)
            for step in 0..<steps {
                let sum = from.loadUnaligned(fromByteOffset: 16 &* step, as: SIMD8<UInt16>.self)
                to.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: (sum &+ rounding) &>> bits), toByteOffset: 8 &* step, as: SIMD8<UInt8>.self)
            }
        } else {
            let rounding = SIMD8<UInt32>(repeating: half), factor = SIMD8<UInt32>(repeating: reciprocal)
            for step in 0..<steps {
                let sum = SIMD8<UInt32>(truncatingIfNeeded: from.loadUnaligned(fromByteOffset: 16 &* step, as: SIMD8<UInt16>.self))
                to.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: ((sum &+ rounding) &* factor) &>> 24), toByteOffset: 8 &* step, as: SIMD8<UInt8>.self)
            }
        }
        for i in (steps * 8)..<count { destination[i] = self(UInt32(sums[i])) }
    }
}
