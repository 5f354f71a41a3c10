import Foundation
@testable import ScanBridgeImaging

/// Deterministic pseudo-random numbers for generated test pages.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

/// Realistic scanned-page content: paper noise, lines of text-like glyphs, a rule, and a photo
/// with gradients and noise. Generated in RGB and converted to the requested format.
enum TestPage {
    static func make(width: Int = 620, height: Int = 877, format: PixelFormat = .rgb24, dpi: Double = 75,
                     seed: UInt64 = 1, skewDegrees: Double = 0) -> Image {
        var rng = SplitMix64(state: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        // Paper: near white with noise.
        for i in 0..<width * height {
            let v = UInt8(240 + rng.int(0..<16))
            pixels[3 * i] = v; pixels[3 * i + 1] = v; pixels[3 * i + 2] = UInt8(max(0, Int(v) - 6))
        }
        func put(_ x: Int, _ y: Int, _ r: UInt8, _ g: UInt8, _ b: UInt8) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let i = 3 * (y * width + x)
            pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b
        }
        let s = sin(skewDegrees * .pi / 180), c = cos(skewDegrees * .pi / 180)
        func putSkewed(_ x: Int, _ y: Int, _ v: UInt8) {
            // Rotate clockwise about the page centre.
            let dx = Double(x - width / 2), dy = Double(y - height / 2)
            put(Int((dx * c - dy * s).rounded()) + width / 2, Int((dx * s + dy * c).rounded()) + height / 2, v, v, v)
        }
        // Text: lines of glyph-sized blobs of strokes.
        let margin = width / 12, lineHeight = max(8, height / 45), glyph = max(3, lineHeight / 2)
        var y = margin
        while y < height * 6 / 10 {
            var x = margin
            let lineEnd = width - margin - rng.int(0..<(width / 5))
            while x < lineEnd {
                let wordLength = rng.int(2..<9)
                for _ in 0..<wordLength where x < lineEnd {
                    let ink = UInt8(rng.int(10..<70))
                    for _ in 0..<rng.int(2..<5) {
                        let x0 = x + rng.int(0..<glyph), y0 = y + rng.int(0..<glyph)
                        let vertical = rng.int(0..<2) == 0
                        for t in 0..<glyph { putSkewed(vertical ? x0 : x0 + t / 2, vertical ? y0 + t / 2 : y0, ink); putSkewed(vertical ? x0 + 1 : x0 + t / 2, vertical ? y0 + t / 2 : y0 + 1, ink) }
                    }
                    x += glyph + 2
                }
                x += glyph
            }
            y += lineHeight
        }
        // A rule under the text.
        for x in margin..<(width - margin) { putSkewed(x, y, 30); putSkewed(x, y + 1, 30) }
        // A photo: colour gradients with noise.
        let top = height * 65 / 100, bottom = height - margin
        for py in top..<bottom {
            for px in margin..<(width - margin) {
                let r = UInt8(truncatingIfNeeded: (px * 255 / width + rng.int(0..<24)) & 0xFF)
                let g = UInt8(truncatingIfNeeded: ((py - top) * 255 / max(1, bottom - top) + rng.int(0..<24)) & 0xFF)
                let b = UInt8(truncatingIfNeeded: ((px + py) % 200 + rng.int(0..<24)) & 0xFF)
                put(px, py, r, g, b)
            }
        }
        let rgb = Image(width: width, height: height, format: .rgb24, xDPI: dpi, yDPI: dpi, pixels: pixels)
        return format == .rgb24 ? rgb : rgb.converted(to: format)
    }

    /// A 16-bit page with detail in the low byte too (so that 16-bit paths are really tested).
    static func make16(format: PixelFormat, width: Int = 300, height: Int = 400, seed: UInt64 = 7) -> Image {
        var image = make(width: width, height: height, format: format == .rgb48 ? .rgb48 : .gray16, seed: seed)
        var rng = SplitMix64(state: seed)
        image.pixels.withUnsafeMutableBytes { raw in
            for i in 0..<raw.count / 2 {
                let v = raw.load(fromByteOffset: 2 * i, as: UInt16.self)
                raw.storeBytes(of: v ^ UInt16(rng.int(0..<256)), toByteOffset: 2 * i, as: UInt16.self)
            }
        }
        return image
    }
}

/// Runs a tool that nobody here wrote and returns its status and output.
@discardableResult
func runTool(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: Data, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output, errors)
}

/// A unique temporary folder for one test.
func temporaryFolder(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sb-imaging-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Reads a binary PNM (P4, P5, P6; 8 or 16 bit) as pdftoppm and tiffcp-free tools write it.
func readPNM(_ data: Data) throws -> Image {
    let bytes = [UInt8](data)
    var position = 0
    func token() -> String {
        while position < bytes.count, bytes[position] == 0x23 || [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) {
            if bytes[position] == 0x23 { while position < bytes.count, bytes[position] != 0x0A { position += 1 } } else { position += 1 }
        }
        let start = position
        while position < bytes.count, ![0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }
    let magic = token()
    guard let width = Int(token()), let height = Int(token()) else { throw ImagingError.invalid("bad PNM") }
    let maxValue = magic == "P4" ? 1 : Int(token()) ?? 255
    position += 1
    let body = Array(bytes[position...])
    switch (magic, maxValue) {
    case ("P4", _): return Image(width: width, height: height, format: .bw1, pixels: Array(body.prefix((width + 7) / 8 * height)))
    case ("P5", 255): return Image(width: width, height: height, format: .gray8, pixels: Array(body.prefix(width * height)))
    case ("P6", 255): return Image(width: width, height: height, format: .rgb24, pixels: Array(body.prefix(width * height * 3)))
    default: throw ImagingError.invalid("unsupported PNM \(magic) \(maxValue)")
    }
}

/// Peak signal-to-noise ratio of two 8-bit images of the same size and format.
func psnr(_ a: Image, _ b: Image) -> Double {
    let a = a.packed(), b = b.packed()
    precondition(a.pixels.count == b.pixels.count)
    var sum = 0.0
    for i in 0..<a.pixels.count { let d = Double(a.pixels[i]) - Double(b.pixels[i]); sum += d * d }
    let mse = sum / Double(a.pixels.count)
    return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
}

/// Mean absolute difference of two 8-bit images.
func meanAbsoluteDifference(_ a: Image, _ b: Image) -> Double {
    let a = a.packed(), b = b.packed()
    var sum = 0
    for i in 0..<a.pixels.count { sum += abs(Int(a.pixels[i]) - Int(b.pixels[i])) }
    return Double(sum) / Double(a.pixels.count)
}

/// Same pixels (ignoring stride padding and dpi).
func samePixels(_ a: Image, _ b: Image) -> Bool {
    a.width == b.width && a.height == b.height && a.format == b.format && a.packed().pixels == b.packed().pixels
}

extension Data { var bytes: [UInt8] { [UInt8](self) } }
