import Foundation

/// Page analysis: blank-page detection and skew estimation.
public struct BlankPageAnalysis: Sendable, Equatable {
    /// Fraction of the inspected area covered by ink (dark pixels with a dark neighbour).
    public var inkFraction: Double
    public var isBlank: Bool
}

extension Image {
    /// Decides whether the page is blank. Ignores a `margin` (fraction of each side, where
    /// scanner edges and shadows live), counts pixels darker than `darkLevel` that have a dark
    /// right or lower neighbour (isolated noise specks don't count), and calls the page blank
    /// when they cover less than `maxInkFraction` of the inspected area.
    public func blankPageAnalysis(maxInkFraction: Double = 0.0005, darkLevel: UInt8 = 160, margin: Double = 0.03) -> BlankPageAnalysis {
        let mx = Int(Double(width) * margin), my = Int(Double(height) * margin)
        let inner = cropped(to: PixelRect(x: mx, y: my, width: width - 2 * mx, height: height - 2 * my)).converted(to: .gray8, threshold: nil)
        guard inner.width > 1, inner.height > 1 else { return BlankPageAnalysis(inkFraction: 0, isBlank: true) }
        var ink = 0
        inner.pixels.withUnsafeBufferPointer { p in
            for y in 0..<inner.height - 1 {
                let row = y * inner.stride, next = row + inner.stride
                for x in 0..<inner.width - 1 where p[row + x] < darkLevel {
                    if p[row + x + 1] < darkLevel || p[next + x] < darkLevel { ink += 1 }
                }
            }
        }
        let fraction = Double(ink) / Double(inner.width * inner.height)
        return BlankPageAnalysis(inkFraction: fraction, isBlank: fraction < maxInkFraction)
    }

    /// True when `blankPageAnalysis()` finds the page blank.
    public var isBlankPage: Bool { blankPageAnalysis().isBlank }

    /// Estimated skew of text lines in degrees, clockwise positive, within ±`maxAngle`;
    /// straighten with `rotated(degrees: -angle)`. Projection-profile method: dark pixels are
    /// projected along candidate angles and the angle whose row profile is the most peaked
    /// (largest sum of squared bin counts) wins; coarse 0.5° steps, then 0.05° refinement.
    public func estimatedSkewAngle(maxAngle: Double = 10) -> Double {
        // Work on at most ~1000 px wide: speed, and skew does not depend on resolution.
        let reduced = width > 1000 ? fitted(maxWidth: 1000, maxHeight: 1000 * height / max(1, width) + 1) : self
        let gray = reduced.converted(to: .gray8)
        let threshold = min(gray.otsuThreshold(), 160)
        var points: [(Double, Double)] = []
        gray.pixels.withUnsafeBufferPointer { p in
            for y in 0..<gray.height {
                for x in 0..<gray.width where p[y * gray.stride + x] <= threshold { points.append((Double(x), Double(y))) }
            }
        }
        guard points.count > 10 else { return 0 }
        if points.count > 40000 {
            let step = points.count / 40000 + 1
            points = Swift.stride(from: 0, to: points.count, by: step).map { points[$0] }
        }
        let diagonal = Int((Double(gray.width * gray.width + gray.height * gray.height)).squareRoot()) + 2
        var bins = [Int](repeating: 0, count: 2 * diagonal + 1)
        func score(_ degrees: Double) -> Double {
            let r = degrees * .pi / 180, c = cos(r), s = sin(r)
            for i in 0..<bins.count { bins[i] = 0 }
            for (x, y) in points {
                let projected = Int((y * c - x * s).rounded()) + diagonal
                bins[projected] += 1
            }
            var sum = 0.0
            for count in bins where count > 0 { sum += Double(count * count) }
            return sum
        }
        var best = 0.0, bestScore = -1.0
        for angle in Swift.stride(from: -maxAngle, through: maxAngle, by: 0.5) {
            let value = score(angle)
            if value > bestScore { bestScore = value; best = angle }
        }
        let coarse = best
        for angle in Swift.stride(from: coarse - 0.5, through: coarse + 0.5, by: 0.05) {
            let value = score(angle)
            if value > bestScore { bestScore = value; best = angle }
        }
        return (best * 100).rounded() / 100
    }

    /// The page straightened: its skew (`estimatedSkewAngle`) and the page rotated back by it,
    /// at its own size (white where no page was). A page with no measurable skew comes back as it is.
    public func deskewed(maxAngle: Double = 10) -> (angle: Double, image: Image) {
        let angle = estimatedSkewAngle(maxAngle: maxAngle)
        return (angle, angle == 0 ? self : rotated(degrees: -angle, expand: false))
    }
}
