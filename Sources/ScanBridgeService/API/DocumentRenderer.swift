import Foundation
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeOCR
import ScanBridgeStorage

/// Renders a stored document as a `DocumentRequest` asks, into an HTTP response or a file (for
/// an upload, which stages the file by renaming it). All codec work runs on the compute pool.
///
/// A PDF goes out as it is written, page by page: to a response body chunked, so the first
/// bytes leave with the first page and memory holds one page however long the document; to a
/// file the same way. Anything wrong with the request, the document or its first page is still
/// a plain error response (nothing is sent until page 1 is in the PDF); a page that cannot be
/// read later ends the body early. TIFF, JPEG and PNG are made in memory.
struct DocumentRenderer: Sendable {
    let source: RenderSource
    private(set) var request: DocumentRequest
    /// Where OCR progress is published (`ocr` events); nil: nowhere.
    var events: (hub: EventHub, origin: String?)?

    init(source: RenderSource, request: DocumentRequest, events: (hub: EventHub, origin: String?)? = nil) {
        self.source = source
        self.request = request
        self.events = events
    }

    /// A stored document (`password`: the document's, if it has one).
    init(documents: DocumentStore, uid: String, password: String?, request: DocumentRequest,
         events: (hub: EventHub, origin: String?)? = nil) {
        self.init(source: .document(documents, uid: uid, password: password), request: request, events: events)
    }

    /// This renderer with the request completed by the document's options.
    private func defaulted(by options: DocumentOptions) throws -> DocumentRenderer {
        var renderer = self
        renderer.request = try request.followingDocument(options)
        return renderer
    }

    /// Reads the pages' text in the request's OCR language; nil when it names none.
    private var recognition: PageRecognition? {
        guard let language = request.ocrLanguage else { return nil }
        let progress = events.map { OCRProgress(events: $0.hub, origin: $0.origin, source: source.name, language: language) }
        return PageRecognition(source: source, language: language, progress: progress)
    }

    /// The response for `GET …/content`.
    func response() async throws -> Response {
        let (references, defaults, options) = try await pageReferences()
        guard request.followsDocument(options) else { return try await defaulted(by: options).response() }
        if let text = request.textOutput {
            return .binary(try await recognisedText(references, as: text), contentType: text.mimeType)
        }
        let contentType = request.format.mimeType
        guard request.format == .pdf else {
            return .binary(try await bytes(of: references), contentType: contentType)
        }
        let compression = try pdfCompression(documentDefault: defaults)
        let (writer, header) = try await AsyncPDFWriter.pieces(options: pdfOptions(defaults))
        return .stream(headerFields: [.contentType: contentType], length: nil) { body in
            // The header waits for page 1, so that a first page that fails is still an error response.
            var unsent = header
            try await writePDF(references, compression: compression, into: writer) { pieces in
                unsent += pieces
                for piece in unsent { try await body.write(piece) }
                unsent = []
            }
        }
    }

    /// The whole document in memory (for what must never be written to disk in clear).
    func data() async throws -> Data {
        let (references, defaults, options) = try await pageReferences()
        guard request.followsDocument(options) else { return try await defaulted(by: options).data() }
        if let text = request.textOutput { return Data(try await recognisedText(references, as: text)) }
        guard request.format == .pdf else { return Data(try await bytes(of: references)) }
        let compression = try pdfCompression(documentDefault: defaults)
        let (writer, header) = try await AsyncPDFWriter.pieces(options: pdfOptions(defaults))
        var data = Data(header.joined())
        try await writePDF(references, compression: compression, into: writer) { pieces in
            for piece in pieces { data.append(contentsOf: piece) }
        }
        return data
    }

    /// Writes the document to a new file at `path` (removed again when rendering fails).
    func write(toFile path: String) async throws {
        let (references, defaults, options) = try await pageReferences()
        guard request.followsDocument(options) else { return try await defaulted(by: options).write(toFile: path) }
        do {
            if request.format == .pdf {
                let compression = try pdfCompression(documentDefault: defaults)
                try await writePDF(references, compression: compression,
                                   into: try await AsyncPDFWriter.file(path: path, options: pdfOptions(defaults))) { _ in }
            } else {
                let bytes = try await bytes(of: references)
                try await PageRendering.pool.run { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
            }
        } catch {
            unlink(path)
            throw error
        }
    }

    /// The pages the request names (all of them by default; the first for JPEG and PNG), and
    /// the source's metadata, which PDF Info fields the request leaves out default to.
    func pageReferences() async throws -> (pages: [PageReference], metadata: DocumentMetadata, options: DocumentOptions) {
        let contents = try await source.contents()
        let references: [PageReference]
        if let pages = request.pages {
            references = pages
        } else if request.format == .jpeg || request.format == .png {
            references = contents.pageUIDs.isEmpty ? [] : [.index(0)]
        } else {
            references = contents.pageUIDs.map { .uid($0) }
        }
        guard !references.isEmpty else { throw DWTErrors.invalidParameter("\(source.name) has no pages to output") }
        return (references, contents.metadata, contents.options)
    }

    // MARK: - Recognised text

    /// The pages' text (pages separated by a form feed) or their hOCR, read a page per OCR thread
    /// at a time.
    private func recognisedText(_ references: [PageReference], as format: RecognisedTextFormat) async throws -> [UInt8] {
        guard let recognition else { throw DWTErrors.invalidParameter("\(format.mimeType) needs an OCR language in ocr") }
        let stream = AsyncStream<PageReference> { continuation in
            for reference in references { continuation.yield(reference) }
            continuation.finish()
        }
        var pages: [OCRPage] = []
        for try await page in stream.orderedConcurrentMap(limit: OCRPool.shared.threadCount, { try await recognition.recognise($0) }) {
            pages.append(page)
        }
        switch format {
        case .plain:
            return Array(pages.map(\.text).joined(separator: "\u{0C}").utf8)
        case .hocr:
            let names = references.enumerated().map { index, reference in
                switch reference {
                case .uid(let uid): "\(source.name) page \(uid)"
                case .index(let number): "\(source.name) page \(number)"
                }
            }
            return Array(HOCRDocument.render(pages, imageNames: names).utf8)
        }
    }

    // MARK: - In memory: TIFF, JPEG, PNG

    private func bytes(of references: [PageReference]) async throws -> [UInt8] {
        switch request.format {
        case .jpeg, .png:
            guard references.count == 1 else {
                throw DWTErrors.invalidParameter("\(request.format.mimeType) holds one page; name one in pages")
            }
            let page = try await source.read(references[0])
            return try await PageRendering.encode(page, as: request.format, quality: request.quality)
        default:
            return try await tiff(references)
        }
    }

    private func tiff(_ references: [PageReference]) async throws -> [UInt8] {
        var images: [Image] = []
        // TIFF's compression is per file here; auto picks G4 when every page is black and white.
        for reference in references {
            let page = try await source.read(reference)
            images.append(try await PageRendering.image(of: page))
        }
        let compression = try tiffCompression(allBlackAndWhite: images.allSatisfy { $0.format == .bw1 })
        let pages = images
        return try await PageRendering.pool.run { () throws -> [UInt8] in
            let writer = try TIFFWriter(compression: compression.tiff)
            for image in pages { try writer.add(compression.prepare(image)) }
            return try writer.finish()
        }
    }

    // MARK: - PDF

    private func pdfOptions(_ defaults: DocumentMetadata) -> PDFWriter.Options {
        let pageSize: PDFPageSize = request.pageType.flatMap(PaperSize.named).map(PDFPageSize.paper) ?? .fromResolution
        return PDFWriter.Options(version: request.version, metadata: request.pdfMetadata(defaults: defaults), pageSize: pageSize,
                                 encryption: request.outputPassword.map { PDFEncryption(userPassword: $0) }, pdfA: request.pdfA)
    }

    /// Pages are read and prepared a page per core at a time and written in order; `pass` gets
    /// what the writer produced after each page and at the end.
    private func writePDF(_ references: [PageReference], compression: PDFChoice, into writer: AsyncPDFWriter,
                          pass: ([[UInt8]]) async throws -> Void) async throws {
        let pages = AsyncStream<PageReference> { continuation in
            for reference in references { continuation.yield(reference) }
            continuation.finish()
        }
        let flateLevel = pdfOptions(DocumentMetadata()).flateLevel
        let recognition = recognition
        // With OCR, as many pages are in flight as the OCR pool reads at once.
        let limit = recognition == nil ? PageRendering.pool.threadCount : max(PageRendering.pool.threadCount, OCRPool.shared.threadCount)
        let images = pages.orderedConcurrentMap(limit: limit) { [source] reference in
            let page = try await source.read(reference)
            async let image = PageRendering.pool.run { try Self.pdfImage(of: page, compression: compression, flateLevel: flateLevel) }
            let text = try await recognition?.recognise(reference, page: page)
            return (try await image, text?.textLayer)
        }
        for try await (image, textLayer) in images {
            try await pass(try await writer.addPage(image, textLayer: textLayer))
        }
        try await pass(try await writer.finish())
    }

    private static func pdfImage(of page: Page, compression: PDFChoice, flateLevel: Int) throws -> PDFPageImage {
        if let (format, bytes) = page.content.encodedImage, format == .jpeg, compression.passesJPEGThrough {
            return try PDFPageImage(jpeg: bytes, xDPI: page.info.xDPI, yDPI: page.info.yDPI)
        }
        if let (format, bytes) = page.content.encodedImage, format == .png, compression.passesPNGThrough,
           page.info.format != .bw1 || compression.passesBlackAndWhitePNGThrough,
           let image = try PDFPageImage(passingThrough: bytes, xDPI: page.info.xDPI, yDPI: page.info.yDPI) {
            return image
        }
        if let (format, bytes) = page.content.encodedImage, format == .tiff, compression.passesG4Through,
           let strip = try TIFFCodec.ccittG4Strip(bytes) {
            return PDFPageImage(ccittG4: strip.data, width: strip.width, height: strip.height, inverted: strip.inverted,
                                xDPI: page.info.xDPI, yDPI: page.info.yDPI)
        }
        let image: Image = switch page.content {
        case .raw(let image): image
        case .encoded(_, let bytes): try ImageDecoder.decode(bytes)
        }
        return try PDFPageImage(compression.prepare(image), compression: compression.pdf, flateLevel: flateLevel)
    }

    struct PDFChoice: Sendable {
        var pdf: PDFImageCompression
        /// Stored JPEG pages are embedded as they are (auto: no second lossy encode).
        var passesJPEGThrough: Bool
        /// Stored PNG pages (gray or RGB, no alpha) are embedded as they are: their zlib stream is
        /// already the lossless Flate data PDF wants, so auto and Flate copy it (as img2pdf does)
        /// instead of decoding and compressing again.
        var passesPNGThrough: Bool
        /// Black-and-white PNG pages too (Flate only: auto makes them CCITT G4, a third of the size).
        var passesBlackAndWhitePNGThrough = false
        /// Pages kept as a CCITT G4 TIFF (imported from a PDF's fax image) are embedded as they are.
        var passesG4Through = false
        var toBlackAndWhite: Bool

        func prepare(_ image: Image) -> Image { toBlackAndWhite && image.format != .bw1 ? image.thresholded() : image }
    }

    /// DWT's PDF compression codes: 0 auto (JPEG pages as they are, BW pages CCITT G4, others
    /// Flate), 2 CCITT G4, 3 LZW (lossless: Flate here), 5 JPEG, 7 JBIG2 (lossless, our own
    /// generic-region encoder); 6 JPEG2000 is not offered and refused clearly. A request without
    /// one takes the document's default (`PATCH` `compression`), else automatic.
    func pdfCompression(documentDefault: DocumentMetadata = DocumentMetadata()) throws(ScanBridgeError) -> PDFChoice {
        try Self.pdfChoice(code: request.compression ?? documentDefault.compression.flatMap { Int($0) } ?? 0, quality: request.quality)
    }

    /// The choice a PDF compression code stands for (JPEG at `quality`).
    static func pdfChoice(code: Int, quality: Int) throws(ScanBridgeError) -> PDFChoice {
        switch code {
        case 0: PDFChoice(pdf: .automatic, passesJPEGThrough: true, passesPNGThrough: true, passesG4Through: true, toBlackAndWhite: false)
        case 2: PDFChoice(pdf: .ccittG4, passesJPEGThrough: false, passesPNGThrough: false, passesG4Through: true, toBlackAndWhite: true)
        case 3: PDFChoice(pdf: .flate, passesJPEGThrough: false, passesPNGThrough: true, passesBlackAndWhitePNGThrough: true, toBlackAndWhite: false)
        case 5: PDFChoice(pdf: .jpeg(quality: quality), passesJPEGThrough: false, passesPNGThrough: false, toBlackAndWhite: false)
        case 7: PDFChoice(pdf: .jbig2, passesJPEGThrough: false, passesPNGThrough: false, toBlackAndWhite: true)
        case 6: throw DWTErrors.invalidParameter("PDF compression 6 (JPEG2000) is not supported; use 0, 2, 3, 5 or 7")
        default: throw DWTErrors.invalidParameter("PDF compression must be 0, 2, 3, 5 or 7; got \(code)")
        }
    }

    // MARK: - TIFF

    struct TIFFChoice: Sendable {
        var tiff: TIFFCompression
        var toBlackAndWhite: Bool
        var toEightBit: Bool

        func prepare(_ image: Image) -> Image {
            if toBlackAndWhite, image.format != .bw1 { return image.thresholded() }
            if toEightBit { return PageRendering.eightBit(image) }
            return image
        }
    }

    /// DWT's TIFF compression codes: 0 auto, 1 none, 3 G3, 4 G4, 5 LZW, 7 JPEG, 8 Deflate,
    /// 32773 PackBits (2, CCITT RLE, is not offered).
    func tiffCompression(allBlackAndWhite: Bool) throws(ScanBridgeError) -> TIFFChoice {
        switch request.compression ?? 0 {
        case 0: allBlackAndWhite ? TIFFChoice(tiff: .ccittG4, toBlackAndWhite: true, toEightBit: false)
                                 : TIFFChoice(tiff: .lzw, toBlackAndWhite: false, toEightBit: false)
        case 1: TIFFChoice(tiff: .none, toBlackAndWhite: false, toEightBit: false)
        case 3: TIFFChoice(tiff: .ccittG3, toBlackAndWhite: true, toEightBit: false)
        case 4: TIFFChoice(tiff: .ccittG4, toBlackAndWhite: true, toEightBit: false)
        case 5: TIFFChoice(tiff: .lzw, toBlackAndWhite: false, toEightBit: false)
        case 7: TIFFChoice(tiff: .jpeg(quality: request.quality), toBlackAndWhite: false, toEightBit: true)
        case 8: TIFFChoice(tiff: .deflate(level: 6), toBlackAndWhite: false, toEightBit: false)
        case 32773: TIFFChoice(tiff: .packBits, toBlackAndWhite: false, toEightBit: false)
        default: throw DWTErrors.invalidParameter("TIFF compression must be 0, 1, 3, 4, 5, 7, 8 or 32773; got \(request.compression ?? 0)")
        }
    }
}

/// Where rendered pages come from: a stored document, or the pages of a scan job.
struct RenderSource: Sendable {
    struct Contents: Sendable {
        var pageUIDs: [String]
        var metadata: DocumentMetadata
        /// A stored document's options: its PDFs' defaults.
        var options = DocumentOptions()
    }

    /// What the error messages call it ("Document 1a2b…", "Job …").
    var name: String
    var contents: @Sendable () async throws -> Contents
    var read: @Sendable (PageReference) async throws -> Page
    /// Where what OCR found on a page is kept and found again; nil: pages are read every time.
    var recognitions: Recognitions?

    /// Stored OCR results: `load` gives a page's uid and its result in a language (nil bytes
    /// when there is none yet), `store` keeps one (page uid, language, bytes).
    struct Recognitions: Sendable {
        var load: @Sendable (PageReference, String) async throws -> (pageUID: String, bytes: [UInt8]?)
        var store: @Sendable (String, String, [UInt8]) async throws -> Void
    }

    static func document(_ documents: DocumentStore, uid: String, password: String?) -> RenderSource {
        RenderSource(name: "Document \(uid)",
                     contents: {
                         let info = try await documents.info(uid: uid, password: password)
                         return Contents(pageUIDs: info.pages.map(\.uid), metadata: info.metadata, options: info.options)
                     },
                     read: { try await documents.readPage($0, of: uid, password: password) },
                     recognitions: Recognitions(
                         load: { try await documents.recognition(of: $0, in: uid, language: $1, password: password) },
                         store: { try await documents.storeRecognition($2, pageUID: $0, in: uid, language: $1, password: password) }))
    }
}
