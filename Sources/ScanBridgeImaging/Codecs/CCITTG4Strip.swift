import CLibTIFF

/// A CCITT Group 4 strip and the size of the page it codes.
public struct CCITTG4Strip: Sendable, Equatable {
    public var data: [UInt8]
    public var width: Int
    public var height: Int
    /// The runs the code calls white are the page's black (TIFF min-is-black, PDF /BlackIs1
    /// true), as some writers (Pillow) make them.
    public var inverted: Bool

    public init(data: [UInt8], width: Int, height: Int, inverted: Bool = false) {
        self.data = data; self.width = width; self.height = height; self.inverted = inverted
    }
}

extension TIFFCodec {
    /// The G4 data of a one-page TIFF that holds its page as a single CCITT G4 strip, bits most
    /// significant first: the form a PDF's CCITTFaxDecode image takes unchanged. Nil for any
    /// other TIFF.
    public static func ccittG4Strip(_ tiff: [UInt8]) throws -> CCITTG4Strip? {
        try withReader(tiff) { tif, messages in
            var width: UInt32 = 0, height: UInt32 = 0
            var compression: UInt16 = 0, photometric: UInt16 = 0, fillOrder: UInt16 = 1, bits: UInt16 = 1, options: UInt32 = 0
            guard sb_tiff_get_uint32(tif, UInt32(TIFFTAG_IMAGEWIDTH), &width) == 1,
                  sb_tiff_get_uint32(tif, UInt32(TIFFTAG_IMAGELENGTH), &height) == 1,
                  sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_COMPRESSION), &compression) == 1,
                  compression == UInt16(COMPRESSION_CCITTFAX4),
                  sb_tiff_get_uint16(tif, UInt32(TIFFTAG_PHOTOMETRIC), &photometric) == 1,
                  photometric == UInt16(PHOTOMETRIC_MINISWHITE) || photometric == UInt16(PHOTOMETRIC_MINISBLACK),
                  TIFFNumberOfStrips(tif) == 1, TIFFNumberOfDirectories(tif) == 1 else { return nil }
            _ = sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_FILLORDER), &fillOrder)
            _ = sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), &bits)
            _ = sb_tiff_get_uint32(tif, UInt32(TIFFTAG_GROUP4OPTIONS), &options)
            // Uncompressed mode (an option bit) is not part of PDF's G4.
            guard fillOrder == UInt16(FILLORDER_MSB2LSB), bits == 1, options == 0 else { return nil }
            let size = TIFFRawStripSize(tif, 0)
            guard size > 0 else { throw messages.error("TIFF raw strip") }
            var data = [UInt8](repeating: 0, count: Int(size))
            let read = data.withUnsafeMutableBytes { TIFFReadRawStrip(tif, 0, $0.baseAddress, size) }
            guard read == size else { throw messages.error("TIFF raw strip read") }
            return CCITTG4Strip(data: data, width: Int(width), height: Int(height), inverted: photometric == UInt16(PHOTOMETRIC_MINISBLACK))
        }
    }

    /// A one-page TIFF around a G4 strip, written without decoding or re-encoding it: the form
    /// a PDF's fax image is kept in (`ccittG4Strip` gives the strip back unchanged).
    public static func wrapping(_ strip: CCITTG4Strip, xDPI: Double, yDPI: Double) throws -> [UInt8] {
        let messages = TIFFMessages()
        let stream = TIFFStream(bytes: [])
        let tif = try messages.open { options in stream.open(mode: "w", options: options) }
        var closed = false
        defer { if !closed { TIFFClose(tif) } }
        var ok = sb_tiff_set_uint32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(strip.width)) == 1
        ok = ok && sb_tiff_set_uint32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(strip.height)) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), 1) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), 1) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_COMPRESSION), UInt16(COMPRESSION_CCITTFAX4)) == 1
        let photometric = strip.inverted ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_MINISWHITE
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(photometric)) == 1
        ok = ok && sb_tiff_set_uint32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(strip.height)) == 1
        if xDPI > 0, yDPI > 0 {
            ok = ok && sb_tiff_set_double(tif, UInt32(TIFFTAG_XRESOLUTION), xDPI) == 1
            ok = ok && sb_tiff_set_double(tif, UInt32(TIFFTAG_YRESOLUTION), yDPI) == 1
            ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_RESOLUTIONUNIT), UInt16(RESUNIT_INCH)) == 1
        }
        guard ok else { throw messages.error("TIFF tags") }
        var data = strip.data
        let written = data.withUnsafeMutableBytes { TIFFWriteRawStrip(tif, 0, $0.baseAddress, tmsize_t($0.count)) }
        guard written == data.count, TIFFWriteDirectory(tif) == 1 else { throw messages.error("TIFF raw strip write") }
        closed = true
        messages.reset()
        TIFFClose(tif)
        if let failure = messages.first { throw ImagingError.library("TIFF close", failure) }
        return stream.bytes
    }
}
