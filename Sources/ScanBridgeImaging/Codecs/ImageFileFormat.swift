/// The file formats ScanBridge reads and writes, recognised by their signatures.
public enum ImageFileFormat: String, Sendable, Hashable, CaseIterable {
    case jpeg, png, tiff, bmp, pdf

    public var mimeType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .tiff: "image/tiff"
        case .bmp: "image/bmp"
        case .pdf: "application/pdf"
        }
    }

    /// The format a MIME type names (the form pages carry through storage), if it is one of these.
    public init?(mimeType: String) {
        guard let format = Self.allCases.first(where: { $0.mimeType == mimeType.lowercased() }) else { return nil }
        self = format
    }

    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        case .tiff: "tif"
        case .bmp: "bmp"
        case .pdf: "pdf"
        }
    }

    /// The format whose signature starts `bytes`, if any.
    public init?(detecting bytes: [UInt8]) {
        func starts(_ prefix: [UInt8]) -> Bool { bytes.count >= prefix.count && Array(bytes[0..<prefix.count]) == prefix }
        if starts([0xFF, 0xD8, 0xFF]) { self = .jpeg }
        else if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { self = .png }
        else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { self = .tiff }
        else if starts([0x42, 0x4D]) { self = .bmp }
        else if starts(Array("%PDF-".utf8)) { self = .pdf }
        else { return nil }
    }
}

/// Decoding of imported files of any supported raster format.
public enum ImageDecoder {
    /// Every page of `bytes` (one for JPEG, PNG and BMP; all for TIFF).
    public static func decodePages(_ bytes: [UInt8]) throws -> [Image] {
        guard let format = ImageFileFormat(detecting: bytes) else { throw ImagingError.invalid("unrecognised image data (not JPEG, PNG, TIFF or BMP)") }
        switch format {
        case .jpeg: return [try JPEGCodec.decode(bytes)]
        case .png: return [try PNGCodec.decode(bytes)]
        case .tiff: return try TIFFCodec.decode(bytes)
        case .bmp: return [try BMPCodec.decode(bytes)]
        case .pdf: throw ImagingError.invalid("PDF files cannot be decoded to images here")
        }
    }

    /// The first (or only) page.
    public static func decode(_ bytes: [UInt8]) throws -> Image {
        if ImageFileFormat(detecting: bytes) == .tiff { return try TIFFCodec.decodeFirstPage(bytes) }
        return try decodePages(bytes)[0]
    }
}
