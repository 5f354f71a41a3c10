/// Windows BMP, our own code. Writes `bw1` as 1-bit (palette white, black), `gray8` as 8-bit
/// with a gray palette, `rgb24` as 24-bit (16-bit formats are reduced to 8 bits first), all with
/// BITMAPINFOHEADER and the dpi. Reads uncompressed 1/4/8-bit palette, 24-bit and 32-bit
/// (BI_RGB or BI_BITFIELDS with the usual masks), bottom-up or top-down.
public enum BMPCodec {
    public static func encode(_ image: Image) throws -> [UInt8] {
        guard image.width > 0, image.height > 0 else { throw ImagingError.invalid("cannot encode an empty image as BMP") }
        let source: Image = switch image.format {
        case .gray16: image.converted(to: .gray8)
        case .rgb48: image.converted(to: .rgb24)
        default: image
        }
        let bits = source.format == .bw1 ? 1 : (source.format == .gray8 ? 8 : 24)
        let paletteEntries = bits == 24 ? 0 : 1 << bits
        let rowSize = (source.width * bits + 31) / 32 * 4
        let dataOffset = 14 + 40 + paletteEntries * 4
        let fileSize = dataOffset + rowSize * source.height
        var out = [UInt8]()
        out.reserveCapacity(fileSize)
        func le16(_ v: Int) { out.append(UInt8(v & 0xFF)); out.append(UInt8((v >> 8) & 0xFF)) }
        func le32(_ v: Int) { for shift in [0, 8, 16, 24] { out.append(UInt8((v >> shift) & 0xFF)) } }
        out += Array("BM".utf8); le32(fileSize); le32(0); le32(dataOffset)
        le32(40); le32(source.width); le32(source.height); le16(1); le16(bits); le32(0); le32(rowSize * source.height)
        le32(Int((source.xDPI / 0.0254).rounded())); le32(Int((source.yDPI / 0.0254).rounded())); le32(paletteEntries); le32(0)
        if bits == 1 {
            out += [255, 255, 255, 0, 0, 0, 0, 0]      // index 0 white, 1 black: bw1's bits as they are
        } else if bits == 8 {
            for v in 0..<256 { out += [UInt8(v), UInt8(v), UInt8(v), 0] }
        }
        let padding = rowSize - source.rowBytes
        source.pixels.withUnsafeBufferPointer { p in
            for y in stride(from: source.height - 1, through: 0, by: -1) {
                let s = y * source.stride
                if bits == 24 {
                    for x in 0..<source.width { out += [p[s + 3 * x + 2], p[s + 3 * x + 1], p[s + 3 * x]] }
                } else {
                    out += UnsafeBufferPointer(rebasing: p[s..<s + source.rowBytes])
                }
                out += repeatElement(0, count: padding)
            }
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws -> Image {
        guard bytes.count >= 26, bytes[0] == 0x42, bytes[1] == 0x4D else { throw ImagingError.invalid("not a BMP file (no BM signature)") }
        func le16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func le32(_ i: Int) -> Int32 { Int32(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24) }
        let dataOffset = Int(le32(10)), headerSize = Int(le32(14))
        guard headerSize >= 40, bytes.count >= 14 + headerSize else { throw ImagingError.invalid("BMP header of \(headerSize) bytes is not supported (BITMAPINFOHEADER or later needed)") }
        let width = Int(le32(18)), rawHeight = Int(le32(22))
        let bits = le16(28), compression = Int(le32(30))
        let topDown = rawHeight < 0, height = abs(rawHeight)
        guard width > 0, height > 0, width < 1 << 16, height < 1 << 16 else { throw ImagingError.invalid("BMP size \(width)×\(rawHeight) is not valid") }
        try checkDecodable(width, height, "BMP image")
        guard compression == 0 || (compression == 3 && bits == 32) else { throw ImagingError.invalid("BMP compression \(compression) (RLE/JPEG/PNG) is not supported") }
        guard [1, 4, 8, 24, 32].contains(bits) else { throw ImagingError.invalid("BMP with \(bits) bits per pixel is not supported") }
        let xDPI = le32(38) > 0 ? (Double(le32(38)) * 0.0254 * 100).rounded() / 100 : 72
        let yDPI = le32(42) > 0 ? (Double(le32(42)) * 0.0254 * 100).rounded() / 100 : xDPI
        var palette: [(UInt8, UInt8, UInt8)] = []
        if bits <= 8 {
            let declared = Int(le32(46))
            let entries = declared > 0 ? min(declared, 1 << bits) : 1 << bits
            let start = 14 + headerSize
            guard start + entries * 4 <= bytes.count else { throw ImagingError.invalid("BMP palette runs past the end of the file") }
            for i in 0..<entries { palette.append((bytes[start + 4 * i + 2], bytes[start + 4 * i + 1], bytes[start + 4 * i])) }
        }
        let rowSize = (width * bits + 31) / 32 * 4
        guard dataOffset >= 14 + headerSize, dataOffset + rowSize * height <= bytes.count else { throw ImagingError.invalid("BMP pixel data is truncated") }
        let grayPalette = palette.allSatisfy { $0.0 == $0.1 && $0.1 == $0.2 }
        let format: PixelFormat
        if bits == 1 && grayPalette { format = .bw1 } else if bits <= 8 && grayPalette { format = .gray8 } else { format = .rgb24 }
        let outRow = format.minimumStride(width: width)
        var pixels = [UInt8](repeating: 0, count: outRow * height)
        func index(_ row: Int, _ x: Int) -> Int {
            switch bits {
            case 1: Int(bytes[row + x >> 3] >> UInt8(7 - x & 7)) & 1
            case 4: Int(bytes[row + x >> 1] >> UInt8(x & 1 == 0 ? 4 : 0)) & 0xF
            default: Int(bytes[row + x])
            }
        }
        for y in 0..<height {
            let row = dataOffset + (topDown ? y : height - 1 - y) * rowSize
            let out = y * outRow
            for x in 0..<width {
                switch (format, bits) {
                case (.bw1, _):
                    let entry = palette[min(index(row, x), palette.count - 1)]
                    if entry.0 < 128 { pixels[out + x >> 3] |= 0x80 >> UInt8(x & 7) }
                case (.gray8, _):
                    pixels[out + x] = palette[min(index(row, x), palette.count - 1)].0
                case (_, 24), (_, 32):
                    let p = row + x * bits / 8
                    pixels[out + 3 * x] = bytes[p + 2]; pixels[out + 3 * x + 1] = bytes[p + 1]; pixels[out + 3 * x + 2] = bytes[p]
                default:
                    let entry = palette[min(index(row, x), palette.count - 1)]
                    pixels[out + 3 * x] = entry.0; pixels[out + 3 * x + 1] = entry.1; pixels[out + 3 * x + 2] = entry.2
                }
            }
        }
        return Image(width: width, height: height, format: format, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
    }
}
