import CZlib

/// A PNG file's chunks read without decoding: the header fields and dpi `PNGCodec.decode` needs
/// (bit depth and pHYs are not in libpng's `png_image`), and what `PDFPageImage(passingThrough:)`
/// needs to embed the compressed image data as it is (PDF's FlateDecode with the PNG predictors
/// is PNG's own IDAT stream), as `img2pdf` does. Chunk lengths and CRCs are checked; the zlib
/// stream inside is not inflated (like a passed-through JPEG's entropy-coded data, it was checked
/// on arrival).
public struct PNGDatastream: Sendable {
    public var width: Int
    public var height: Int
    public var bitDepth: Int
    /// 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGB + alpha.
    public var colorType: Int
    public var interlaced: Bool
    /// A tRNS chunk (colour-key transparency).
    public var hasTransparency: Bool
    /// From pHYs when it gives pixels per metre.
    public var xDPI: Double?
    public var yDPI: Double?
    private let file: [UInt8]
    private let imageDataRanges: [Range<Int>]

    /// The IDAT chunks' data, joined: one zlib stream of filtered rows.
    public var imageData: [UInt8] {
        imageDataRanges.count == 1 ? Array(file[imageDataRanges[0]]) : imageDataRanges.flatMap { file[$0] }
    }

    public init(_ bytes: [UInt8]) throws {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, bytes[0..<8].elementsEqual(signature) else { throw ImagingError.invalid("not a PNG file (bad signature)") }
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var header: (width: Int, height: Int, depth: Int, colour: Int, interlace: Int)?
        var transparency = false, xDPI: Double?, yDPI: Double?, ended = false
        var data: [Range<Int>] = []
        var position = 8
        while !ended {
            guard position + 12 <= bytes.count else { throw ImagingError.invalid("PNG ends at byte \(position) without an IEND chunk") }
            let length = be32(position)
            let body = position + 8
            guard length <= bytes.count - body - 4 else { throw ImagingError.invalid("PNG chunk at byte \(position) runs past the end of the data") }
            let type = String(decoding: bytes[position + 4..<body], as: UTF8.self)
            let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress! + position + 4, UInt32(length + 4))) }
            guard crc == UInt32(be32(body + length)) else { throw ImagingError.invalid("PNG chunk \(type) at byte \(position) fails its CRC") }
            if header == nil && type != "IHDR" { throw ImagingError.invalid("PNG does not start with IHDR") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw ImagingError.invalid("PNG IHDR is \(length) bytes, not 13") }
                header = (be32(body), be32(body + 4), Int(bytes[body + 8]), Int(bytes[body + 9]), Int(bytes[body + 12]))
                guard bytes[body + 10] == 0, bytes[body + 11] == 0 else { throw ImagingError.invalid("PNG compression or filter method is not 0") }
            case "IDAT":
                data.append(body..<body + length)
            case "tRNS":
                transparency = true
            case "pHYs" where length == 9 && bytes[body + 8] == 1:
                xDPI = (Double(be32(body)) * 0.0254 * 100).rounded() / 100
                yDPI = (Double(be32(body + 4)) * 0.0254 * 100).rounded() / 100
            case "IEND":
                ended = true
            default:
                break
            }
            position = body + length + 4
        }
        guard let header, header.width > 0, header.height > 0 else { throw ImagingError.invalid("PNG has an empty image") }
        guard !data.isEmpty else { throw ImagingError.invalid("PNG has no IDAT data") }
        width = header.width; height = header.height; bitDepth = header.depth; colorType = header.colour
        interlaced = header.interlace != 0
        hasTransparency = transparency
        self.xDPI = xDPI; self.yDPI = yDPI
        file = bytes
        imageDataRanges = data
    }

    /// Gray or RGB without alpha, transparency or interlacing: rows PDF's FlateDecode with PNG
    /// predictors reads exactly as PNG stores them.
    public var isPDFCompatible: Bool {
        guard !interlaced, !hasTransparency else { return false }
        switch colorType {
        case 0: return [1, 2, 4, 8, 16].contains(bitDepth)
        case 2: return [8, 16].contains(bitDepth)
        default: return false
        }
    }
}
