import ScanBridgeCore
import ScanBridgeImaging

/// V4L2 pixel formats ScanBridge understands, by FOURCC.
public enum CameraPixelFormat: String, Sendable, Codable, CaseIterable {
    case mjpeg = "MJPG"
    case jpeg = "JPEG"
    case yuyv = "YUYV"
    case rgb24 = "RGB3"
    case bgr24 = "BGR3"
    case grey = "GREY"

    /// The little-endian FOURCC code V4L2 uses (`v4l2_fourcc`).
    public var code: UInt32 { fourcc(rawValue) }

    public init?(code: UInt32) {
        guard let match = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }

    /// Preference when choosing a capture format for stills: JPEG passthrough first (no loss,
    /// no work), then the raw formats.
    public var preference: Int {
        switch self {
        case .mjpeg, .jpeg: 0
        case .rgb24: 1
        case .bgr24: 2
        case .yuyv: 3
        case .grey: 4
        }
    }
}

func fourcc(_ text: String) -> UInt32 {
    let bytes = Array(text.utf8) + [0x20, 0x20, 0x20, 0x20]
    return UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
}

func fourccText(_ code: UInt32) -> String {
    String(decoding: (0..<4).map { UInt8((code >> (8 * $0)) & 0xFF) }, as: UTF8.self)
}

/// Camera frames → page content. Pure functions, tested on frames the tests generate.
public enum FrameConversion {
    /// Converts one captured frame. MJPEG/JPEG pass through untouched; YUYV (BT.601, limited
    /// range, as V4L2 cameras deliver it), RGB24, BGR24 and GREY become an `Image`.
    public static func content(_ frame: [UInt8], format: CameraPixelFormat, width: Int, height: Int,
                               bytesPerLine: Int) throws -> ScannedPage.Content {
        let short = ScanBridgeError(code: DeviceErrorCode.generalFailure,
                                    message: "The camera frame is shorter than \(width)×\(height) \(format.rawValue)")
        switch format {
        case .mjpeg, .jpeg:
            guard frame.count >= 2, frame[0] == 0xFF, frame[1] == 0xD8 else {
                throw ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "The camera frame is not a JPEG image")
            }
            return .jpeg(data: frame, width: width, height: height)
        case .yuyv:
            let stride = max(bytesPerLine, width * 2)
            guard frame.count >= stride * (height - 1) + width * 2 else { throw short }
            return .raster(yuyvToRGB(frame, width: width, height: height, bytesPerLine: stride))
        case .rgb24, .bgr24:
            let stride = max(bytesPerLine, width * 3)
            guard frame.count >= stride * (height - 1) + width * 3 else { throw short }
            var pixels = [UInt8](repeating: 0, count: width * 3 * height)
            for y in 0..<height {
                for x in 0..<width {
                    let source = y * stride + x * 3, target = (y * width + x) * 3
                    if format == .rgb24 {
                        pixels[target] = frame[source]
                        pixels[target + 1] = frame[source + 1]
                        pixels[target + 2] = frame[source + 2]
                    } else {
                        pixels[target] = frame[source + 2]
                        pixels[target + 1] = frame[source + 1]
                        pixels[target + 2] = frame[source]
                    }
                }
            }
            return .raster(Image(width: width, height: height, format: .rgb24, pixels: pixels))
        case .grey:
            let stride = max(bytesPerLine, width)
            guard frame.count >= stride * (height - 1) + width else { throw short }
            var pixels = [UInt8](repeating: 0, count: width * height)
            for y in 0..<height {
                pixels.replaceSubrange(y * width..<(y + 1) * width, with: frame[(y * stride)..<(y * stride + width)])
            }
            return .raster(Image(width: width, height: height, format: .gray8, pixels: pixels))
        }
    }

    /// YUYV 4:2:2 (Y0 U Y1 V per pixel pair) → rgb24 with the BT.601 limited-range integer
    /// transform (ITU-R BT.601; the one `yuy2topam` and most capture software use).
    public static func yuyvToRGB(_ frame: [UInt8], width: Int, height: Int, bytesPerLine: Int) -> Image {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        @inline(__always) func clamp(_ value: Int) -> UInt8 { UInt8(max(0, min(255, value >> 8))) }
        frame.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let row = y * bytesPerLine
                    for x in 0..<width {
                        let pair = row + (x / 2) * 4
                        let c = 298 * (Int(source[pair + (x % 2) * 2]) - 16)
                        let d = Int(source[pair + 1]) - 128
                        let e = Int(source[pair + 3]) - 128
                        let out = (y * width + x) * 3
                        target[out] = clamp(c + 409 * e + 128)
                        target[out + 1] = clamp(c - 100 * d - 208 * e + 128)
                        target[out + 2] = clamp(c + 516 * d + 128)
                    }
                }
            }
        }
        return Image(width: width, height: height, format: .rgb24, pixels: pixels)
    }
}
