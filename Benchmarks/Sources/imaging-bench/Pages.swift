// Realistic A4 pages for imaging-bench: text-like detail, paper noise and a photo.
import ScanBridgeImaging

struct Random {
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

func makePage(dpi: Int = 300, seed: UInt64 = 1) -> Image {
    // A4 rounded to whole pixels (2480 × 3508 at 300 dpi), as scanners and the docs count it.
    let width = (210 * dpi * 10 + 127) / 254, height = (297 * dpi * 10 + 127) / 254
    var rng = Random(state: seed)
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    pixels.withUnsafeMutableBufferPointer { p in
        for i in 0..<width * height {
            let v = UInt8(240 + Int(rng.next() & 15))
            p[3 * i] = v; p[3 * i + 1] = v; p[3 * i + 2] = v &- 6
        }
        let margin = width / 12, lineHeight = height / 60, glyph = lineHeight / 2
        var y = margin
        while y < height * 6 / 10 {
            var x = margin
            while x < width - margin - rng.int(0..<(width / 5)) {
                for _ in 0..<rng.int(2..<5) {
                    let x0 = x + rng.int(0..<glyph), y0 = y + rng.int(0..<glyph), ink = UInt8(rng.int(10..<70))
                    let vertical = rng.int(0..<2) == 0
                    for t in 0..<glyph {
                        for w in 0..<3 {
                            let px = vertical ? x0 + w : x0 + t / 2, py = vertical ? y0 + t / 2 : y0 + w
                            if px < width && py < height { let i = 3 * (py * width + px); p[i] = ink; p[i + 1] = ink; p[i + 2] = ink }
                        }
                    }
                }
                x += glyph + 3
                if rng.int(0..<7) == 0 { x += glyph }
            }
            y += lineHeight
        }
        for py in height * 65 / 100..<(height - margin) {
            for px in margin..<(width - margin) {
                let i = 3 * (py * width + px)
                p[i] = UInt8(truncatingIfNeeded: px * 255 / width + rng.int(0..<24))
                p[i + 1] = UInt8(truncatingIfNeeded: py * 255 / height + rng.int(0..<24))
                p[i + 2] = UInt8(truncatingIfNeeded: (px + py) % 200 + rng.int(0..<24))
            }
        }
    }
    return Image(width: width, height: height, format: .rgb24, xDPI: Double(dpi), yDPI: Double(dpi), pixels: pixels)
}

func megapixels(_ image: Image) -> Double { Double(image.width * image.height) / 1e6 }
