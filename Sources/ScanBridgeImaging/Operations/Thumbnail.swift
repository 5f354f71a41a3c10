/// Thumbnails of large pages. A thumbnail of an A4 page at 300 dpi shrinks it more than tenfold;
/// area averaging over the whole page in floating point then dominates the cost of a request.
/// Averaging whole k × k blocks with integer sums first (one pass over the bytes), then area
/// averaging the much smaller result to the exact size, gives nearly the same picture (a block
/// straddling an output pixel's edge is shared by weight, a slight blur) for a fraction of the work.
extension Image {
    /// This image fitted into `maxWidth × maxHeight` (never enlarged), for display: `bw1` comes
    /// back as `gray8`, like `fitted`. The size is exactly `fittingSize`'s.
    public func thumbnail(maxWidth: Int, maxHeight: Int) -> Image {
        let source = ThumbnailSource(of: self, maxWidth: maxWidth, maxHeight: maxHeight)
        return source.thumbnail(maxWidth: maxWidth, maxHeight: maxHeight) ?? fitted(maxWidth: maxWidth, maxHeight: maxHeight)
    }

    /// The largest block `blockAveraged` takes.
    static let largestBlock = 16

    /// Each `block × block` square averaged into one pixel (8-bit formats); the right and bottom
    /// remainders narrower than a block are left out. DPI scales with the size.
    ///
    /// Per output row, the block's source rows are first added column by column (a loop over
    /// contiguous bytes that the compiler vectorises), then each run of `block` pixels of those
    /// column sums is added up: the second step touches 1/block of the data.
    func blockAveraged(_ block: Int) -> Image {
        precondition(format == .gray8 || format == .rgb24, "block averaging works on 8-bit gray or colour")
        precondition((2...Self.largestBlock).contains(block), "block sizes 2…16 keep the sums exact (see below)")
        let channels = format.channels
        let outWidth = width / block, outHeight = height / block
        let outRow = outWidth * channels, usedRow = outWidth * block * channels
        var out = [UInt8](repeating: 0, count: outRow * outHeight)
        var columns = [UInt16](repeating: 0, count: usedRow)
        // Rounded division by block² as a multiply and a shift: with m = ⌈2⁴⁰ / d⌉ the quotient
        // is exact for every n < 2⁴⁰ / d², far above the largest sum (255 · 16² + 128).
        let divisor = UInt64(block * block), half = divisor / 2
        let reciprocal = ((1 << 40) + divisor - 1) / divisor
        let stride = self.stride
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                columns.withUnsafeMutableBufferPointer { columns in
                    for outY in 0..<outHeight {
                        columns.update(repeating: 0)
                        // Column sums of the block's rows first (contiguous: vectorised).
                        for dy in 0..<block {
                            let row = source.baseAddress! + (outY * block + dy) * stride
                            for i in 0..<usedRow { columns[i] &+= UInt16(row[i]) }
                        }
                        let base = outY * outRow
                        // Then each block of column sums, one output pixel at a time.
                        @inline(__always) func mean(_ sum: UInt32) -> UInt8 {
                            UInt8(truncatingIfNeeded: ((UInt64(sum) &+ half) &* reciprocal) >> 40)
                        }
                        if channels == 1 {
                            for outX in 0..<outWidth {
                                var sum: UInt32 = 0
                                let start = outX &* block
                                for dx in 0..<block { sum &+= UInt32(columns[start &+ dx]) }
                                destination[base &+ outX] = mean(sum)
                            }
                        } else {
                            for outX in 0..<outWidth {
                                var red: UInt32 = 0, green: UInt32 = 0, blue: UInt32 = 0
                                var i = outX &* block &* 3
                                for _ in 0..<block {
                                    red &+= UInt32(columns[i]); green &+= UInt32(columns[i &+ 1]); blue &+= UInt32(columns[i &+ 2])
                                    i &+= 3
                                }
                                let o = base &+ outX &* 3
                                destination[o] = mean(red); destination[o &+ 1] = mean(green); destination[o &+ 2] = mean(blue)
                            }
                        }
                    }
                }
            }
        }
        var result = with(width: outWidth, height: outHeight, format: format, pixels: out)
        result.xDPI = xDPI / Double(block)
        result.yDPI = yDPI / Double(block)
        return result
    }
}

/// A page reduced by whole blocks, from which thumbnails up to a given box are made without
/// reading the page again. A scan job makes one per page right after the scan (one pass over
/// the page); thumbnail requests then resample a few hundred kilobytes instead of tens of MB.
public struct ThumbnailSource: Sendable, Equatable {
    /// The page averaged over `block × block` squares (`bw1` pages as `gray8`); the page itself
    /// (`bw1` as `gray8`) when `block` is 1.
    public let reduced: Image
    public let block: Int
    /// The page's own size and resolution.
    public let width: Int
    public let height: Int
    public let xDPI: Double
    public let yDPI: Double

    /// A source for thumbnails that fit into `maxWidth × maxHeight` or a smaller box. The block
    /// leaves at least 3× of reduction for the exact pass, so that block edges do not show.
    public init(of page: Image, maxWidth: Int, maxHeight: Int) {
        width = page.width; height = page.height; xDPI = page.xDPI; yDPI = page.yDPI
        let size = page.fittingSize(maxWidth: maxWidth, maxHeight: maxHeight)
        let block = Self.block(width: width, height: height, for: size)
        if block >= 2, page.format == .bw1 {
            self.block = block
            reduced = page.blockAveragedFromBits(block)
        } else if block >= 2, page.format == .gray8 || page.format == .rgb24 {
            self.block = block
            reduced = page.blockAveraged(block)
        } else {
            self.block = 1
            reduced = page.format == .bw1 ? page.converted(to: .gray8) : page
        }
    }

    /// Bytes of pixels held.
    public var byteCount: Int { reduced.byteCount }

    /// The thumbnail for `maxWidth × maxHeight` (never enlarged; `fittingSize` of the page), or
    /// nil when that box needs more detail than this source kept (a box larger than it was made for).
    public func thumbnail(maxWidth: Int, maxHeight: Int) -> Image? {
        let size = Image.fittingSize(width: width, height: height, maxWidth: maxWidth, maxHeight: maxHeight)
        if block == 1 { return reduced.fitted(maxWidth: maxWidth, maxHeight: maxHeight) }
        guard Self.block(width: width, height: height, for: size) >= block else { return nil }
        var result = reduced.resized(width: size.width, height: size.height)
        // As `fitted` reports it (the blocks leave out a remainder of under `block` pixels).
        result.xDPI = xDPI * Double(size.width) / Double(width)
        result.yDPI = yDPI * Double(size.height) / Double(height)
        return result
    }

    private static func block(width: Int, height: Int, for size: (width: Int, height: Int)) -> Int {
        min(Image.largestBlock, min(width / max(1, size.width), height / max(1, size.height)) / 3)
    }
}
