import CLibPNG

/// PNG through libpng: 1-bit (`bw1`), 8-bit and 16-bit gray and RGB, with the zlib level and
/// row filters chosen by the caller (fast levels for scans), and the dpi in a pHYs chunk.
///
/// libpng reports errors by calling an error callback and then `longjmp`ing to a `setjmp` in
/// the caller, which Swift cannot use safely (a longjmp across Swift frames skips releases and
/// defers). So no libpng error may ever unwind through Swift:
/// - **Decoding** (untrusted data) uses libpng's *simplified API* (`png_image_*`), which does its
///   own setjmp inside libpng and returns a status plus message. 1-bit and 8-bit files are read
///   with it directly. 16-bit files are first decoded by it at 8 bits — which validates the whole
///   datastream (chunk CRCs, zlib stream, filters) — and only then read once more with the
///   low-level API to keep all 16 bits (the simplified API would gamma-convert them).
/// - **Encoding** uses the low-level API (the simplified one cannot write 1-bit, zlib levels or
///   pHYs). Everything libpng would reject is validated in Swift first, and output goes to a
///   Swift buffer that cannot fail, so libpng's error callback is unreachable in practice; it
///   still never returns or longjmps: it stops the process with libpng's message (as an
///   allocation failure in Swift would).
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
        guard let created = png_create_write_struct(PNG_LIBPNG_VER_STRING, nil, pngTrap, pngIgnoreWarning) else {
            throw ImagingError.library("libpng", "png_create_write_struct returned nil")
        }
        var png: png_structp? = created
        var info = png_create_info_struct(created)
        defer { png_destroy_write_struct(&png, &info) }
        let output = PNGOutput()
        let unmanaged = Unmanaged.passRetained(output)
        defer { unmanaged.release() }
        png_set_write_fn(png, unmanaged.toOpaque(), pngWrite, nil)
        let colorType = image.format.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY
        png_set_IHDR(png, info, UInt32(image.width), UInt32(image.height), Int32(image.format.bitsPerSample), colorType,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT)
        png_set_compression_level(png, Int32(compressionLevel))
        png_set_filter(png, 0, image.format == .bw1 ? PNG_FILTER_NONE : filters.mask)
        if image.xDPI > 0, image.yDPI > 0 {
            png_set_pHYs(png, info, UInt32((image.xDPI / 0.0254).rounded()), UInt32((image.yDPI / 0.0254).rounded()), PNG_RESOLUTION_METER)
        }
        png_write_info(png, info)
        if image.format == .bw1 { png_set_invert_mono(png) }   // PNG gray 1-bit: 0 = black
        if image.isSixteenBit && hostIsLittleEndian { png_set_swap(png) }
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<image.height { png_write_row(png, pixels.baseAddress! + y * image.stride) }
        }
        png_write_end(png, info)
        return output.bytes
    }

    /// Decodes a PNG: 1-bit gray → `bw1`, other gray → `gray8`/`gray16`, colour, palette and
    /// alpha → `rgb24`/`rgb48` (alpha composited on white for 8-bit, dropped for 16-bit).
    public static func decode(_ bytes: [UInt8]) throws -> Image {
        let header = try PNGDatastream(bytes)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let begun = bytes.withUnsafeBufferPointer { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw ImagingError.library("libpng decode", imageMessage(&image)) }
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
        guard finished != 0 else { throw ImagingError.library("libpng decode", imageMessage(&image)) }
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
        guard let created = png_create_read_struct(PNG_LIBPNG_VER_STRING, nil, pngTrap, pngIgnoreWarning) else {
            throw ImagingError.library("libpng", "png_create_read_struct returned nil")
        }
        var png: png_structp? = created
        var info = png_create_info_struct(created)
        defer { png_destroy_read_struct(&png, &info, nil) }
        let input = PNGInput(bytes)
        let unmanaged = Unmanaged.passRetained(input)
        defer { unmanaged.release() }
        png_set_read_fn(png, unmanaged.toOpaque(), pngRead)
        png_read_info(png, info)
        png_set_strip_alpha(png)
        if color && Int32(png_get_color_type(png, info)) & PNG_COLOR_MASK_COLOR == 0 { png_set_gray_to_rgb(png) }
        if hostIsLittleEndian { png_set_swap(png) }
        png_read_update_info(png, info)
        let format: PixelFormat = color ? .rgb48 : .gray16
        let rowBytes = format.minimumStride(width: width)
        guard png_get_rowbytes(png, info) == rowBytes else { throw ImagingError.invalid("PNG 16-bit row layout not supported") }
        var pixels = [UInt8](repeating: 0, count: rowBytes * height)
        pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<height { png_read_row(png, out.baseAddress! + y * rowBytes, nil) }
        }
        return Image(width: width, height: height, format: format, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
    }

    static func imageMessage(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

let hostIsLittleEndian = 1.littleEndian == 1

final class PNGOutput { var bytes: [UInt8] = [] }

final class PNGInput {
    let bytes: [UInt8]
    var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let pngWrite: @convention(c) (png_structp?, png_bytep?, Int) -> Void = { png, data, length in
    guard let data, let pointer = png_get_io_ptr(png) else { return }
    let output = Unmanaged<PNGOutput>.fromOpaque(pointer).takeUnretainedValue()
    output.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
}

private let pngRead: @convention(c) (png_structp?, png_bytep?, Int) -> Void = { png, data, length in
    guard let data, let pointer = png_get_io_ptr(png) else { return }
    let input = Unmanaged<PNGInput>.fromOpaque(pointer).takeUnretainedValue()
    // The data was validated by the simplified API: short reads cannot happen; zero-fill if so.
    let available = min(length, input.bytes.count - input.position)
    input.bytes.withUnsafeBufferPointer { source in
        for i in 0..<available { data[i] = source[input.position + i] }
    }
    for i in available..<length { data[i] = 0 }
    input.position += available
}

/// libpng's error callback: must not return (libpng would longjmp) and must not longjmp through
/// Swift. Only reachable for allocation failure, given the validation described above.
private let pngTrap: @convention(c) (png_structp?, png_const_charp?) -> Void = { _, message in
    fatalError("libpng: \(message.map { String(cString: $0) } ?? "error")")
}

private let pngIgnoreWarning: @convention(c) (png_structp?, png_const_charp?) -> Void = { _, _ in }
