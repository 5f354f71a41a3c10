/// Small helpers over an `Image`'s layout, shared by operations and codecs.
extension Image {
    /// Bytes of pixel data in one row (without stride padding).
    public var rowBytes: Int { format.minimumStride(width: width) }

    /// A copy whose rows are tightly packed (`stride == rowBytes`).
    public func packed() -> Image {
        if stride == rowBytes && pixels.count == rowBytes * height { return self }
        var out = [UInt8](repeating: 0, count: rowBytes * height)
        for y in 0..<height {
            out.replaceSubrange(y * rowBytes..<(y + 1) * rowBytes, with: pixels[y * stride..<y * stride + rowBytes])
        }
        return Image(width: width, height: height, format: format, xDPI: xDPI, yDPI: yDPI, pixels: out)
    }

    /// Bytes per pixel for byte-aligned formats (nil for `bw1`).
    var bytesPerPixel: Int? { format == .bw1 ? nil : format.bitsPerPixel / 8 }

    /// The same geometry and resolution with new pixels (tightly packed).
    func with(width: Int, height: Int, format: PixelFormat, pixels: [UInt8]) -> Image {
        Image(width: width, height: height, format: format, xDPI: xDPI, yDPI: yDPI, pixels: pixels)
    }

    /// True for 16-bit formats.
    var isSixteenBit: Bool { format.bitsPerSample == 16 }
}
