/// Pixel-format conversions: grayscale, bit depth, threshold to black-and-white (Otsu).
///
/// Conversions go through 16-bit samples so that every pair of formats is covered by one path:
/// 8 → 16 bit multiplies by 257 and 16 → 8 bit rounds (v + 128) / 257, so 8 → 16 → 8 is exact.
/// Colour to gray uses BT.601 luma. `bw1` converts to 0/max (1 = black).
extension Image {
    /// This image in `target` format. To `bw1`, the threshold is Otsu's unless `threshold` is
    /// given (gray levels ≤ threshold become black, on the 8-bit scale).
    public func converted(to target: PixelFormat, threshold: UInt8? = nil) -> Image {
        if target == format { return self }
        if target == .bw1 { return thresholded(threshold) }
        if format == .bw1 && target == .gray8 { return expandedToGray8() }
        let outRow = target.minimumStride(width: width)
        var out = [UInt8](repeating: 0, count: outRow * height)
        var samples = [UInt16](repeating: 0, count: width * 3)
        var gray = [UInt16](repeating: 0, count: width)
        pixels.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { dest in
                for y in 0..<height {
                    readSamples16(source, row: y, into: &samples)
                    let rowOut = UnsafeMutableRawBufferPointer(rebasing: dest[y * outRow..<(y + 1) * outRow])
                    if target.channels == 1 {
                        if format.channels == 3 {
                            for x in 0..<width { gray[x] = luma16(samples[3 * x], samples[3 * x + 1], samples[3 * x + 2]) }
                        } else {
                            for x in 0..<width { gray[x] = samples[x] }
                        }
                        writeSamples(gray, count: width, bits: target.bitsPerSample, into: rowOut)
                    } else {
                        if format.channels == 1 {
                            for x in Swift.stride(from: width - 1, through: 0, by: -1) {
                                let v = samples[x]
                                samples[3 * x] = v; samples[3 * x + 1] = v; samples[3 * x + 2] = v
                            }
                        }
                        writeSamples(samples, count: width * 3, bits: target.bitsPerSample, into: rowOut)
                    }
                }
            }
        }
        return with(width: width, height: height, format: target, pixels: out)
    }

    /// `bw1` to `gray8` a byte at a time (eight pixels; 1 = black), the common case of thumbnails
    /// and JPEG previews of black-and-white scans. Same result as the 16-bit path.
    private func expandedToGray8() -> Image {
        var out = [UInt8](repeating: 0, count: width * height)
        let width = self.width, stride = self.stride, fullBytes = width / 8
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for y in 0..<height {
                    let row = source.baseAddress! + y * stride
                    let outRow = destination.baseAddress! + y * width
                    for byteIndex in 0..<fullBytes {
                        let bits = row[byteIndex]
                        let pixels = outRow + byteIndex * 8
                        for bit in 0..<8 { pixels[bit] = (bits << UInt8(bit)) & 0x80 != 0 ? 0 : 255 }
                    }
                    for x in fullBytes * 8..<width {
                        outRow[x] = row[x >> 3] & (0x80 >> UInt8(x & 7)) != 0 ? 0 : 255
                    }
                }
            }
        }
        return with(width: width, height: height, format: .gray8, pixels: out)
    }

    /// Gray version: `gray8` for 1- and 8-bit sources, `gray16` for 16-bit ones.
    public func grayscale() -> Image {
        switch format {
        case .gray8, .gray16: self
        case .bw1, .rgb24: converted(to: .gray8)
        case .rgb48: converted(to: .gray16)
        }
    }

    /// Black-and-white at `level` (gray ≤ level is black), or at Otsu's threshold when nil.
    public func thresholded(_ level: UInt8? = nil) -> Image {
        if format == .bw1 { return self }
        let gray = converted(to: .gray8)
        let t = level ?? gray.otsuThreshold()
        let outRow = PixelFormat.bw1.minimumStride(width: width)
        var out = [UInt8](repeating: 0, count: outRow * height)
        gray.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let s = y * gray.stride, d = y * outRow
                    var x = 0
                    while x < width {
                        var byte: UInt8 = 0
                        let n = min(8, width - x)
                        for b in 0..<n where src[s + x + b] <= t { byte |= 0x80 >> UInt8(b) }
                        dst[d + x / 8] = byte
                        x += 8
                    }
                }
            }
        }
        return with(width: width, height: height, format: .bw1, pixels: out)
    }

    /// Histogram of gray levels (0...255) of the 8-bit gray version of this image.
    public func grayHistogram() -> [Int] {
        let gray = converted(to: .gray8)
        var histogram = [Int](repeating: 0, count: 256)
        gray.pixels.withUnsafeBufferPointer { src in
            for y in 0..<height {
                let s = y * gray.stride
                for x in 0..<width { histogram[Int(src[s + x])] += 1 }
            }
        }
        return histogram
    }

    /// Otsu's threshold: the gray level that maximises the between-class variance.
    public func otsuThreshold() -> UInt8 {
        let histogram = grayHistogram()
        let total = Double(histogram.reduce(0, +))
        guard total > 0 else { return 127 }
        var sumAll = 0.0
        for (level, count) in histogram.enumerated() { sumAll += Double(level * count) }
        var weightBackground = 0.0, sumBackground = 0.0, best = -1.0, threshold = 127
        for level in 0..<256 {
            weightBackground += Double(histogram[level])
            if weightBackground == 0 { continue }
            let weightForeground = total - weightBackground
            if weightForeground == 0 { break }
            sumBackground += Double(level * histogram[level])
            let meanB = sumBackground / weightBackground
            let meanF = (sumAll - sumBackground) / weightForeground
            let between = weightBackground * weightForeground * (meanB - meanF) * (meanB - meanF)
            if between > best { best = between; threshold = level }
        }
        return UInt8(threshold)
    }

    // MARK: Row access in 16-bit samples

    /// Reads row `y` as 16-bit samples (channels interleaved) into `samples`.
    func readSamples16(_ source: UnsafeRawBufferPointer, row y: Int, into samples: inout [UInt16]) {
        let base = y * stride
        switch format {
        case .bw1:
            for x in 0..<width {
                let bit = source[base + x >> 3] & (0x80 >> UInt8(x & 7))
                samples[x] = bit != 0 ? 0 : 0xFFFF
            }
        case .gray8, .rgb24:
            let n = width * format.channels
            for i in 0..<n { samples[i] = UInt16(source[base + i]) &* 257 }
        case .gray16, .rgb48:
            let n = width * format.channels
            for i in 0..<n { samples[i] = source.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self) }
        }
    }
}

@inline(__always) func luma16(_ r: UInt16, _ g: UInt16, _ b: UInt16) -> UInt16 {
    UInt16((19595 &* UInt32(r) &+ 38470 &* UInt32(g) &+ 7471 &* UInt32(b) &+ 32768) >> 16)
}

@inline(__always) func luma8(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
    UInt8((77 &* UInt32(r) &+ 150 &* UInt32(g) &+ 29 &* UInt32(b) &+ 128) >> 8)
}

/// Writes `count` 16-bit samples as 8- or 16-bit samples.
func writeSamples(_ samples: [UInt16], count: Int, bits: Int, into row: UnsafeMutableRawBufferPointer) {
    if bits == 8 {
        for i in 0..<count { row[i] = UInt8((UInt32(samples[i]) + 128) / 257) }
    } else {
        for i in 0..<count { row.storeBytes(of: samples[i], toByteOffset: 2 * i, as: UInt16.self) }
    }
}
