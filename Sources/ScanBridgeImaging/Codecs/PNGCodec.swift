import CLibPNG

/// PNG through libpng: 1-bit (`bw1`), 8-bit and 16-bit gray and RGB, with the zlib level and
/// row filters chosen by the caller (fast levels for scans), and the dpi in a pHYs chunk.
///
/// libpng reports errors by calling an error callback that must not return: it `longjmp`s to a
/// `setjmp` in the caller, which must never jump over Swift frames (their releases and defers
/// would be skipped). So:
/// - **Decoding** (untrusted data) uses libpng's *simplified API* (`png_image_*`), which does its
///   own setjmp inside libpng and returns a status plus message. 1-bit and 8-bit files are read
///   with it directly. 16-bit files are first decoded by it at 8 bits, which validates the whole
///   datastream (chunk CRCs, zlib stream, filters), and then read once more with the low-level
///   API to keep all 16 bits (the simplified API would gamma-convert them).
/// - The low-level sequences (encoding: the simplified API cannot write 1-bit, zlib levels or
///   pHYs; the 16-bit read) run in C (`sb_png_encode`, `sb_png_read_sixteen_bit` in CLibPNG's
///   header) under their own setjmp, and come back as a thrown error with libpng's message.
public enum PNGCodec {
    public enum Filters: Sendable, Hashable {
        /// No row filter: fastest, best for `bw1` and flat documents.
        case none
        /// "Sub" and "Up" only: libpng's fast filter set, good for scans.
        case fast
        /// Every filter, chosen per row: smallest files, slowest.
        case all

        var mask: Int32 {
            switch self {
            case .none: PNG_FILTER_NONE
            case .fast: PNG_FILTER_NONE | PNG_FILTER_SUB | PNG_FILTER_UP
            case .all: PNG_FILTER_NONE | PNG_FILTER_SUB | PNG_FILTER_UP | PNG_FILTER_AVG | PNG_FILTER_PAETH
            }
        }
    }

    /// Encodes `image` (every pixel format) with zlib `compressionLevel` (0...9).
    public static func encode(_ image: Image, compressionLevel: Int = 3, filters: Filters = .fast) throws -> [UInt8] {
        guard (0...9).contains(compressionLevel) else { throw ImagingError.invalid("PNG compression level \(compressionLevel) is outside 0...9") }
        guard image.width > 0, image.height > 0, image.width < 1 << 31, image.height < 1 << 31 else {
            throw ImagingError.invalid("PNG cannot hold a \(image.width)×\(image.height) image")
        }
        let colorType = image.format.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY
        let perMetre = { (dpi: Double) in image.xDPI > 0 && image.yDPI > 0 ? UInt32((dpi / 0.0254).rounded()) : 0 }
        var output = sb_png_output()
        defer { sb_png_output_free(&output) }
        var message = sb_png_message()
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            sb_png_encode(pixels.baseAddress, image.stride, UInt32(image.width), UInt32(image.height),
                          Int32(image.format.bitsPerSample), colorType, Int32(compressionLevel),
                          image.format == .bw1 ? PNG_FILTER_NONE : filters.mask, perMetre(image.xDPI), perMetre(image.yDPI),
                          image.format == .bw1 ? 1 : 0,   // PNG gray 1-bit: 0 = black
                          image.isSixteenBit && hostIsLittleEndian ? 1 : 0, &output, &message)
        }
        guard status == 0 else { throw ImagingError.library("libpng encode", text(of: &message.text)) }
        return Array(UnsafeBufferPointer(start: output.bytes, count: output.count))
    }

    /// Decodes a PNG: 1-bit gray → `bw1`, other gray → `gray8`/`gray16`, colour, palette and
    /// alpha → `rgb24`/`rgb48` (alpha composited on white for 8-bit, dropped for 16-bit).
    public static func decode(_ bytes: [UInt8]) throws -> Image {
        let header = try PNGDatastream(bytes)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let begun = bytes.withUnsafeBufferPointer { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw ImagingError.library("libpng decode", text(of: &image.message)) }
        let color = image.format & PNG_FORMAT_FLAG_COLOR != 0
        image.format = color ? PNG_FORMAT_FLAG_COLOR : 0
        let channels = color ? 3 : 1
        let width = Int(image.width), height = Int(image.height)
        try checkDecodable(width, height, "PNG image")
        var white = png_color(red: 255, green: 255, blue: 255)
        var finished: Int32 = 0
        // Uninitialised storage: libpng writes every byte (no zero-fill pass).
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * channels) { buffer, count in
            finished = png_image_finish_read(&image, &white, buffer.baseAddress, Int32(width * channels), nil)
            if finished == 0 { buffer.initialize(repeating: 0) }
            count = buffer.count
        }
        guard finished != 0 else { throw ImagingError.library("libpng decode", text(of: &image.message)) }
        let xDPI = header.xDPI ?? 72, yDPI = header.yDPI ?? 72
        if header.bitDepth == 16 {
            // Validated above; now read the full 16 bits with the low-level API.
            return try decodeSixteenBit(bytes, width: width, height: height, color: color, xDPI: xDPI, yDPI: yDPI)
        }
        let decoded = Image(width: width, height: height, format: color ? .rgb24 : .gray8, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
        if header.bitDepth == 1 && header.colorType == 0 { return decoded.thresholded(127) }
        return decoded
    }

    static func decodeSixteenBit(_ bytes: [UInt8], width: Int, height: Int, color: Bool, xDPI: Double, yDPI: Double) throws -> Image {
        let format: PixelFormat = color ? .rgb48 : .gray16
        let rowBytes = format.minimumStride(width: width)
        var message = sb_png_message()
        var status: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: rowBytes * height) { out, count in
            status = bytes.withUnsafeBufferPointer { input in
                sb_png_read_sixteen_bit(input.baseAddress, input.count, color ? 1 : 0, hostIsLittleEndian ? 1 : 0,
                                        out.baseAddress, rowBytes, UInt32(height), &message)
            }
            if status != 0 { out.initialize(repeating: 0) }
            count = out.count
        }
        guard status == 0 else { throw ImagingError.library("libpng decode", text(of: &message.text)) }
        return Image(width: width, height: height, format: format, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
    }

    /// The NUL-terminated text in a C character array field (libpng's messages).
    static func text<Field>(of field: inout Field) -> String {
        withUnsafeBytes(of: &field) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

let hostIsLittleEndian = 1.littleEndian == 1
