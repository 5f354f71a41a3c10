/// What a JPEG stream's headers say, read without decoding (for embedding in PDF as it is).
public struct JPEGInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK/YCCK).
    public var components: Int
    public var bitsPerComponent: Int
    /// From the JFIF header when it gives dots per inch or per cm; nil otherwise.
    public var xDPI: Double?
    public var yDPI: Double?
    /// An Adobe APP14 marker (CMYK JPEGs from Adobe software store inverted values).
    public var hasAdobeMarker: Bool

    /// Parses the markers up to the first start-of-frame.
    public init(_ bytes: [UInt8]) throws {
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw ImagingError.invalid("not a JPEG stream (no SOI marker)") }
        var position = 2
        var xDPI: Double?, yDPI: Double?, adobe = false
        while position + 4 <= bytes.count {
            guard bytes[position] == 0xFF else { throw ImagingError.invalid("JPEG marker expected at byte \(position)") }
            let marker = bytes[position + 1]
            if marker == 0xFF { position += 1; continue }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { position += 2; continue }
            let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            let segment = position + 4
            guard length >= 2, segment + length - 2 <= bytes.count else { throw ImagingError.invalid("JPEG segment runs past the end of the data") }
            switch marker {
            case 0xE0 where length >= 16 && Array(bytes[segment..<segment + 5]) == Array("JFIF\0".utf8):
                let units = bytes[segment + 7]
                let x = Double(Int(bytes[segment + 8]) << 8 | Int(bytes[segment + 9]))
                let y = Double(Int(bytes[segment + 10]) << 8 | Int(bytes[segment + 11]))
                if units == 1 { xDPI = x; yDPI = y } else if units == 2 { xDPI = x * 2.54; yDPI = y * 2.54 }
            case 0xEE where length >= 7 && Array(bytes[segment..<segment + 5]) == Array("Adobe".utf8):
                adobe = true
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                guard length >= 8 else { throw ImagingError.invalid("JPEG frame header too short") }
                bitsPerComponent = Int(bytes[segment])
                height = Int(bytes[segment + 1]) << 8 | Int(bytes[segment + 2])
                width = Int(bytes[segment + 3]) << 8 | Int(bytes[segment + 4])
                components = Int(bytes[segment + 5])
                self.xDPI = xDPI; self.yDPI = yDPI; hasAdobeMarker = adobe
                guard width > 0, height > 0, [1, 3, 4].contains(components) else {
                    throw ImagingError.invalid("JPEG frame \(width)×\(height) with \(components) components is not supported")
                }
                return
            case 0xD9, 0xDA:
                throw ImagingError.invalid("JPEG stream has no frame header")
            default: break
            }
            position = segment + length - 2
        }
        throw ImagingError.invalid("JPEG stream ends before its frame header")
    }
}
