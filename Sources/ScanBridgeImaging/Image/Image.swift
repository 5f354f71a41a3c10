/// How the samples of an `Image` are laid out.
///
/// Rows run top to bottom, pixels left to right, channels interleaved (RGB). Conventions, chosen
/// to match SANE's frames so that scanned pages need no conversion:
/// - `bw1`: one bit per pixel, most significant bit first, **1 = black** (as SANE lineart, PBM
///   and TIFF/CCITT min-is-white); rows padded to whole bytes.
/// - `gray8`, `rgb24`: one byte per sample, 0 = black.
/// - `gray16`, `rgb48`: two bytes per sample in host byte order (SANE's 16-bit frames).
public enum PixelFormat: String, Sendable, Hashable, CaseIterable {
    case bw1
    case gray8
    case gray16
    case rgb24
    case rgb48

    public var channels: Int {
        switch self {
        case .bw1, .gray8, .gray16: 1
        case .rgb24, .rgb48: 3
        }
    }

    public var bitsPerSample: Int {
        switch self {
        case .bw1: 1
        case .gray8, .rgb24: 8
        case .gray16, .rgb48: 16
        }
    }

    public var bitsPerPixel: Int { channels * bitsPerSample }

    /// Bytes in one tightly packed row of `width` pixels.
    public func minimumStride(width: Int) -> Int { (width * bitsPerPixel + 7) / 8 }
}

/// A raster image in memory: what a device produces and what codecs and operations consume.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var format: PixelFormat
    /// Bytes from the start of one row to the next (≥ `format.minimumStride(width:)`).
    public var stride: Int
    public var xDPI: Double
    public var yDPI: Double
    public var pixels: [UInt8]

    /// An image over `pixels`; `stride` defaults to tightly packed rows.
    public init(width: Int, height: Int, format: PixelFormat, stride: Int? = nil,
                xDPI: Double = 72, yDPI: Double = 72, pixels: [UInt8]) {
        let rowBytes = stride ?? format.minimumStride(width: width)
        precondition(width >= 0 && height >= 0, "negative image size")
        precondition(rowBytes >= format.minimumStride(width: width), "stride shorter than a row")
        precondition(pixels.count >= rowBytes * height, "pixel buffer shorter than stride × height")
        self.width = width
        self.height = height
        self.format = format
        self.stride = rowBytes
        self.xDPI = xDPI
        self.yDPI = yDPI
        self.pixels = pixels
    }

    /// A blank (white) image.
    public init(width: Int, height: Int, format: PixelFormat, xDPI: Double = 72, yDPI: Double = 72) {
        let rowBytes = format.minimumStride(width: width)
        // White is all-ones except in bw1, where 0 is white.
        let white: UInt8 = format == .bw1 ? 0x00 : 0xFF
        self.init(width: width, height: height, format: format, stride: rowBytes, xDPI: xDPI, yDPI: yDPI,
                  pixels: [UInt8](repeating: white, count: rowBytes * height))
    }

    public var byteCount: Int { stride * height }
}
