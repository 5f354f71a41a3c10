/// Lossless JBIG2 (ITU-T T.88) of a `bw1` image as one immediate generic region: arithmetic
/// coding with generic template 0 and its default adaptive pixels, typical prediction (TPGDON)
/// for rows equal to the row above. The output is JBIG2's embedded stream form as PDF's
/// JBIG2Decode filter takes it with no global segments: a page information segment and the
/// region segment (no file header, no end-of-page or end-of-file segment).
public enum JBIG2GenericEncoder {
    /// The embedded stream of `image` (`bw1`: 1 = black, which is JBIG2's 1 too).
    public static func encode(_ image: Image) throws -> [UInt8] {
        guard image.format == .bw1 else { throw ImagingError.invalid("JBIG2 needs a bw1 image, not \(image.format.rawValue)") }
        guard image.width > 0, image.height > 0 else { throw ImagingError.invalid("cannot JBIG2-encode an empty image") }
        let width = UInt32(image.width), height = UInt32(image.height)
        var pageInformation: [UInt8] = []
        append(width, to: &pageInformation)
        append(height, to: &pageInformation)
        append(pixelsPerMetre(image.xDPI), to: &pageInformation)
        append(pixelsPerMetre(image.yDPI), to: &pageInformation)
        pageInformation.append(0x01)           // eventually lossless, default pixel 0, combination OR
        pageInformation += [0x00, 0x00]        // not striped
        var region: [UInt8] = []
        append(width, to: &region)
        append(height, to: &region)
        append(0, to: &region)                 // x
        append(0, to: &region)                 // y
        region.append(0x00)                    // external combination operator OR
        region.append(0x08)                    // no MMR, template 0, TPGDON on
        region += [3, 0xFF, 0xFD, 0xFF, 2, 0xFE, 0xFE, 0xFE]   // A1 (3,-1) A2 (-3,-1) A3 (2,-2) A4 (-2,-2)
        region += codeRegion(image)
        return segment(number: 0, type: 48, data: pageInformation) + segment(number: 1, type: 38, data: region)
    }

    /// The generic region's arithmetic-coded data (T.88 6.2.5.7 with TPGDON).
    static func codeRegion(_ image: Image) -> [UInt8] {
        let width = image.width
        // Rows unpacked to one byte a pixel, with four white pixels of margin on each side so
        // that every template pixel outside the image reads as 0.
        let padded = width + 8
        var rows = [[UInt8]](repeating: [UInt8](repeating: 0, count: padded), count: 3)   // y-2, y-1, y
        var coder = MQEncoder(contexts: 1 << 16)
        // The context of the "row is like the one above" bit for template 0 (T.88 6.2.5.7).
        let typicalContext = 0x9B25
        var previousTypical = false
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<image.height {
                rows.swapAt(0, 1)
                rows.swapAt(1, 2)
                let base = y * image.stride
                rows[2].withUnsafeMutableBufferPointer { row in
                    for x in 0..<width { row[x + 4] = (pixels[base + (x >> 3)] >> (7 - UInt8(x & 7))) & 1 }
                }
                let typical = rows[2] == rows[1]
                coder.encode(typical != previousTypical ? 1 : 0, context: typicalContext)
                previousTypical = typical
                if typical { continue }
                rows[0].withUnsafeBufferPointer { above2 in
                    rows[1].withUnsafeBufferPointer { above in
                        rows[2].withUnsafeBufferPointer { row in
                            // Windows over row y-2 (x-2…x+2), y-1 (x-3…x+3) and y (x-4…x-1), preloaded
                            // with the pixels left of x = 0.
                            var w2 = 0, w1 = 0, w0 = 0
                            for k in 2...5 { w2 = (w2 << 1) | Int(above2[k]) }       // x-2…x+1 at x = 0
                            for k in 1...6 { w1 = (w1 << 1) | Int(above[k]) }        // x-3…x+2 at x = 0
                            for x in 0..<width {
                                w2 = ((w2 << 1) | Int(above2[x + 6])) & 0x1F
                                w1 = ((w1 << 1) | Int(above[x + 7])) & 0x7F
                                let pixel = Int(row[x + 4])
                                coder.encode(pixel, context: (w2 << 11) | (w1 << 4) | w0)
                                w0 = ((w0 << 1) | pixel) & 0x0F
                            }
                        }
                    }
                }
            }
        }
        return coder.finish()
    }

    /// A segment header (T.88 7.2: no referred-to segments, page 1) and its data.
    static func segment(number: UInt32, type: UInt8, data: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        append(number, to: &bytes)
        bytes.append(type)          // one-byte page association, not deferred
        bytes.append(0x00)          // no referred-to segments
        bytes.append(1)             // page 1
        append(UInt32(data.count), to: &bytes)
        return bytes + data
    }

    private static func pixelsPerMetre(_ dpi: Double) -> UInt32 {
        dpi > 0 && dpi < 100_000 ? UInt32((dpi / 0.0254).rounded()) : 0
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
