import CTurboJPEG
import ScanBridgeCore

/// JPEG through TurboJPEG. Encodes `gray8` and `rgb24` directly (other formats are converted to
/// 8-bit first); decodes to `gray8` or `rgb24`, optionally DCT-scaled by 1/2, 1/4 or 1/8, which
/// skips most of the decoding work (thumbnails of big scans).
public enum JPEGCodec {
    public enum Subsampling: Sendable, Hashable {
        case s444, s422, s420
        /// A grayscale JPEG, also from colour input.
        case gray

        var turbo: Int32 {
            switch self {
            case .s444: Int32(TJSAMP_444.rawValue)
            case .s422: Int32(TJSAMP_422.rawValue)
            case .s420: Int32(TJSAMP_420.rawValue)
            case .gray: Int32(TJSAMP_GRAY.rawValue)
            }
        }
    }

    /// Encodes `image` at `quality` (1...100). Gray images always become grayscale JPEGs.
    /// The image's dpi is written into the JFIF header.
    public static func encode(_ image: Image, quality: Int = 85, subsampling: Subsampling = .s420) throws -> [UInt8] {
        try encode(image, quality: quality, subsampling: subsampling, output: nil)
    }

    /// `encode`, with TurboJPEG writing into `output` (grown when too small) instead of a buffer
    /// of its own: a caller that encodes page after page keeps that memory mapped.
    public static func encode(_ image: Image, quality: Int = 85, subsampling: Subsampling = .s420,
                              output reused: JPEGOutputBuffer?) throws -> [UInt8] {
        guard (1...100).contains(quality) else { throw ImagingError.invalid("JPEG quality \(quality) is outside 1...100") }
        guard image.width > 0, image.height > 0 else { throw ImagingError.invalid("cannot encode an empty image as JPEG") }
        let source: Image
        switch image.format {
        case .gray8, .rgb24: source = image
        case .bw1, .gray16: source = image.converted(to: .gray8)
        case .rgb48: source = image.converted(to: .rgb24)
        }
        let gray = source.format == .gray8
        guard let handle = tjInitCompress() else { throw ImagingError.library("TurboJPEG", "tjInitCompress returned nil") }
        defer { tjDestroy(handle) }
        // One worst-case buffer up front (malloc: untouched pages cost nothing) instead of
        // TurboJPEG growing its own by realloc.
        let sampling = gray ? Int32(TJSAMP_GRAY.rawValue) : subsampling.turbo
        let worstCase = tjBufSize(Int32(source.width), Int32(source.height), sampling)
        guard worstCase < UInt(Int32.max) else { throw ImagingError.invalid("image too large for a JPEG buffer") }
        let buffer = reused ?? JPEGOutputBuffer()
        guard buffer.reserve(Int(worstCase)) else { throw ImagingError.invalid("image too large for a JPEG buffer") }
        var output: UnsafeMutablePointer<UInt8>? = buffer.base
        var size = UInt(buffer.capacity)
        let status = source.pixels.withUnsafeBufferPointer { pixels in
            tjCompress2(handle, pixels.baseAddress, Int32(source.width), Int32(source.stride), Int32(source.height),
                        gray ? Int32(TJPF_GRAY.rawValue) : Int32(TJPF_RGB.rawValue), &output, &size,
                        sampling, Int32(quality), TJFLAG_NOREALLOC)
        }
        guard status == 0, let output else { throw ImagingError.library("TurboJPEG encode", String(cString: tjGetErrorStr2(handle))) }
        var bytes = buffer.copy(UnsafeBufferPointer(start: output, count: Int(size)))
        setJFIFDensity(&bytes, xDPI: image.xDPI, yDPI: image.yDPI)
        buffer.recycler?.track(bytes)
        return bytes
    }

    /// The scale denominators TurboJPEG decodes at without resampling.
    public static let scaleDenominators = [1, 2, 4, 8]

    /// Decodes `bytes`, scaled by 1/`scaleDenominator` (1, 2, 4 or 8) in the DCT domain.
    public static func decode(_ bytes: [UInt8], scaleDenominator: Int = 1) throws -> Image {
        guard scaleDenominators.contains(scaleDenominator) else { throw ImagingError.invalid("JPEG scale 1/\(scaleDenominator) is not one of 1, 1/2, 1/4, 1/8") }
        let info = try JPEGInfo(bytes)
        guard let handle = tjInitDecompress() else { throw ImagingError.library("TurboJPEG", "tjInitDecompress returned nil") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer { tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colorspace) }
        guard header == 0 else { throw ImagingError.library("TurboJPEG header", String(cString: tjGetErrorStr2(handle))) }
        try checkDecodable(Int(width), Int(height), "JPEG image")
        let scaledWidth = (Int(width) + scaleDenominator - 1) / scaleDenominator
        let scaledHeight = (Int(height) + scaleDenominator - 1) / scaleDenominator
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let gray = colorspace == Int32(TJCS_GRAY.rawValue)
        let pixelFormat = gray ? TJPF_GRAY : (cmyk ? TJPF_CMYK : TJPF_RGB)
        let channels = gray ? 1 : (cmyk ? 4 : 3)
        var status: Int32 = 0
        // Uninitialised storage: TurboJPEG writes every byte (no zero-fill pass).
        var pixels = [UInt8](unsafeUninitializedCapacity: scaledWidth * scaledHeight * channels) { out, count in
            status = bytes.withUnsafeBufferPointer { jpeg in
                tjDecompress2(handle, jpeg.baseAddress, UInt(jpeg.count), out.baseAddress, Int32(scaledWidth), Int32(scaledWidth * channels),
                              Int32(scaledHeight), Int32(pixelFormat.rawValue), 0)
            }
            if status != 0 { out.initialize(repeating: 0) }
            count = out.count
        }
        guard status == 0 else { throw ImagingError.library("TurboJPEG decode", String(cString: tjGetErrorStr2(handle))) }
        if cmyk { pixels = cmykToRGB(pixels, count: scaledWidth * scaledHeight) }
        let xDPI = (info.xDPI ?? 72) / Double(scaleDenominator), yDPI = (info.yDPI ?? 72) / Double(scaleDenominator)
        return Image(width: scaledWidth, height: scaledHeight, format: gray ? .gray8 : .rgb24, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
    }

    /// Decodes at the smallest DCT scale whose result is still at least `minimumWidth ×
    /// minimumHeight` (or the full size): the cheap first step of a thumbnail.
    public static func decode(_ bytes: [UInt8], atLeastWidth minimumWidth: Int, height minimumHeight: Int) throws -> Image {
        let info = try JPEGInfo(bytes)
        var chosen = 1
        for denominator in scaleDenominators
        where (info.width + denominator - 1) / denominator >= minimumWidth && (info.height + denominator - 1) / denominator >= minimumHeight {
            chosen = denominator
        }
        return try decode(bytes, scaleDenominator: chosen)
    }

    /// Adobe-style (inverted) CMYK to RGB.
    static func cmykToRGB(_ cmyk: [UInt8], count: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let k = UInt32(cmyk[4 * i + 3])
            for c in 0..<3 { rgb[3 * i + c] = UInt8(UInt32(cmyk[4 * i + c]) * k / 255) }
        }
        return rgb
    }

    /// Writes dots-per-inch into a JFIF APP0 header that TurboJPEG left at 1:1 aspect.
    static func setJFIFDensity(_ bytes: inout [UInt8], xDPI: Double, yDPI: Double) {
        guard bytes.count > 18, bytes[2] == 0xFF, bytes[3] == 0xE0, Array(bytes[6..<11]) == Array("JFIF\0".utf8),
              xDPI >= 1, yDPI >= 1, xDPI < 65536, yDPI < 65536 else { return }
        let x = UInt16(xDPI.rounded()), y = UInt16(yDPI.rounded())
        bytes[13] = 1
        bytes[14] = UInt8(x >> 8); bytes[15] = UInt8(x & 0xFF)
        bytes[16] = UInt8(y >> 8); bytes[17] = UInt8(y & 0xFF)
    }
}

/// Memory TurboJPEG encodes into, kept from one encode to the next by a caller that encodes many
/// pages (the scan pipeline), so that each page's JPEG is written into pages already mapped
/// instead of a fresh worst-case buffer the kernel zeroes page by page. Used by one encode at a
/// time; freed with the object.
public final class JPEGOutputBuffer: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<UInt8>?
    private(set) var capacity = 0
    /// Where the arrays the JPEGs are copied out into come from (and go back to once their
    /// pages are gone); nil: fresh arrays.
    let recycler: ByteArrayPool?

    /// Fresh arrays from a recycler get this much room beyond their JPEG, so that the next
    /// pages, whose JPEGs are rarely the same size, fit into them.
    static let recycledRoom = 1 << 20

    public init(recycling recycler: ByteArrayPool? = nil) {
        self.recycler = recycler
    }

    /// The encoded bytes as an array of their own: an array of an earlier page's that is free
    /// again when the recycler has one, else fresh memory.
    func copy(_ encoded: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        if var recycled = recycler?.take(capacityFor: encoded.count) {
            recycled.append(contentsOf: encoded)
            return recycled
        }
        let room = recycler == nil ? encoded.count : encoded.count + Self.recycledRoom
        var bytes = [UInt8](unsafeUninitializedCapacity: room) { copy, count in
            HugePages.advise(UnsafeMutableRawBufferPointer(copy))
            count = 0
        }
        bytes.append(contentsOf: encoded)
        return bytes
    }

    deinit { if let base { tjFree(base) } }

    /// Makes room for `bytes`; false when TurboJPEG cannot allocate them.
    func reserve(_ bytes: Int) -> Bool {
        if capacity >= bytes, base != nil { return true }
        if let base { tjFree(base) }
        base = tjAlloc(Int32(clamping: bytes))
        capacity = base == nil ? 0 : bytes
        return base != nil
    }
}
