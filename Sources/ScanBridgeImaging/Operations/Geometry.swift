import Foundation

/// A rectangle in pixels (origin top-left).
public struct PixelRect: Sendable, Hashable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
}

/// Geometric operations: crop, flip, mirror, quarter-turn and arbitrary rotation.
extension Image {
    /// The part of the image inside `rect`, clipped to the image.
    public func cropped(to rect: PixelRect) -> Image {
        let x0 = max(0, min(width, rect.x)), y0 = max(0, min(height, rect.y))
        let x1 = max(x0, min(width, rect.x + rect.width)), y1 = max(y0, min(height, rect.y + rect.height))
        let w = x1 - x0, h = y1 - y0
        let outRow = format.minimumStride(width: w)
        var out = [UInt8](repeating: 0, count: outRow * h)
        if let bpp = bytesPerPixel {
            for y in 0..<h {
                let s = (y0 + y) * stride + x0 * bpp
                out.replaceSubrange(y * outRow..<(y + 1) * outRow, with: pixels[s..<s + w * bpp])
            }
        } else {
            pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<h {
                        let s = (y0 + y) * stride, d = y * outRow
                        for x in 0..<w where src[s + (x0 + x) >> 3] & (0x80 >> UInt8((x0 + x) & 7)) != 0 {
                            dst[d + x >> 3] |= 0x80 >> UInt8(x & 7)
                        }
                    }
                }
            }
        }
        return with(width: w, height: h, format: format, pixels: out)
    }

    /// Upside down (top row last).
    public func flipped() -> Image {
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        for y in 0..<height {
            let s = (height - 1 - y) * stride
            out.replaceSubrange(y * rowBytes..<(y + 1) * rowBytes, with: pixels[s..<s + rowBytes])
        }
        return with(width: width, height: height, format: format, pixels: out)
    }

    /// Left-right mirror image.
    public func mirrored() -> Image {
        remapped(width: width, height: height) { x, y in (width - 1 - x, y) }
    }

    /// Rotated clockwise by `quarterTurns` × 90° (any integer; negative turns counter-clockwise).
    /// Resolution follows the axes (x and y dpi swap on odd turns).
    public func rotated(quarterTurns: Int) -> Image {
        let turns = ((quarterTurns % 4) + 4) % 4
        var result: Image
        switch turns {
        case 1: result = remapped(width: height, height: width) { x, y in (y, height - 1 - x) }
        case 2: result = remapped(width: width, height: height) { x, y in (width - 1 - x, height - 1 - y) }
        case 3: result = remapped(width: height, height: width) { x, y in (width - 1 - y, x) }
        default: return self
        }
        if turns % 2 == 1 { swap(&result.xDPI, &result.yDPI) }
        return result
    }

    /// Builds an image of `width × height` whose pixel (x, y) is this image's `source(x, y)`.
    func remapped(width w: Int, height h: Int, _ source: (Int, Int) -> (Int, Int)) -> Image {
        let outRow = format.minimumStride(width: w)
        var out = [UInt8](repeating: 0, count: outRow * h)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                if let bpp = bytesPerPixel {
                    for y in 0..<h {
                        for x in 0..<w {
                            let (sx, sy) = source(x, y)
                            let s = sy * stride + sx * bpp, d = y * outRow + x * bpp
                            for c in 0..<bpp { dst[d + c] = src[s + c] }
                        }
                    }
                } else {
                    for y in 0..<h {
                        for x in 0..<w {
                            let (sx, sy) = source(x, y)
                            if src[sy * stride + sx >> 3] & (0x80 >> UInt8(sx & 7)) != 0 {
                                dst[y * outRow + x >> 3] |= 0x80 >> UInt8(x & 7)
                            }
                        }
                    }
                }
            }
        }
        return with(width: w, height: h, format: format, pixels: out)
    }

    /// Rotated clockwise by `degrees` (any angle) with bilinear sampling; uncovered corners are
    /// white. With `expand`, the result holds the whole rotated image; otherwise it keeps this
    /// size (centre kept). `bw1` is rotated in gray and thresholded at mid-gray.
    public func rotated(degrees: Double, expand: Bool = true) -> Image {
        if format == .bw1 { return converted(to: .gray8).rotated(degrees: degrees, expand: expand).thresholded(127) }
        let normalized = degrees.truncatingRemainder(dividingBy: 360)
        for turns in 0..<4 where abs(normalized - Double(turns * 90)) < 1e-9 || abs(normalized + Double((4 - turns) * 90)) < 1e-9 {
            return rotated(quarterTurns: turns)
        }
        let radians = degrees * .pi / 180
        let c = cos(radians), s = sin(radians)
        let w = expand ? Int((abs(Double(width) * c) + abs(Double(height) * s)).rounded()) : width
        let h = expand ? Int((abs(Double(width) * s) + abs(Double(height) * c)).rounded()) : height
        let channels = format.channels, sixteen = isSixteenBit
        let bytes = sixteen ? 2 : 1
        let white = sixteen ? 65535.0 : 255.0
        let outRow = format.minimumStride(width: w)
        var out = [UInt8](repeating: 0, count: outRow * h)
        let cxOut = Double(w) / 2, cyOut = Double(h) / 2, cxIn = Double(width) / 2, cyIn = Double(height) / 2
        pixels.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                func sample(_ x: Int, _ y: Int, _ ch: Int) -> Double {
                    if x < 0 || y < 0 || x >= width || y >= height { return white }
                    let offset = y * stride + (x * channels + ch) * bytes
                    return sixteen ? Double(src.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) : Double(src[offset])
                }
                for y in 0..<h {
                    let dy = Double(y) + 0.5 - cyOut
                    for x in 0..<w {
                        let dx = Double(x) + 0.5 - cxOut
                        // Inverse rotation maps the output pixel centre into the source.
                        let sx = c * dx + s * dy + cxIn - 0.5, sy = -s * dx + c * dy + cyIn - 0.5
                        let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                        let fx = sx - Double(x0), fy = sy - Double(y0)
                        for ch in 0..<channels {
                            let top = sample(x0, y0, ch) * (1 - fx) + sample(x0 + 1, y0, ch) * fx
                            let bottom = sample(x0, y0 + 1, ch) * (1 - fx) + sample(x0 + 1, y0 + 1, ch) * fx
                            let value = min(white, max(0, (top * (1 - fy) + bottom * fy).rounded()))
                            let offset = y * outRow + (x * channels + ch) * bytes
                            if sixteen { dst.storeBytes(of: UInt16(value), toByteOffset: offset, as: UInt16.self) } else { dst[offset] = UInt8(value) }
                        }
                    }
                }
            }
        }
        return with(width: w, height: h, format: format, pixels: out)
    }
}
