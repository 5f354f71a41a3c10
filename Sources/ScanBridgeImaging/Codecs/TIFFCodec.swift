import CLibTIFF
#if canImport(Glibc)
import Glibc
#endif

/// TIFF compression schemes ScanBridge writes.
public enum TIFFCompression: Sendable, Hashable {
    case none
    case packBits
    /// LZW with the horizontal predictor for 8/16-bit images.
    case lzw
    /// Deflate (zlib) at `level` 1...9, with the horizontal predictor for 8/16-bit images.
    case deflate(level: Int)
    /// JPEG (8-bit gray or YCbCr colour); other formats are converted to 8 bits first.
    case jpeg(quality: Int)
    /// CCITT Group 3 (2-D) and Group 4 fax: `bw1` only.
    case ccittG3, ccittG4

    var tag: UInt16 {
        switch self {
        case .none: UInt16(COMPRESSION_NONE)
        case .packBits: UInt16(COMPRESSION_PACKBITS)
        case .lzw: UInt16(COMPRESSION_LZW)
        case .deflate: UInt16(COMPRESSION_ADOBE_DEFLATE)
        case .jpeg: UInt16(COMPRESSION_JPEG)
        case .ccittG3: UInt16(COMPRESSION_CCITTFAX3)
        case .ccittG4: UInt16(COMPRESSION_CCITTFAX4)
        }
    }
}

/// Writes a TIFF page by page (single- or multi-page) into memory or a file. libtiff reports
/// errors through a per-handle handler (never longjmp); they become `ScanBridgeError`s.
/// Not thread-safe: one owner at a time.
public final class TIFFWriter {
    private var tif: OpaquePointer?
    private let stream: TIFFStream?
    private let messages: TIFFMessages
    private let compression: TIFFCompression
    private let rowsPerStripOverride: Int?
    public private(set) var pageCount = 0

    /// A writer into memory; `finish()` returns the file's bytes.
    public convenience init(compression: TIFFCompression) throws {
        try self.init(path: nil, compression: compression, rowsPerStrip: nil)
    }

    /// A writer into the file at `path` (created or truncated).
    public convenience init(path: String, compression: TIFFCompression) throws {
        try self.init(path: path, compression: compression, rowsPerStrip: nil)
    }

    init(path: String?, compression: TIFFCompression, rowsPerStrip: Int?) throws {
        switch compression {
        case .deflate(let level) where !(1...9).contains(level): throw ImagingError.invalid("TIFF deflate level \(level) is outside 1...9")
        case .jpeg(let quality) where !(1...100).contains(quality): throw ImagingError.invalid("TIFF JPEG quality \(quality) is outside 1...100")
        default: break
        }
        self.compression = compression
        self.rowsPerStripOverride = rowsPerStrip
        messages = TIFFMessages()
        if let path {
            stream = nil
            tif = try messages.open { options in TIFFOpenExt(path, "w", options) }
        } else {
            let stream = TIFFStream(bytes: [])
            self.stream = stream
            tif = try messages.open { options in stream.open(mode: "w", options: options) }
        }
    }

    deinit { if let tif { TIFFClose(tif) } }

    /// Appends `image` as the next page.
    public func add(_ image: Image) throws {
        guard let tif else { throw ImagingError.invalid("TIFF writer already finished") }
        guard image.width > 0, image.height > 0 else { throw ImagingError.invalid("cannot write an empty image to TIFF") }
        var page = image
        switch compression {
        case .ccittG3, .ccittG4:
            guard image.format == .bw1 else { throw ImagingError.invalid("CCITT fax compression needs a bw1 image, not \(image.format.rawValue)") }
        case .jpeg:
            if image.format == .bw1 || image.format == .gray16 { page = image.converted(to: .gray8) }
            if image.format == .rgb48 { page = image.converted(to: .rgb24) }
        default: break
        }
        messages.reset()
        let format = page.format
        let tag = compression.tag
        var ok = sb_tiff_set_uint32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(page.width)) == 1
        ok = ok && sb_tiff_set_uint32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(page.height)) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), UInt16(format.bitsPerSample)) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), UInt16(format.channels)) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG)) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_ORIENTATION), UInt16(ORIENTATION_TOPLEFT)) == 1
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_COMPRESSION), tag) == 1
        let photometric: Int32
        switch format {
        case .bw1: photometric = PHOTOMETRIC_MINISWHITE
        case .gray8, .gray16: photometric = PHOTOMETRIC_MINISBLACK
        case .rgb24, .rgb48:
            if case .jpeg = compression { photometric = PHOTOMETRIC_YCBCR } else { photometric = PHOTOMETRIC_RGB }
        }
        ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(photometric)) == 1
        switch compression {
        case .lzw where format != .bw1:
            ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) == 1
        case .deflate(let level):
            ok = ok && sb_tiff_set_int(tif, UInt32(TIFFTAG_ZIPQUALITY), Int32(level)) == 1
            if format != .bw1 { ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) == 1 }
        case .jpeg(let quality):
            ok = ok && sb_tiff_set_int(tif, UInt32(TIFFTAG_JPEGQUALITY), Int32(quality)) == 1
            if photometric == PHOTOMETRIC_YCBCR { ok = ok && sb_tiff_set_int(tif, UInt32(TIFFTAG_JPEGCOLORMODE), JPEGCOLORMODE_RGB) == 1 }
        case .ccittG3:
            ok = ok && sb_tiff_set_uint32(tif, UInt32(TIFFTAG_GROUP3OPTIONS), UInt32(GROUP3OPT_2DENCODING)) == 1
        default: break
        }
        if page.xDPI > 0, page.yDPI > 0 {
            ok = ok && sb_tiff_set_double(tif, UInt32(TIFFTAG_XRESOLUTION), page.xDPI) == 1
            ok = ok && sb_tiff_set_double(tif, UInt32(TIFFTAG_YRESOLUTION), page.yDPI) == 1
            ok = ok && sb_tiff_set_uint16(tif, UInt32(TIFFTAG_RESOLUTIONUNIT), UInt16(RESUNIT_INCH)) == 1
        }
        ok = ok && sb_tiff_set_uint32(tif, UInt32(TIFFTAG_SUBFILETYPE), UInt32(FILETYPE_PAGE)) == 1
        ok = ok && sb_tiff_set_uint16_pair(tif, UInt32(TIFFTAG_PAGENUMBER), UInt16(pageCount), 0) == 1
        let rowsPerStrip = rowsPerStripOverride ?? Int(TIFFDefaultStripSize(tif, 0))
        ok = ok && sb_tiff_set_uint32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(max(1, min(rowsPerStrip, page.height)))) == 1
        guard ok else { throw messages.error("TIFF tags") }
        var stripRows = 0
        guard sb_tiff_get_uint32_rows(tif, &stripRows) else { throw messages.error("TIFF rows per strip") }
        let rowBytes = page.rowBytes
        var scratch = [UInt8](repeating: 0, count: stripRows * rowBytes)
        var strip: UInt32 = 0
        var row = 0
        while row < page.height {
            let rows = min(stripRows, page.height - row)
            // libtiff may modify the buffer (predictor, bit order): always hand it a copy.
            page.pixels.withUnsafeBufferPointer { source in
                scratch.withUnsafeMutableBufferPointer { dest in
                    for r in 0..<rows {
                        let s = (row + r) * page.stride
                        for i in 0..<rowBytes { dest[r * rowBytes + i] = source[s + i] }
                    }
                }
            }
            let written = scratch.withUnsafeMutableBytes { TIFFWriteEncodedStrip(tif, strip, $0.baseAddress, tmsize_t(rows * rowBytes)) }
            guard written >= 0 else { throw messages.error("TIFF strip write") }
            strip += 1
            row += rows
        }
        guard TIFFWriteDirectory(tif) == 1 else { throw messages.error("TIFF directory write") }
        pageCount += 1
    }

    /// Closes the file; returns the bytes for an in-memory writer (empty for a file).
    @discardableResult
    public func finish() throws -> [UInt8] {
        guard let tif else { throw ImagingError.invalid("TIFF writer already finished") }
        self.tif = nil
        messages.reset()
        TIFFClose(tif)
        if let failure = messages.first { throw ImagingError.library("TIFF close", failure) }
        return stream?.bytes ?? []
    }
}

private func sb_tiff_get_uint32_rows(_ tif: OpaquePointer, _ rows: inout Int) -> Bool {
    var value: UInt32 = 0
    guard sb_tiff_get_uint32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), &value) == 1 else { return false }
    rows = Int(value)
    return rows > 0
}

/// TIFF encode and decode.
public enum TIFFCodec {
    /// One page.
    public static func encode(_ image: Image, compression: TIFFCompression = .lzw) throws -> [UInt8] {
        try encode([image], compression: compression)
    }

    /// A multi-page TIFF.
    public static func encode(_ pages: [Image], compression: TIFFCompression = .lzw) throws -> [UInt8] {
        let writer = try TIFFWriter(compression: compression)
        for page in pages { try writer.add(page) }
        return try writer.finish()
    }

    /// Number of pages (directories).
    public static func pageCount(_ bytes: [UInt8]) throws -> Int {
        try withReader(bytes) { tif, _ in
            var count = 1
            while TIFFReadDirectory(tif) == 1 { count += 1 }
            return count
        }
    }

    /// Every page. 1-bit → `bw1`; 8/16-bit gray and RGB keep their depth; JPEG-in-TIFF comes
    /// back as RGB; anything else (palette, CMYK, alpha, tiles, planar) through libtiff's RGBA
    /// reader as `rgb24`.
    public static func decode(_ bytes: [UInt8]) throws -> [Image] {
        try withReader(bytes) { tif, messages in
            var pages: [Image] = []
            repeat {
                pages.append(try readPage(tif, messages))
            } while TIFFReadDirectory(tif) == 1
            return pages
        }
    }

    /// Width and height of every page, from the directories alone (no pixel is decoded).
    public static func pageSizes(_ bytes: [UInt8]) throws -> [(width: Int, height: Int)] {
        try withReader(bytes) { tif, messages in
            var sizes: [(width: Int, height: Int)] = []
            repeat {
                var width: UInt32 = 0, height: UInt32 = 0
                guard sb_tiff_get_uint32(tif, UInt32(TIFFTAG_IMAGEWIDTH), &width) == 1,
                      sb_tiff_get_uint32(tif, UInt32(TIFFTAG_IMAGELENGTH), &height) == 1, width > 0, height > 0 else {
                    throw messages.error("TIFF page without a size")
                }
                sizes.append((Int(width), Int(height)))
            } while TIFFReadDirectory(tif) == 1
            return sizes
        }
    }

    /// Page `index` (0-based) only, so that a caller can hold one decoded page at a time.
    public static func decodePage(_ bytes: [UInt8], at index: Int) throws -> Image {
        try withReader(bytes) { tif, messages in
            guard index >= 0, index <= Int(UInt32.max), TIFFSetDirectory(tif, tdir_t(index)) == 1 else {
                throw messages.error("TIFF page \(index)")
            }
            return try readPage(tif, messages)
        }
    }

    /// The first page only.
    public static func decodeFirstPage(_ bytes: [UInt8]) throws -> Image {
        try withReader(bytes) { tif, messages in try readPage(tif, messages) }
    }

    /// The raw CCITT G4 data of a `bw1` image (one strip, MSB first, 0 = white in the coding
    /// sense): what a PDF `/CCITTFaxDecode` stream with `/K -1` holds.
    public static func ccittG4Data(_ image: Image) throws -> [UInt8] {
        guard image.format == .bw1 else { throw ImagingError.invalid("CCITT G4 needs a bw1 image") }
        let writer = try TIFFWriter(path: nil, compression: .ccittG4, rowsPerStrip: image.height)
        try writer.add(image)
        let tiff = try writer.finish()
        return try withReader(tiff) { tif, messages in
            let size = TIFFRawStripSize(tif, 0)
            guard size > 0 else { throw messages.error("TIFF raw strip") }
            var data = [UInt8](repeating: 0, count: Int(size))
            let read = data.withUnsafeMutableBytes { TIFFReadRawStrip(tif, 0, $0.baseAddress, size) }
            guard read == size else { throw messages.error("TIFF raw strip read") }
            return data
        }
    }

    static func withReader<T>(_ bytes: [UInt8], _ body: (OpaquePointer, TIFFMessages) throws -> T) throws -> T {
        guard bytes.count >= 8, (bytes[0] == 0x49 && bytes[1] == 0x49) || (bytes[0] == 0x4D && bytes[1] == 0x4D) else {
            throw ImagingError.invalid("not a TIFF file (bad byte-order mark)")
        }
        let messages = TIFFMessages()
        let stream = TIFFStream(bytes: bytes)
        // libtiff holds the stream unretained: it must live until TIFFClose, past its last use here.
        return try withExtendedLifetime(stream) {
            let tif = try messages.open { options in stream.open(mode: "rm", options: options) }
            defer { TIFFClose(tif) }
            return try body(tif, messages)
        }
    }

    static func readPage(_ tif: OpaquePointer, _ messages: TIFFMessages) throws -> Image {
        messages.reset()
        var width: UInt32 = 0, height: UInt32 = 0
        guard sb_tiff_get_uint32(tif, UInt32(TIFFTAG_IMAGEWIDTH), &width) == 1,
              sb_tiff_get_uint32(tif, UInt32(TIFFTAG_IMAGELENGTH), &height) == 1, width > 0, height > 0 else {
            throw messages.error("TIFF page without a size")
        }
        var bits: UInt16 = 1, samples: UInt16 = 1, photometric: UInt16 = 0, planar: UInt16 = 1, compression: UInt16 = 1, unit: UInt16 = 2
        _ = sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), &bits)
        _ = sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), &samples)
        _ = sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_PLANARCONFIG), &planar)
        _ = sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_COMPRESSION), &compression)
        _ = sb_tiff_get_defaulted_uint16(tif, UInt32(TIFFTAG_RESOLUTIONUNIT), &unit)
        if sb_tiff_get_uint16(tif, UInt32(TIFFTAG_PHOTOMETRIC), &photometric) != 1 { photometric = samples == 3 ? UInt16(PHOTOMETRIC_RGB) : UInt16(PHOTOMETRIC_MINISWHITE) }
        var xResolution: Float = 0, yResolution: Float = 0
        _ = sb_tiff_get_float(tif, UInt32(TIFFTAG_XRESOLUTION), &xResolution)
        _ = sb_tiff_get_float(tif, UInt32(TIFFTAG_YRESOLUTION), &yResolution)
        let perInch = unit == UInt16(RESUNIT_CENTIMETER) ? 2.54 : (unit == UInt16(RESUNIT_NONE) ? 0 : 1)
        let xDPI = xResolution > 0 && perInch > 0 ? Double(xResolution) * perInch : 72
        let yDPI = yResolution > 0 && perInch > 0 ? Double(yResolution) * perInch : xDPI
        var rgbLike = photometric == UInt16(PHOTOMETRIC_RGB)
        if compression == UInt16(COMPRESSION_JPEG) && photometric == UInt16(PHOTOMETRIC_YCBCR) {
            _ = sb_tiff_set_int(tif, UInt32(TIFFTAG_JPEGCOLORMODE), JPEGCOLORMODE_RGB)
            rgbLike = true
        }
        let gray = photometric == UInt16(PHOTOMETRIC_MINISBLACK) || photometric == UInt16(PHOTOMETRIC_MINISWHITE)
        let format: PixelFormat? = switch (bits, samples, gray, rgbLike) {
        case (1, 1, true, _): .bw1
        case (8, 1, true, _): .gray8
        case (16, 1, true, _): .gray16
        case (8, 3, _, true): .rgb24
        case (16, 3, _, true): .rgb48
        default: nil
        }
        let w = Int(width), h = Int(height)
        try checkDecodable(w, h, "TIFF page")
        guard let format, planar == UInt16(PLANARCONFIG_CONTIG), TIFFIsTiled(tif) == 0 else {
            return try readRGBA(tif, messages, width: w, height: h, xDPI: xDPI, yDPI: yDPI)
        }
        let rowBytes = format.minimumStride(width: w)
        guard Int(TIFFScanlineSize64(tif)) == rowBytes else { return try readRGBA(tif, messages, width: w, height: h, xDPI: xDPI, yDPI: yDPI) }
        var rowsPerStrip: UInt32 = 0
        if sb_tiff_get_uint32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), &rowsPerStrip) != 1 || rowsPerStrip == 0 || rowsPerStrip > height { rowsPerStrip = height }
        var pixels = [UInt8](repeating: 0, count: rowBytes * h)
        let strips = Int(TIFFNumberOfStrips(tif))
        let stripSize = Int(rowsPerStrip) * rowBytes
        var scratch = [UInt8](repeating: 0, count: max(stripSize, Int(TIFFStripSize(tif))))
        for strip in 0..<strips {
            let firstRow = strip * Int(rowsPerStrip)
            if firstRow >= h { break }
            let rows = min(Int(rowsPerStrip), h - firstRow)
            let read = scratch.withUnsafeMutableBytes { TIFFReadEncodedStrip(tif, UInt32(strip), $0.baseAddress, tmsize_t(rows * rowBytes)) }
            guard read >= 0 else { throw messages.error("TIFF strip \(strip) read") }
            guard Int(read) >= rows * rowBytes else { throw ImagingError.invalid("TIFF strip \(strip) is short (\(read) of \(rows * rowBytes) bytes)") }
            pixels.replaceSubrange(firstRow * rowBytes..<(firstRow + rows) * rowBytes, with: scratch[0..<rows * rowBytes])
        }
        var image = Image(width: w, height: h, format: format, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
        // bw1 means 1 = black (min-is-white); 8/16-bit gray means 0 = black (min-is-black).
        let minIsWhite = photometric == UInt16(PHOTOMETRIC_MINISWHITE)
        if (format == .bw1 && !minIsWhite) || (format != .bw1 && minIsWhite) { image = image.inverted() }
        return image
    }

    static func readRGBA(_ tif: OpaquePointer, _ messages: TIFFMessages, width: Int, height: Int, xDPI: Double, yDPI: Double) throws -> Image {
        var raster = [UInt32](repeating: 0, count: width * height)
        let ok = raster.withUnsafeMutableBufferPointer {
            TIFFReadRGBAImageOriented(tif, UInt32(width), UInt32(height), $0.baseAddress, ORIENTATION_TOPLEFT, 0)
        }
        guard ok == 1 else { throw messages.error("TIFF RGBA read") }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<width * height {
            let abgr = raster[i]
            pixels[3 * i] = UInt8(abgr & 0xFF)
            pixels[3 * i + 1] = UInt8((abgr >> 8) & 0xFF)
            pixels[3 * i + 2] = UInt8((abgr >> 16) & 0xFF)
        }
        return Image(width: width, height: height, format: .rgb24, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
    }
}

/// Collects libtiff's error messages of one handle (per-handle handlers: no global state).
final class TIFFMessages {
    var messages: [String] = []
    var first: String? { messages.first }

    func reset() { messages.removeAll() }

    func error(_ what: String) -> Error {
        ImagingError.library(what, messages.isEmpty ? "libtiff reported no detail" : messages.joined(separator: "; "))
    }

    /// Opens a handle with this collector installed as its error handler.
    func open(_ opener: (OpaquePointer) -> OpaquePointer?) throws -> OpaquePointer {
        guard let options = TIFFOpenOptionsAlloc() else { throw ImagingError.library("libtiff", "TIFFOpenOptionsAlloc failed") }
        defer { TIFFOpenOptionsFree(options) }
        let context = Unmanaged.passUnretained(self).toOpaque()
        TIFFOpenOptionsSetErrorHandlerExtR(options, tiffErrorHandler, context)
        TIFFOpenOptionsSetWarningHandlerExtR(options, tiffWarningHandler, context)
        guard let tif = opener(options) else { throw error("TIFF open") }
        return tif
    }
}

private let tiffErrorHandler: TIFFErrorHandlerExtR = { _, context, module, format, arguments in
    guard let context, let format, let arguments else { return 1 }
    var buffer = [CChar](repeating: 0, count: 512)
    _ = vsnprintf(&buffer, buffer.count, format, arguments)
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let prefix = module.map { String(cString: $0) + ": " } ?? ""
    Unmanaged<TIFFMessages>.fromOpaque(context).takeUnretainedValue().messages.append(prefix + text)
    return 1
}

private let tiffWarningHandler: TIFFErrorHandlerExtR = { _, _, _, _, _ in 1 }

/// A TIFF file in memory behind libtiff's client I/O callbacks.
final class TIFFStream {
    var bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// The handle keeps an unretained pointer: the stream must outlive it (callers keep it).
    func open(mode: String, options: OpaquePointer) -> OpaquePointer? {
        TIFFClientOpenExt("memory", mode, Unmanaged.passUnretained(self).toOpaque(),
                          tiffRead, tiffWrite, tiffSeek, tiffClose, tiffSize, tiffMap, tiffUnmap, options)
    }
}

private func stream(_ handle: thandle_t?) -> TIFFStream { Unmanaged<TIFFStream>.fromOpaque(handle!).takeUnretainedValue() }

private let tiffRead: TIFFReadWriteProc = { handle, buffer, size in
    let s = stream(handle)
    let count = max(0, min(Int(size), s.bytes.count - s.position))
    if count > 0, let buffer {
        s.bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: source.baseAddress! + s.position, byteCount: count)
        }
    }
    s.position += count
    return tmsize_t(count)
}

private let tiffWrite: TIFFReadWriteProc = { handle, buffer, size in
    let s = stream(handle)
    let count = Int(size)
    guard let buffer, count > 0 else { return 0 }
    if s.position == s.bytes.count {
        s.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: count))   // the usual case: appending
    } else {
        if s.position + count > s.bytes.count { s.bytes.append(contentsOf: repeatElement(0, count: s.position + count - s.bytes.count)) }
        s.bytes.withUnsafeMutableBytes { dest in
            (dest.baseAddress! + s.position).copyMemory(from: buffer, byteCount: count)
        }
    }
    s.position += count
    return size
}

private let tiffSeek: TIFFSeekProc = { handle, offset, whence in
    let s = stream(handle)
    let base: Int = switch whence {
    case SEEK_CUR: s.position
    case SEEK_END: s.bytes.count
    default: 0
    }
    let target = base + Int(Int64(bitPattern: offset))
    guard target >= 0 else { return UInt64.max }
    s.position = target
    return UInt64(target)
}

private let tiffClose: TIFFCloseProc = { _ in 0 }
private let tiffSize: TIFFSizeProc = { handle in UInt64(stream(handle).bytes.count) }
private let tiffMap: TIFFMapFileProc = { _, _, _ in 0 }
private let tiffUnmap: TIFFUnmapFileProc = { _, _, _ in }
