import Foundation

/// A PDF written incrementally: each page's objects go to the sink as soon as the page is
/// added, so memory holds one page and a table of object offsets, however long the document.
/// JPEG pages are embedded as they are (DCTDecode), other pages as Flate or CCITT G4. `finish()`
/// writes the page tree, catalog, Info, optional AES-256 Encrypt dictionary, xref and trailer.
///
/// Not thread-safe and blocking (it writes to its sink): use it from one thread off the
/// cooperative pool (the compute pool).
public final class PDFWriter {
    public struct Options: Sendable, Hashable {
        public var version: PDFVersion
        public var metadata: PDFMetadata
        public var pageSize: PDFPageSize
        public var encryption: PDFEncryption?
        /// zlib level (1...9) of Flate images.
        public var flateLevel: Int
        /// PDF/A-2b (`PDFA`): XMP identification and an sRGB output intent; no encryption.
        public var pdfA: Bool

        public init(version: PDFVersion = .v1_7, metadata: PDFMetadata = PDFMetadata(), pageSize: PDFPageSize = .fromResolution,
                    encryption: PDFEncryption? = nil, flateLevel: Int = 6, pdfA: Bool = false) {
            self.version = version; self.metadata = metadata; self.pageSize = pageSize
            self.encryption = encryption; self.flateLevel = flateLevel; self.pdfA = pdfA
        }
    }

    private let sink: ByteSink
    private let options: Options
    private let security: PDFSecurityHandler?
    private let documentID: [UInt8]
    private var offset = 0
    private var objectOffsets: [Int] = [0]
    private var pageIDs: [Int] = []
    private var finished = false
    /// The text layers' font, written with the first page that has one.
    var glyphlessFontID: Int?
    private let catalogID: Int, pagesID: Int, infoID: Int, encryptID: Int?
    private let headerVersion: PDFVersion

    public var pageCount: Int { pageIDs.count }
    /// Bytes written so far.
    public var bytesWritten: Int { offset }

    /// A writer into `sink`; the header is written at once.
    public init(sink: ByteSink, options: Options = Options()) throws {
        guard (1...9).contains(options.flateLevel) else { throw ImagingError.invalid("Flate level \(options.flateLevel) is outside 1...9") }
        guard !(options.pdfA && options.encryption != nil) else { throw ImagingError.invalid("PDF/A forbids encryption") }
        self.sink = sink
        self.options = options
        security = try options.encryption.map(PDFSecurityHandler.init)
        documentID = try Crypto.random(16)
        // AES-256 (R6) needs PDF 2.0, or 1.7 with Adobe extension level 8; PDF/A-2 is PDF 1.7 at most.
        headerVersion = options.encryption != nil && options.version != .v2_0 ? .v1_7
            : options.pdfA && options.version == .v2_0 ? .v1_7 : options.version
        catalogID = 1; pagesID = 2; infoID = 3
        objectOffsets += [0, 0, 0]
        if options.encryption != nil { encryptID = 4; objectOffsets.append(0) } else { encryptID = nil }
        try emit("%PDF-\(headerVersion.rawValue)\n")
        try emit([0x25, 0xE2, 0xE3, 0xCF, 0xD3, 0x0A])
    }

    /// A writer into a new file at `path`.
    public convenience init(path: String, options: Options = Options()) throws {
        try self.init(sink: try FileByteSink(path: path), options: options)
    }

    /// Adds a page showing a JPEG file's image, embedded without re-encoding. Its dpi comes from
    /// the JFIF header (72 when absent) unless given.
    public func addPage(jpeg bytes: [UInt8], xDPI: Double? = nil, yDPI: Double? = nil, pageSize: PDFPageSize? = nil) throws {
        try checkOpen()
        try addPage(try PDFPageImage(jpeg: bytes, xDPI: xDPI, yDPI: yDPI), pageSize: pageSize)
    }

    /// Adds a page showing `image`, stored as `compression` says.
    public func addPage(_ image: Image, compression: PDFImageCompression = .automatic, pageSize: PDFPageSize? = nil) throws {
        try checkOpen()
        try addPage(try PDFPageImage(image, compression: compression, flateLevel: options.flateLevel), pageSize: pageSize)
    }

    /// Adds a page showing an image already encoded for it: pages encoded in parallel, written in
    /// order. `textLayer` puts invisible text over the image (a searchable scan).
    public func addPage(_ image: PDFPageImage, pageSize: PDFPageSize? = nil, textLayer: PDFTextLayer? = nil) throws {
        try checkOpen()
        try addImagePage(width: image.width, height: image.height, xDPI: image.xDPI, yDPI: image.yDPI, pageSize: pageSize,
                         imageDictionary: image.dictionary, data: image.data, textLayer: textLayer)
    }

    /// Writes the document's closing objects and closes the sink. At least one page is needed.
    public func finish() throws {
        try checkOpen()
        guard !pageIDs.isEmpty else { throw ImagingError.invalid("a PDF needs at least one page") }
        finished = true
        try beginObject(pagesID)
        try emit("<< /Type /Pages /Count \(pageIDs.count) /Kids [")
        for (index, id) in pageIDs.enumerated() { try emit((index % 16 == 0 ? "\n" : " ") + "\(id) 0 R") }
        try emit(" ] >>\nendobj\n")
        let extensions = security != nil && headerVersion == .v1_7 ? " /Extensions << /ADBE << /BaseVersion /1.7 /ExtensionLevel 8 >> >>" : ""
        let archival = options.pdfA ? try writePDFAObjects(metadata: options.metadata) : ""
        try beginObject(catalogID)
        try emit("<< /Type /Catalog /Pages \(pagesID) 0 R\(extensions)\(archival) >>\nendobj\n")
        try beginObject(infoID)
        try emit("<<" + (try infoEntries()) + " >>\nendobj\n")
        if let security, let encryptID {
            try beginObject(encryptID)
            try emit(security.dictionary + "\nendobj\n")
        }
        let xref = offset
        var table = "xref\n0 \(objectOffsets.count)\n0000000000 65535 f \n"
        for id in 1..<objectOffsets.count { table += Self.xrefEntry(offset: objectOffsets[id]) }
        try emit(table)
        let idHex = hex(documentID)
        let encrypt = encryptID.map { " /Encrypt \($0) 0 R" } ?? ""
        try emit("trailer\n<< /Size \(objectOffsets.count) /Root \(catalogID) 0 R /Info \(infoID) 0 R /ID [<\(idHex)> <\(idHex)>]\(encrypt) >>\nstartxref\n\(xref)\n%%EOF\n")
        try sink.close()
    }

    // MARK: Pages

    private func addImagePage(width: Int, height: Int, xDPI: Double, yDPI: Double, pageSize: PDFPageSize?,
                              imageDictionary: String, data: [UInt8], textLayer: PDFTextLayer? = nil) throws {
        let dpiX = xDPI > 0 ? xDPI : 72, dpiY = yDPI > 0 ? yDPI : dpiX
        let imageWidth = Double(width) * 72 / dpiX, imageHeight = Double(height) * 72 / dpiY
        var pageWidth = imageWidth, pageHeight = imageHeight
        var drawWidth = imageWidth, drawHeight = imageHeight, x = 0.0, y = 0.0
        if case .paper(let paper) = pageSize ?? options.pageSize {
            let landscape = imageWidth > imageHeight
            pageWidth = landscape ? max(paper.width, paper.height) : min(paper.width, paper.height)
            pageHeight = landscape ? min(paper.width, paper.height) : max(paper.width, paper.height)
            let scale = min(1, pageWidth / imageWidth, pageHeight / imageHeight)
            drawWidth = imageWidth * scale; drawHeight = imageHeight * scale
            x = (pageWidth - drawWidth) / 2; y = (pageHeight - drawHeight) / 2
        }
        let pageID = allocate(), imageID = allocate(), contentID = allocate()
        try writeStream(imageID, dictionary: "/Type /XObject /Subtype /Image /Width \(width) /Height \(height) \(imageDictionary)", data: data)
        var content = "q\n\(number(drawWidth)) 0 0 \(number(drawHeight)) \(number(x)) \(number(y)) cm\n/Im0 Do\nQ\n"
        var fonts = ""
        if let textLayer, !textLayer.isEmpty {
            content += textLayer.contentOperators(x: x, y: y, drawWidth: drawWidth, drawHeight: drawHeight, font: "F0")
            fonts = " /Font << /F0 \(try glyphlessFont()) 0 R >>"
        }
        try writeStream(contentID, dictionary: "", data: Array(content.utf8))
        try beginObject(pageID)
        try emit("<< /Type /Page /Parent \(pagesID) 0 R /MediaBox [0 0 \(number(pageWidth)) \(number(pageHeight))] "
                 + "/Resources << /XObject << /Im0 \(imageID) 0 R >>\(fonts) >> /Contents \(contentID) 0 R >>\nendobj\n")
        pageIDs.append(pageID)
    }

    /// One in-use entry of the cross-reference table: a 10-digit byte offset, generation 0.
    /// (`String(format: "%010d")` takes a 32-bit argument: offsets past 2 GiB, which a 500-page
    /// colour document reaches, came out wrong and readers had to reconstruct the table.)
    static func xrefEntry(offset: Int) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits + " 00000 n \n"
    }

    // MARK: Objects

    private func checkOpen() throws { if finished { throw ImagingError.invalid("the PDF is already finished") } }

    func allocate() -> Int {
        objectOffsets.append(0)
        return objectOffsets.count - 1
    }

    func beginObject(_ id: Int) throws {
        objectOffsets[id] = offset
        try emit("\(id) 0 obj\n")
    }

    func writeStream(_ id: Int, dictionary: String, data: [UInt8]) throws {
        let body = try security?.encrypt(data) ?? data
        try beginObject(id)
        try emit("<< \(dictionary) /Length \(body.count) >>\nstream\n")
        try emit(body)
        try emit("\nendstream\nendobj\n")
    }

    func emit(_ text: String) throws { try emit(Array(text.utf8)) }

    private func emit(_ bytes: [UInt8]) throws {
        try sink.write(bytes)
        offset += bytes.count
    }

    private func infoEntries() throws -> String {
        let m = options.metadata
        var entries: [(String, String)] = []
        if let v = m.title { entries.append(("Title", v)) }
        if let v = m.author { entries.append(("Author", v)) }
        if let v = m.subject { entries.append(("Subject", v)) }
        if !m.keywords.isEmpty { entries.append(("Keywords", m.keywords.joined(separator: ", "))) }
        if let v = m.creator { entries.append(("Creator", v)) }
        if let v = m.producer { entries.append(("Producer", v)) }
        if let v = m.creationDate { entries.append(("CreationDate", pdfDate(v))) }
        if let v = m.modificationDate { entries.append(("ModDate", pdfDate(v))) }
        var out = ""
        for (key, value) in entries { out += " /\(key) <\(hex(try stringBytes(value)))>" }
        return out
    }

    /// A text string: PDFDocEncoding-compatible ASCII as it is, anything else UTF-16BE with BOM;
    /// encrypted when the document is.
    func stringBytes(_ text: String) throws -> [UInt8] {
        var bytes: [UInt8]
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            bytes = Array(text.utf8)
        } else {
            bytes = [0xFE, 0xFF]
            for unit in text.utf16 { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        }
        return try security?.encrypt(bytes) ?? bytes
    }

    private func pdfDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "D:%04d%02d%02d%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    private func number(_ value: Double) -> String { PDFNumber.format(value) }
}

/// A page's image encoded as a PDF image XObject (its stream data and the dictionary entries that
/// describe it). Making one is the expensive part of adding a page and touches no writer, so a
/// document's pages can be encoded on several threads and added to the `PDFWriter` in order.
public struct PDFPageImage: Sendable {
    public let width: Int
    public let height: Int
    public let xDPI: Double
    public let yDPI: Double
    let dictionary: String
    let data: [UInt8]

    /// A JPEG file's image, embedded as it is (DCTDecode). Its dpi comes from the JFIF header
    /// (72 when absent) unless given.
    public init(jpeg bytes: [UInt8], xDPI: Double? = nil, yDPI: Double? = nil) throws {
        let info = try JPEGInfo(bytes)
        guard info.bitsPerComponent == 8 else { throw ImagingError.invalid("PDF needs 8-bit JPEG, not \(info.bitsPerComponent)-bit") }
        var colour = switch info.components {
        case 1: "/ColorSpace /DeviceGray"
        case 3: "/ColorSpace /DeviceRGB"
        default: "/ColorSpace /DeviceCMYK"
        }
        if info.components == 4 && info.hasAdobeMarker { colour += " /Decode [1 0 1 0 1 0 1 0]" }
        let x = xDPI ?? info.xDPI ?? 72
        self.init(width: info.width, height: info.height, xDPI: x, yDPI: yDPI ?? info.yDPI ?? x,
                  dictionary: "\(colour) /BitsPerComponent 8 /Filter /DCTDecode", data: bytes)
    }

    /// A PNG file's image, embedded as it is: its IDAT stream becomes the image's FlateDecode
    /// data with the PNG predictors (no decode, no re-compression). Nil when the PNG has alpha,
    /// transparency, a palette or interlacing (decode it and add the `Image` instead); its dpi
    /// comes from pHYs (72 when absent) unless given.
    public init?(passingThrough png: [UInt8], xDPI: Double? = nil, yDPI: Double? = nil) throws {
        let stream = try PNGDatastream(png)
        guard stream.isPDFCompatible else { return nil }
        let colours = stream.colorType == 2 ? 3 : 1
        let x = xDPI ?? stream.xDPI ?? 72
        self.init(width: stream.width, height: stream.height, xDPI: x, yDPI: yDPI ?? stream.yDPI ?? x,
                  dictionary: "/ColorSpace /\(colours == 3 ? "DeviceRGB" : "DeviceGray") /BitsPerComponent \(stream.bitDepth) /Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors \(colours) /BitsPerComponent \(stream.bitDepth) /Columns \(stream.width) >>",
                  data: stream.imageData)
    }

    /// `image` stored as `compression` says (automatic: CCITT G4 for `bw1`, Flate otherwise).
    public init(_ image: Image, compression: PDFImageCompression = .automatic, flateLevel: Int = 6) throws {
        guard image.width > 0, image.height > 0 else { throw ImagingError.invalid("cannot add an empty image to a PDF") }
        let effective = compression == .automatic ? (image.format == .bw1 ? .ccittG4 : .flate) : compression
        switch effective {
        case .jpeg(let quality):
            try self.init(jpeg: try JPEGCodec.encode(image, quality: quality), xDPI: image.xDPI, yDPI: image.yDPI)
        case .ccittG4:
            guard image.format == .bw1 else { throw ImagingError.invalid("CCITT G4 needs a bw1 image, not \(image.format.rawValue)") }
            self.init(ccittG4: try TIFFCodec.ccittG4Data(image), width: image.width, height: image.height, xDPI: image.xDPI, yDPI: image.yDPI)
        case .jbig2:
            self.init(jbig2: try JBIG2GenericEncoder.encode(image), width: image.width, height: image.height, xDPI: image.xDPI, yDPI: image.yDPI)
        case .flate, .automatic:
            var rows = image.packed().pixels
            if image.isSixteenBit && hostIsLittleEndian {
                for i in Swift.stride(from: 0, to: rows.count - 1, by: 2) { rows.swapAt(i, i + 1) }   // PDF samples are big-endian
            }
            var dictionary = "/ColorSpace /\(image.format.channels == 3 ? "DeviceRGB" : "DeviceGray") /BitsPerComponent \(image.format.bitsPerSample) /Filter /FlateDecode"
            if image.format == .bw1 { dictionary += " /Decode [1 0]" }   // bw1: 1 = black
            self.init(width: image.width, height: image.height, xDPI: image.xDPI, yDPI: image.yDPI,
                      dictionary: dictionary, data: try Deflate.compress(rows, level: flateLevel))
        }
    }

    init(width: Int, height: Int, xDPI: Double, yDPI: Double, dictionary: String, data: [UInt8]) {
        self.width = width; self.height = height; self.xDPI = xDPI; self.yDPI = yDPI
        self.dictionary = dictionary; self.data = data
    }
}
