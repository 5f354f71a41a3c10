/// Resampling: area-averaging when shrinking (each output pixel is the exact mean of the source
/// area it covers), Catmull-Rom bicubic when enlarging. A shrink by one whole factor both ways is
/// block averaging in integers (`blockAveraged`); others are separable: a horizontal pass per
/// source row, then a vertical pass whose inner loop runs over whole rows in `SIMD8<Float>`.
/// `bw1` images are resampled in gray and come back as `gray8`.
extension Image {
    /// This image resampled to `newWidth × newHeight`; dpi scales with the size.
    public func resized(width newWidth: Int, height newHeight: Int) -> Image {
        precondition(newWidth > 0 && newHeight > 0, "resize to an empty image")
        if let block = wholeBlock(width: newWidth, height: newHeight) {
            var result = format == .bw1 ? blockAveragedFromBits(block) : blockAveraged(block)
            result.xDPI = xDPI * Double(newWidth) / Double(width)
            result.yDPI = yDPI * Double(newHeight) / Double(height)
            return result
        }
        if format == .bw1 { return converted(to: .gray8).resized(width: newWidth, height: newHeight) }
        if newWidth == width && newHeight == height { return self }
        let channels = format.channels, sixteen = isSixteenBit
        let horizontal = ResampleKernel(source: width, destination: newWidth)
        let vertical = ResampleKernel(source: height, destination: newHeight)
        let rowLength = newWidth * channels
        // Horizontal pass: source rows → newWidth columns (Float).
        var middle = [Float](repeating: 0, count: rowLength * height)
        var sourceRow = [Float](repeating: 0, count: width * channels)
        pixels.withUnsafeBytes { src in
            middle.withUnsafeMutableBufferPointer { mid in
                sourceRow.withUnsafeMutableBufferPointer { row in
                    for y in 0..<height {
                        let base = y * stride
                        if sixteen {
                            for i in 0..<width * channels { row[i] = Float(src.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self)) }
                        } else {
                            for i in 0..<width * channels { row[i] = Float(src[base + i]) }
                        }
                        let out = y * rowLength
                        horizontal.weights.withUnsafeBufferPointer { weights in
                            horizontal.indices.withUnsafeBufferPointer { indices in
                                let taps = horizontal.taps
                                if channels == 1 {
                                    for x in 0..<newWidth {
                                        let k = x * taps
                                        var sum: Float = 0
                                        for t in 0..<taps { sum += weights[k + t] * row[Int(indices[k + t])] }
                                        mid[out + x] = sum
                                    }
                                } else {
                                    for x in 0..<newWidth {
                                        let k = x * taps
                                        var r: Float = 0, g: Float = 0, b: Float = 0
                                        for t in 0..<taps {
                                            let w = weights[k + t], i = Int(indices[k + t]) * 3
                                            r += w * row[i]; g += w * row[i + 1]; b += w * row[i + 2]
                                        }
                                        mid[out + 3 * x] = r; mid[out + 3 * x + 1] = g; mid[out + 3 * x + 2] = b
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Vertical pass: rows of `middle` → output rows, eight samples at a time.
        let outFormatBytes = sixteen ? 2 : 1
        var out = [UInt8](repeating: 0, count: rowLength * outFormatBytes * newHeight)
        var accumulator = [Float](repeating: 0, count: rowLength)
        let maximum: Float = sixteen ? 65535 : 255
        middle.withUnsafeBufferPointer { mid in
            accumulator.withUnsafeMutableBufferPointer { acc in
                out.withUnsafeMutableBytes { dst in
                    let vectorEnd = rowLength / 8 * 8
                    let accRaw = UnsafeMutableRawPointer(acc.baseAddress!)
                    for y in 0..<newHeight {
                        for i in 0..<rowLength { acc[i] = 0 }
                        let k = y * vertical.taps
                        for t in 0..<vertical.taps {
                            let weight = vertical.weights[k + t]
                            if weight == 0 { continue }
                            let w8 = SIMD8<Float>(repeating: weight)
                            let rowBase = UnsafeRawPointer(mid.baseAddress! + Int(vertical.indices[k + t]) * rowLength)
                            var i = 0
                            while i < vectorEnd {
                                let v = rowBase.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                                let a = accRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                                accRaw.storeBytes(of: a + v * w8, toByteOffset: i * 4, as: SIMD8<Float>.self)
                                i += 8
                            }
                            while i < rowLength { acc[i] += weight * mid[Int(vertical.indices[k + t]) * rowLength + i]; i += 1 }
                        }
                        let base = y * rowLength * outFormatBytes
                        for i in 0..<rowLength {
                            let value = min(maximum, max(0, acc[i] + 0.5))
                            if sixteen {
                                dst.storeBytes(of: UInt16(value), toByteOffset: base + 2 * i, as: UInt16.self)
                            } else {
                                dst[base + i] = UInt8(value)
                            }
                        }
                    }
                }
            }
        }
        var result = with(width: newWidth, height: newHeight, format: format, pixels: out)
        result.xDPI = xDPI * Double(newWidth) / Double(max(1, width))
        result.yDPI = yDPI * Double(newHeight) / Double(max(1, height))
        return result
    }

    /// The block of a shrink to `newWidth × newHeight` by the same whole factor both ways, of an
    /// 8-bit or BW image: that shrink is block averaging, whose integer sums give each pixel's
    /// exact rounded mean several times faster than the float passes (the same pixels, for
    /// factors of 2, 4, 8 and 16, whose weights and sums are exact in `Float`). Nil otherwise.
    private func wholeBlock(width newWidth: Int, height newHeight: Int) -> Int? {
        guard format == .gray8 || format == .rgb24 || format == .bw1, newWidth < width,
              width % newWidth == 0, height % newHeight == 0, width / newWidth == height / newHeight,
              (2...Self.largestBlock).contains(width / newWidth) else { return nil }
        return width / newWidth
    }

    /// The size that fits into `maxWidth × maxHeight` keeping the aspect ratio (never 0).
    public func fittingSize(maxWidth: Int, maxHeight: Int, allowUpscale: Bool = false) -> (width: Int, height: Int) {
        Self.fittingSize(width: width, height: height, maxWidth: maxWidth, maxHeight: maxHeight, allowUpscale: allowUpscale)
    }

    /// The size that `width × height` fits into `maxWidth × maxHeight` at, keeping the aspect ratio (never 0).
    public static func fittingSize(width: Int, height: Int, maxWidth: Int, maxHeight: Int,
                                   allowUpscale: Bool = false) -> (width: Int, height: Int) {
        guard width > 0, height > 0 else { return (width, height) }
        var scale = min(Double(maxWidth) / Double(width), Double(maxHeight) / Double(height))
        if !allowUpscale { scale = min(scale, 1) }
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }

    /// Resized to fit into `maxWidth × maxHeight`, aspect ratio kept (not enlarged unless asked).
    public func fitted(maxWidth: Int, maxHeight: Int, allowUpscale: Bool = false) -> Image {
        let size = fittingSize(maxWidth: maxWidth, maxHeight: maxHeight, allowUpscale: allowUpscale)
        if size.width == width && size.height == height && format != .bw1 { return self }
        return resized(width: size.width, height: size.height)
    }
}

/// Per output pixel, `taps` source indices and weights (summing to 1).
struct ResampleKernel {
    let taps: Int
    var indices: [Int32]
    var weights: [Float]

    init(source: Int, destination: Int) {
        if destination < source {
            // Area averaging: output pixel i covers [i·s, (i+1)·s) of the source.
            let scale = Double(source) / Double(destination)
            taps = Int(scale.rounded(.up)) + 1
            indices = [Int32](repeating: 0, count: destination * taps)
            weights = [Float](repeating: 0, count: destination * taps)
            for i in 0..<destination {
                let lo = Double(i) * scale, hi = Double(i + 1) * scale
                let first = Int(lo.rounded(.down))
                for t in 0..<taps {
                    let j = first + t
                    let index = min(j, source - 1)
                    indices[i * taps + t] = Int32(index)
                    guard j < source else { continue }
                    let overlap = min(hi, Double(j + 1)) - max(lo, Double(j))
                    weights[i * taps + t] = overlap > 0 ? Float(overlap / scale) : 0
                }
            }
        } else {
            // Catmull-Rom (a = -0.5), edge pixels repeated.
            taps = 4
            indices = [Int32](repeating: 0, count: destination * taps)
            weights = [Float](repeating: 0, count: destination * taps)
            let ratio = Double(source) / Double(destination)
            for i in 0..<destination {
                let center = (Double(i) + 0.5) * ratio - 0.5
                let base = Int(center.rounded(.down))
                let fraction = center - Double(base)
                var w = [Double](repeating: 0, count: 4)
                for t in 0..<4 { w[t] = Self.cubic(fraction - Double(t - 1)) }
                let total = w.reduce(0, +)
                for t in 0..<4 {
                    indices[i * taps + t] = Int32(min(source - 1, max(0, base + t - 1)))
                    weights[i * taps + t] = Float(w[t] / total)
                }
            }
        }
    }

    static func cubic(_ x: Double) -> Double {
        let a = -0.5, t = abs(x)
        if t < 1 { return (a + 2) * t * t * t - (a + 3) * t * t + 1 }
        if t < 2 { return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a }
        return 0
    }
}
