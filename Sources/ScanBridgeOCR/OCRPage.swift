import Foundation

/// A rectangle in a page image's pixels: left and top inclusive, right and bottom exclusive,
/// y growing downwards (as Tesseract reports it).
public struct OCRBox: Sendable, Hashable, Codable {
    public var left: Int
    public var top: Int
    public var right: Int
    public var bottom: Int

    public init(left: Int, top: Int, right: Int, bottom: Int) {
        self.left = left; self.top = top; self.right = right; self.bottom = bottom
    }

    public var width: Int { right - left }
    public var height: Int { bottom - top }
}

/// One recognised word: its text, where its pixels are, and Tesseract's confidence (0…100).
public struct OCRWord: Sendable, Hashable, Codable {
    public var text: String
    public var box: OCRBox
    public var confidence: Double

    public init(text: String, box: OCRBox, confidence: Double) {
        self.text = text; self.box = box; self.confidence = confidence
    }
}

/// Two points of a text line's baseline, in image pixels, in reading direction.
public struct OCRBaseline: Sendable, Hashable, Codable {
    public var x1: Int, y1: Int, x2: Int, y2: Int

    public init(x1: Int, y1: Int, x2: Int, y2: Int) { self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2 }
}

/// One text line: its words in reading order and the direction its text runs in the image, in
/// quarter turns counter-clockwise from left-to-right (0: upright, 1: reads bottom to top, 2:
/// upside down, 3: reads top to bottom), taken from the line's baseline.
public struct OCRLine: Sendable, Hashable, Codable {
    public var box: OCRBox
    public var baseline: OCRBaseline?
    public var quarterTurns: Int
    /// Lines of one paragraph share this number; paragraphs are numbered in reading order.
    public var paragraph: Int
    public var words: [OCRWord]

    public init(box: OCRBox, baseline: OCRBaseline?, quarterTurns: Int, paragraph: Int, words: [OCRWord]) {
        self.box = box; self.baseline = baseline; self.quarterTurns = quarterTurns; self.paragraph = paragraph; self.words = words
    }
}

/// What recognition found on one page image: kept with the stored page and reused by every
/// later render (searchable PDF, plain text, hOCR).
public struct OCRPage: Sendable, Hashable, Codable {
    /// The image's size in pixels, which every box refers to.
    public var width: Int
    public var height: Int
    /// The Tesseract language (or `eng+deu` combination) the page was read in.
    public var language: String
    public var lines: [OCRLine]

    public init(width: Int, height: Int, language: String, lines: [OCRLine]) {
        self.width = width; self.height = height; self.language = language; self.lines = lines
    }

    public var words: [OCRWord] { lines.flatMap(\.words) }

    /// The page's text: words of a line separated by a space, lines by a newline, paragraphs
    /// by an empty line.
    public var text: String {
        var out = ""
        var previous: Int?
        for line in lines where !line.words.isEmpty {
            if let previous, previous != line.paragraph { out += "\n" }
            out += line.words.map(\.text).joined(separator: " ") + "\n"
            previous = line.paragraph
        }
        return out
    }

    /// The stored form of a result (JSON).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array(try encoder.encode(self))
    }

    public init(decoding bytes: [UInt8]) throws {
        self = try JSONDecoder().decode(OCRPage.self, from: Data(bytes))
    }
}
