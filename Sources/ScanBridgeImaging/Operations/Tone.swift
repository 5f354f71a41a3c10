/// Tone operations: brightness/contrast and invert.
extension Image {
    /// Brightness and contrast, each in -1...1 (0 leaves the image unchanged). Brightness shifts
    /// levels by that fraction of full scale; contrast scales around mid-gray by 1/(1-c) for
    /// c > 0 and by (1+c) for c < 0. Applied through a lookup table; `bw1` is returned unchanged.
    public func adjusted(brightness: Double = 0, contrast: Double = 0) -> Image {
        if format == .bw1 || (brightness == 0 && contrast == 0) { return self }
        let b = min(1, max(-1, brightness)), c = min(0.999, max(-1, contrast))
        let factor = c >= 0 ? 1 / (1 - c) : 1 + c
        func map(_ v: Double) -> Double { min(1, max(0, (v - 0.5) * factor + 0.5 + b)) }
        var result = packed()
        if isSixteenBit {
            var table = [UInt16](repeating: 0, count: 65536)
            for v in 0..<65536 { table[v] = UInt16((map(Double(v) / 65535) * 65535).rounded()) }
            result.pixels.withUnsafeMutableBytes { raw in
                for i in 0..<raw.count / 2 {
                    let v = raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    raw.storeBytes(of: table[Int(v)], toByteOffset: 2 * i, as: UInt16.self)
                }
            }
        } else {
            var table = [UInt8](repeating: 0, count: 256)
            for v in 0..<256 { table[v] = UInt8((map(Double(v) / 255) * 255).rounded()) }
            result.pixels.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] = table[Int(p[i])] }
            }
        }
        return result
    }

    /// Negative image (black ↔ white in every format).
    public func inverted() -> Image {
        var result = packed()
        result.pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = ~p[i] }
        }
        if format == .bw1 && width % 8 != 0 {
            // Keep row padding bits clear.
            let mask: UInt8 = 0xFF << UInt8(8 - width % 8)
            for y in 0..<height { result.pixels[y * result.stride + rowBytes - 1] &= mask }
        }
        return result
    }
}
