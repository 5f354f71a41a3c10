import Glibc
import ScanBridgeCore
import ScanBridgeImaging

/// One page (or camera frame) as it leaves a device: pixels, format, resolution, number, source.
public struct ScannedPage: Sendable {
    public enum Content: Sendable {
        /// Raw pixels in the shared `Image` layout (SANE frames arrive in it unchanged).
        case raster(Image)
        /// A JPEG frame passed through untouched (V4L2 MJPEG cameras).
        case jpeg(data: [UInt8], width: Int, height: Int)
    }

    public enum Origin: String, Sendable, Codable {
        case flatbed
        case feederFront
        case feederBack
        case camera
        case other
    }

    public var content: Content
    /// 1-based within the scan that produced it. For duplex feeders pages alternate front and
    /// back (1 front, 2 back, 3 front …), as SANE duplex backends deliver them.
    public var pageNumber: Int
    public var origin: Origin
    public var xDPI: Double
    public var yDPI: Double

    public init(content: Content, pageNumber: Int, origin: Origin, xDPI: Double, yDPI: Double) {
        self.content = content
        self.pageNumber = pageNumber
        self.origin = origin
        self.xDPI = xDPI
        self.yDPI = yDPI
    }

    /// The pixels when the page is raw (every scanner page).
    public var image: Image? {
        if case .raster(let image) = content { return image }
        return nil
    }

    public var width: Int {
        switch content {
        case .raster(let image): image.width
        case .jpeg(_, let width, _): width
        }
    }

    public var height: Int {
        switch content {
        case .raster(let image): image.height
        case .jpeg(_, _, let height): height
        }
    }

    /// Bytes held by the page (for buffer accounting).
    public var byteCount: Int {
        switch content {
        case .raster(let image): image.pixels.count
        case .jpeg(let data, _, _): data.count
        }
    }
}

/// Netpbm output for raw pages (until the imaging codecs exist): P4 for bw1, P5 for gray, P6 for
/// RGB, 16-bit samples big-endian as Netpbm requires. The header matches `scanimage`'s, so the
/// files of both compare byte for byte (except the padding bits at the end of PBM rows, which
/// SANE leaves undefined and this writer clears).
extension ScannedPage.Origin {
    /// Where page `page` (1-based) of a scan from a source of `sourceKind` comes from.
    public static func of(page: Int, sourceKind: ScanSource.Kind?, usesFeeder: Bool) -> Self {
        switch sourceKind {
        case .flatbed: .flatbed
        case .feeder: .feederFront
        case .feederBack: .feederBack
        case .feederDuplex: page % 2 == 1 ? .feederFront : .feederBack
        case .other, nil: usesFeeder ? .feederFront : .other
        }
    }
}

public enum PNMWriter {
    /// Writes `image` as a PNM file (blocking: call it off the cooperative pool). Rows that need
    /// no change are written straight from the image's pixels.
    public static func write(_ image: Image, toFile path: String) throws {
        let row = image.format.minimumStride(width: image.width)
        let direct = image.stride == row && image.format.bitsPerSample == 8
        let header = direct ? Self.header(for: image) : []
        let body = direct ? nil : data(for: image)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "Cannot create \(path)", cause: .errno(errno)) }
        defer { close(fd) }
        func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "Cannot write \(path)", cause: .errno(errno))
                }
                offset += written
            }
        }
        if let body {
            try body.withUnsafeBytes(writeAll)
        } else {
            try header.withUnsafeBytes(writeAll)
            try image.pixels.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<(row * image.height)])) }
        }
    }

    /// The PNM header for `image`, as scanimage writes it.
    public static func header(for image: Image) -> [UInt8] {
        let magic: String
        switch image.format {
        case .bw1: magic = "P4"
        case .gray8, .gray16: magic = "P5"
        case .rgb24, .rgb48: magic = "P6"
        }
        var header = "\(magic)\n# SANE data follows\n\(image.width) \(image.height)\n"
        switch image.format {
        case .bw1: break
        case .gray8, .rgb24: header += "255\n"
        case .gray16, .rgb48: header += "65535\n"
        }
        return Array(header.utf8)
    }

    public static func data(for image: Image) -> [UInt8] {
        let row = image.format.minimumStride(width: image.width)
        var output = header(for: image)
        output.reserveCapacity(output.count + row * image.height)
        let swap = image.format.bitsPerSample == 16 && UInt16(1).littleEndian == 1
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<image.height {
                let start = y * image.stride
                if swap {
                    var index = start
                    while index + 1 < start + row {
                        output.append(pixels[index + 1])
                        output.append(pixels[index])
                        index += 2
                    }
                } else {
                    output.append(contentsOf: pixels[start..<(start + row)])
                    if image.format == .bw1 && image.width % 8 != 0 {
                        output[output.count - 1] &= UInt8(truncatingIfNeeded: 0xFF << (8 - image.width % 8))
                    }
                }
            }
        }
        return output
    }
}
