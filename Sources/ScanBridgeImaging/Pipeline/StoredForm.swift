/// Encoded bytes of an image with their format and size.
public struct EncodedImage: Sendable, Equatable {
    public var format: ImageFileFormat
    public var bytes: [UInt8]
    public var width: Int
    public var height: Int

    public init(format: ImageFileFormat, bytes: [UInt8], width: Int, height: Int) {
        self.format = format; self.bytes = bytes; self.width = width; self.height = height
    }
}

/// The one rule for the form pages are kept in, wherever they come from (a scan, an imported
/// file, a rotation): JPEG at `jpegQuality` (4:2:0) for gray and colour, lossless 1-bit PNG for
/// black and white. Documents keep pages in it and buffered pages carry it beside their pixels.
public enum StoredForm {
    /// The JPEG quality of stored forms (and of page JPEGs made without one).
    public static let jpegQuality = 85

    /// zlib level of stored BW pages. An A4 300 dpi BW page (1.1 MB of rows) takes 2.0 ms at
    /// level 3 against 5.5 ms at 6 for 11.1 kB against 8.2 kB (SANE's "Color pattern"): in a
    /// batch the encode is a sixth of the service's CPU for a BW page, the bytes a rounding error.
    static let bwCompressionLevel = 3

    /// The file format a page of `pixelFormat` is kept in.
    public static func format(for pixelFormat: PixelFormat) -> ImageFileFormat {
        pixelFormat == .bw1 ? .png : .jpeg
    }

    /// `image` in its stored form. Blocking CPU work: call it on the compute pool.
    /// `jpegOutput`, when given, is the memory a JPEG is encoded into (see `JPEGOutputBuffer`).
    public static func encode(_ image: Image, jpegOutput: JPEGOutputBuffer? = nil) throws -> EncodedImage {
        let bytes: [UInt8]
        let format = format(for: image.format)
        switch format {
        case .png: bytes = try PNGCodec.encode(image, compressionLevel: bwCompressionLevel, filters: .none)
        default: bytes = try JPEGCodec.encode(image, quality: jpegQuality, subsampling: .s420, output: jpegOutput)
        }
        return EncodedImage(format: format, bytes: bytes, width: image.width, height: image.height)
    }
}
