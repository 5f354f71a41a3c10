/// Thumbnails of large pages. A thumbnail of an A4 page at 300 dpi shrinks it more than tenfold;
/// area averaging over the whole page in floating point then dominates the cost of a request.
/// Averaging whole k × k blocks with integer sums first (one pass over the bytes), then area
/// averaging the much smaller result to the exact size, gives nearly the same picture (a block
/// straddling an output pixel's edge is shared by weight, a slight blur) for a fraction of the work.
extension Image {
    /// This image fitted into `maxWidth × maxHeight` (never enlarged), for display: `bw1` comes
    /// back as `gray8`, like `fitted`. The size is exactly `fittingSize`'s.
    public func thumbnail(maxWidth: Int, maxHeight: Int) -> Image {
        let size = fittingSize(maxWidth: maxWidth, maxHeight: maxHeight)
        if format == .bw1 { return converted(to: .gray8).thumbnail(maxWidth: maxWidth, maxHeight: maxHeight) }
        // Leave at least 3× for the exact pass, so that block edges do not show.
        let block = min(width / max(1, size.width), height / max(1, size.height)) / 3
        guard block >= 2, format == .gray8 || format == .rgb24 else { return fitted(maxWidth: maxWidth, maxHeight: maxHeight) }
        var result = blockAveraged(block).resized(width: size.width, height: size.height)
        // As `fitted` reports it (the blocks leave out a remainder of under `block` pixels).
        result.xDPI = xDPI * Double(size.width) / Double(width)
        result.yDPI = yDPI * Double(size.height) / Double(height)
        return result
    }

    /// Each `block × block` square averaged into one pixel (8-bit formats); the right and bottom
    /// remainders narrower than a block are left out. DPI scales with the size.
    ///
    /// Per output row, the block's source rows are first added column by column (a loop over
    /// contiguous bytes that the compiler vectorises), then each run of `block` pixels of those
    /// column sums is added up: the second step touches 1/block of the data.
    func blockAveraged(_ block: Int) -> Image {
        precondition(format == .gray8 || format == .rgb24, "block averaging works on 8-bit gray or colour")
        precondition((2...64).contains(block), "block sizes 2…64 keep the column sums within 16 bits")
        let channels = format.channels
        let outWidth = width / block, outHeight = height / block
        let outRow = outWidth * channels, usedRow = outWidth * block * channels
        var out = [UInt8](repeating: 0, count: outRow * outHeight)
        var columns = [UInt16](repeating: 0, count: usedRow)
        let divisor = UInt32(block * block), half = divisor / 2
        let stride = self.stride
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                columns.withUnsafeMutableBufferPointer { columns in
                    for outY in 0..<outHeight {
                        columns.update(repeating: 0)
                        for dy in 0..<block {
                            let row = source.baseAddress! + (outY * block + dy) * stride
                            for i in 0..<usedRow { columns[i] &+= UInt16(row[i]) }
                        }
                        let base = outY * outRow
                        for outX in 0..<outWidth {
                            for channel in 0..<channels {
                                var sum: UInt32 = 0
                                var i = outX * block * channels + channel
                                for _ in 0..<block {
                                    sum &+= UInt32(columns[i])
                                    i += channels
                                }
                                destination[base + outX * channels + channel] = UInt8(truncatingIfNeeded: (sum + half) / divisor)
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
