import Foundation

/// The version written in the PDF header.
public enum PDFVersion: String, Sendable, Hashable, CaseIterable {
    case v1_4 = "1.4", v1_5 = "1.5", v1_6 = "1.6", v1_7 = "1.7", v2_0 = "2.0"
}

/// Document information (the Info dictionary).
public struct PDFMetadata: Sendable, Hashable {
    public var title: String?
    public var author: String?
    public var subject: String?
    public var keywords: [String]
    public var creator: String?
    public var producer: String?
    public var creationDate: Date?
    public var modificationDate: Date?

    public init(title: String? = nil, author: String? = nil, subject: String? = nil, keywords: [String] = [],
                creator: String? = nil, producer: String? = "ScanBridge", creationDate: Date? = Date(), modificationDate: Date? = nil) {
        self.title = title; self.author = author; self.subject = subject; self.keywords = keywords
        self.creator = creator; self.producer = producer; self.creationDate = creationDate; self.modificationDate = modificationDate
    }
}

/// A paper size in PostScript points (1/72 inch), portrait.
public struct PaperSize: Sendable, Hashable {
    public var name: String
    public var width: Double
    public var height: Double

    public init(name: String, width: Double, height: Double) { self.name = name; self.width = width; self.height = height }

    static func mm(_ name: String, _ w: Double, _ h: Double) -> PaperSize { PaperSize(name: name, width: w * 72 / 25.4, height: h * 72 / 25.4) }
    public static let a3 = mm("A3", 297, 420)
    public static let a4 = mm("A4", 210, 297)
    public static let a5 = mm("A5", 148, 210)
    public static let a6 = mm("A6", 105, 148)
    public static let b5 = mm("B5", 176, 250)
    public static let letter = PaperSize(name: "Letter", width: 612, height: 792)
    public static let legal = PaperSize(name: "Legal", width: 612, height: 1008)
    public static let all: [PaperSize] = [.a3, .a4, .a5, .a6, .b5, .letter, .legal]

    /// A4, Letter, … by name (case-insensitive).
    public static func named(_ name: String) -> PaperSize? { all.first { $0.name.lowercased() == name.lowercased() } }
}

/// How a page's size is chosen.
public enum PDFPageSize: Sendable, Hashable {
    /// The image at its own resolution (width / xDPI inches wide).
    case fromResolution
    /// A paper size, turned to the image's orientation; the image is centred at its own size,
    /// or shrunk to fit when larger.
    case paper(PaperSize)
}

/// How an `Image` page is stored in the PDF.
public enum PDFImageCompression: Sendable, Hashable {
    /// CCITT G4 for `bw1`, Flate for everything else (lossless).
    case automatic
    /// Lossless zlib.
    case flate
    /// JPEG (DCTDecode) at `quality`.
    case jpeg(quality: Int)
    /// CCITT Group 4 (`bw1` only).
    case ccittG4
    /// Lossless JBIG2 generic region (`bw1` only; `JBIG2GenericEncoder`).
    case jbig2
}
