import Foundation

/// Invisible text over a page's image, word by word (a searchable scan): each word is drawn in
/// the glyphless font with text render mode 3 (neither filled nor stroked), sized and stretched
/// so that it covers the word's pixels, so search hits and selections land on the right words.
/// Positions are in the image's pixels (y down), as OCR reports them.
public struct PDFTextLayer: Sendable, Hashable {
    public struct Word: Sendable, Hashable {
        public var text: String
        /// The word's pixels: left, top (inclusive), right, bottom (exclusive).
        public var left: Double, top: Double, right: Double, bottom: Double

        public init(text: String, left: Double, top: Double, right: Double, bottom: Double) {
            self.text = text; self.left = left; self.top = top; self.right = right; self.bottom = bottom
        }
    }

    public struct Line: Sendable, Hashable {
        /// The direction the text runs, in quarter turns counter-clockwise from left-to-right.
        public var quarterTurns: Int
        /// Two points of the line's baseline (image pixels); nil: the words' boxes alone place it.
        public var baseline: (x1: Double, y1: Double, x2: Double, y2: Double)?
        public var words: [Word]

        public init(quarterTurns: Int, baseline: (x1: Double, y1: Double, x2: Double, y2: Double)?, words: [Word]) {
            self.quarterTurns = ((quarterTurns % 4) + 4) % 4; self.baseline = baseline; self.words = words
        }

        public static func == (a: Line, b: Line) -> Bool {
            a.quarterTurns == b.quarterTurns && a.words == b.words
                && a.baseline.map { [$0.x1, $0.y1, $0.x2, $0.y2] } == b.baseline.map { [$0.x1, $0.y1, $0.x2, $0.y2] }
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(quarterTurns); hasher.combine(words)
        }
    }

    /// The size of the image the positions refer to, in pixels.
    public var width: Int
    public var height: Int
    public var lines: [Line]

    public init(width: Int, height: Int, lines: [Line]) {
        self.width = width; self.height = height; self.lines = lines
    }

    public var isEmpty: Bool { lines.allSatisfy { $0.words.isEmpty } }

    /// The content-stream operators that draw the layer over an image placed at (`x`, `y`) with
    /// size `drawWidth` × `drawHeight` points, using font resource `font`.
    func contentOperators(x: Double, y: Double, drawWidth: Double, drawHeight: Double, font: String) -> String {
        guard width > 0, height > 0, !isEmpty else { return "" }
        let scaleX = drawWidth / Double(width), scaleY = drawHeight / Double(height)
        var out = "BT\n3 Tr\n"
        for line in lines where !line.words.isEmpty {
            let frame = TextFrame(quarterTurns: line.quarterTurns)
            let boxes = line.words.map { frame.extent(of: $0) }
            // One size for the whole line (the tallest word: ascenders to descenders), so a reader
            // sees one line of one size.
            let lineHeight = boxes.map { $0.tMax - $0.tMin }.max() ?? 0
            guard lineHeight > 0 else { continue }
            let baseline = line.baseline.map { frame.text($0.x1, $0.y1) }.flatMap { start in
                line.baseline.map { (start, frame.text($0.x2, $0.y2)) }
            }
            // Points per pixel along the text and across it.
            let (alongScale, acrossScale) = line.quarterTurns % 2 == 0 ? (scaleX, scaleY) : (scaleY, scaleX)
            let fontSize = lineHeight * acrossScale
            let (cosine, sine) = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][line.quarterTurns]
            for (word, box) in zip(line.words, boxes) {
                let units = Array(word.text.utf16)
                guard !units.isEmpty, box.sMax > box.sMin else { continue }
                let descentHeight = lineHeight * Double(GlyphlessFont.descent) / 1000
                var baselineT = box.tMin + descentHeight
                if let (start, end) = baseline, abs(end.s - start.s) > 1 {
                    let middle = (box.sMin + box.sMax) / 2
                    let t = start.t + (middle - start.s) * (end.t - start.t) / (end.s - start.s)
                    // Trust Tesseract's baseline only where it lies within the word's own box.
                    if t >= box.tMin - 1, t <= box.tMax { baselineT = t }
                }
                let (pixelX, pixelY) = frame.image(box.sMin, baselineT)
                let originX = x + pixelX * scaleX, originY = y + (Double(height) - pixelY) * scaleY
                let widthPoints = (box.sMax - box.sMin) * alongScale
                let natural = Double(units.count) * Double(GlyphlessFont.advance) / 1000 * fontSize
                let stretch = 100 * widthPoints / natural
                out += "/\(font) \(PDFNumber.format(fontSize)) Tf \(PDFNumber.format(stretch)) Tz "
                out += "\(PDFNumber.format(cosine)) \(PDFNumber.format(sine)) \(PDFNumber.format(-sine)) \(PDFNumber.format(cosine)) "
                out += "\(PDFNumber.format(originX)) \(PDFNumber.format(originY)) Tm <"
                out += hex(units.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }) + "> Tj\n"
            }
        }
        return out + "ET\n"
    }
}

/// Coordinates along a line's text (s, growing in reading direction) and across it (t, growing
/// towards the top of the letters), for text turned by `quarterTurns`, from image pixels (y down).
private struct TextFrame {
    let quarterTurns: Int

    func text(_ x: Double, _ y: Double) -> (s: Double, t: Double) {
        switch quarterTurns {
        case 1: (-y, -x)
        case 2: (-x, y)
        case 3: (y, x)
        default: (x, -y)
        }
    }

    func image(_ s: Double, _ t: Double) -> (x: Double, y: Double) {
        switch quarterTurns {
        case 1: (-t, -s)
        case 2: (-s, t)
        case 3: (t, s)
        default: (s, -t)
        }
    }

    func extent(of word: PDFTextLayer.Word) -> (sMin: Double, sMax: Double, tMin: Double, tMax: Double) {
        let a = text(word.left, word.top), b = text(word.right, word.bottom)
        return (min(a.s, b.s), max(a.s, b.s), min(a.t, b.t), max(a.t, b.t))
    }
}

/// Numbers as content streams want them.
enum PDFNumber {
    /// Up to 4 decimals, no trailing zeros, never "-0".
    static func format(_ value: Double) -> String {
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}
