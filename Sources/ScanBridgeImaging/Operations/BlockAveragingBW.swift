/// Block averaging of `bw1` pages, counted from the bits. A thumbnail source's pixel is the
/// rounded mean of its block's pixels at 0 (black) or 255 (white), so only the number of black
/// bits in each block matters, and the page is never expanded to a byte a pixel. The scan
/// pipeline makes one per BW page; expanding then averaging took a fifth of the service's CPU in
/// a BW batch (perf, `make batch-bench`; `imaging-bench thumbnail-bw` compares the two).
///
/// The build targets baseline x86-64, which has no population-count instruction, and
/// `nonzeroBitCount`'s bit-twiddling fallback made counting slower than expanding (perf
/// annotate), so bits are counted by table lookups.
extension Image {
    /// `converted(to: .gray8).blockAveraged(block)`, exactly.
    func blockAveragedFromBits(_ block: Int) -> Image {
        precondition(format == .bw1, "counting bits is for bw1 pages")
        precondition((2...Self.largestBlock).contains(block), "block sizes 2…16 fit the 4-byte window")
        let outWidth = width / block, outHeight = height / block
        var out = [UInt8](repeating: 0, count: outWidth * outHeight)
        let grays = Self.blockGrays(block)
        grays.withUnsafeBufferPointer { gray in
            out.withUnsafeMutableBufferPointer { destination in
                if 8 % block == 0 {
                    countWholeBlocksPerByte(block, outWidth: outWidth, outHeight: outHeight, gray: gray, into: destination)
                } else {
                    countThroughWindows(block, outWidth: outWidth, outHeight: outHeight, gray: gray, into: destination)
                }
            }
        }
        var result = with(width: outWidth, height: outHeight, format: .gray8, pixels: out)
        result.xDPI = xDPI / Double(block)
        result.yDPI = yDPI / Double(block)
        return result
    }

    /// Blocks of 2, 4 or 8 bits lie whole in a byte: one lookup gives the black bits of each of
    /// a byte's 8 / block blocks, in a lane of a byte each (at most 8 · 8 = 64 over the block's
    /// rows, so lanes never carry), and a block row costs one lookup per byte per row.
    private func countWholeBlocksPerByte(_ block: Int, outWidth: Int, outHeight: Int, gray: UnsafeBufferPointer<UInt8>,
                                         into destination: UnsafeMutableBufferPointer<UInt8>) {
        let lanes = 8 / block
        let table = blackBitsPerLane[block]
        let bytes = (outWidth * block + 7) / 8, stride = self.stride
        pixels.withUnsafeBufferPointer { source in
            table.withUnsafeBufferPointer { table in
                for outY in 0..<outHeight {
                    let rows = source.baseAddress! + outY * block * stride
                    for byte in 0..<bytes {
                        var packed: UInt32 = 0
                        var p = rows + byte
                        for _ in 0..<block { packed &+= table[Int(p.pointee)]; p += stride }
                        let first = byte &* lanes
                        for lane in 0..<min(lanes, outWidth &- first) {
                            destination[outY &* outWidth &+ first &+ lane] = gray[Int((packed &>> UInt32(8 &* lane)) & 0xFF)]
                        }
                    }
                }
            }
        }
    }

    /// Other blocks straddle bytes: the `block` bits under an output pixel are read from each
    /// row through a 4-byte window (a 16-bit lookup). The last few pixels of a row, whose window
    /// would reach past it, read a copy of the rows with zero bytes after them.
    private func countThroughWindows(_ block: Int, outWidth: Int, outHeight: Int, gray: UnsafeBufferPointer<UInt8>,
                                     into destination: UnsafeMutableBufferPointer<UInt8>) {
        let stride = self.stride, drop = UInt32(32 - block)
        let inside = min(outWidth, stride >= 4 ? ((stride - 4) * 8) / block + 1 : 0)
        var tail = [UInt8](repeating: 0, count: (stride + 3) * block)
        pixels.withUnsafeBytes { source in
            tail.withUnsafeMutableBytes { tail in
                onesIn16Bits.withUnsafeBufferPointer { ones in
                    func black(at bit: Int, rows: UnsafeRawPointer, stride: Int) -> UInt32 {
                        var p = rows + (bit &>> 3)
                        var count: UInt32 = 0
                        let shift = UInt32(bit & 7)
                        for _ in 0..<block {
                            let window = UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))
                            count &+= UInt32(ones[Int((window &<< shift) &>> drop)])
                            p += stride
                        }
                        return count
                    }
                    for outY in 0..<outHeight {
                        let rows = source.baseAddress! + outY * block * stride
                        let base = outY * outWidth
                        for outX in 0..<inside { destination[base &+ outX] = gray[Int(black(at: outX &* block, rows: rows, stride: stride))] }
                        guard inside < outWidth else { continue }
                        for dy in 0..<block {
                            (tail.baseAddress! + dy * (stride + 3)).copyMemory(from: rows + dy * stride, byteCount: stride)
                        }
                        for outX in inside..<outWidth {
                            let count = black(at: outX &* block, rows: UnsafeRawPointer(tail.baseAddress!), stride: stride + 3)
                            destination[base &+ outX] = gray[Int(count)]
                        }
                    }
                }
            }
        }
    }
}

extension Image {
    /// Indexed by a block's black bits, its mean gray, rounded as `blockAveraged` rounds: a
    /// lookup of the block² + 1 possible counts instead of a multiply per output pixel.
    fileprivate static func blockGrays(_ block: Int) -> [UInt8] {
        let mean = BlockMean(block: block), pixels = UInt32(block * block)
        return (0...pixels).map { black in mean((pixels - black) * 255) }
    }
}

/// For blocks of 2, 4 and 8 (indexed by the block; empty for others): per byte, the set bits of
/// each of its 8 / block blocks of bits, the leftmost in the lowest byte lane.
private let blackBitsPerLane: [[UInt32]] = (0...8).map { block in
    guard block > 1, 8 % block == 0 else { return [] }
    return (0..<256).map { byte in
        (0..<8 / block).reduce(0) { packed, lane in
            let bits = (byte >> (8 - (lane + 1) * block)) & ((1 << block) - 1)
            return packed | UInt32(bits.nonzeroBitCount) << (8 * lane)
        }
    }
}

/// The number of set bits of every 16-bit value.
private let onesIn16Bits: [UInt8] = (0..<65536).map { UInt8(($0 as Int).nonzeroBitCount) }
