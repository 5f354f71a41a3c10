import Foundation
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// `GET /api/storage/documents/{uid}/content`: a stored document as PDF, TIFF, JPEG or PNG.
///
/// PDF and TIFF are written to a temporary file in the service folder's `upload/` (so memory
/// stays bounded for long documents) and streamed from it; all codec work runs on the
/// compute pool.
enum DocumentContent {
    struct Request: Sendable {
        var type: String
        var pages: [PageReference]?
        var quality: Int
        var compression: Int
        var pageType: String?
        var metadata: PDFMetadata
        var version: PDFVersion
        var outputPassword: String?
    }

    static func parse(_ query: QueryParameters) throws(ScanBridgeError) -> Request {
        let type = (query["type"] ?? "application/pdf").lowercased()
        guard ["application/pdf", "image/tiff", "image/jpeg", "image/png"].contains(type) else {
            throw DWTErrors.invalidParameter("type must be application/pdf, image/tiff, image/jpeg or image/png; got \(type)")
        }
        var quality = 80
        if let text = query["quality"] {
            guard let value = Int(text), (1...100).contains(value) else { throw DWTErrors.invalidParameter("quality must be 1…100, got \(text)") }
            quality = value
        }
        var compression = 0
        if let text = query["compression"] {
            guard let value = Int(text) else { throw DWTErrors.invalidParameter("compression must be a number, got \(text)") }
            compression = value
        }
        var version = PDFVersion.v1_5
        if let text = query["version"] {
            guard let value = PDFVersion(rawValue: text) else {
                throw DWTErrors.invalidParameter("version must be one of \(PDFVersion.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            version = value
        }
        if let pageType = query["pageType"], !pageType.isEmpty, PaperSize.named(pageType) == nil, Int(pageType) == nil {
            throw DWTErrors.invalidParameter("pageType must be a paper name (\(PaperSize.all.map(\.name).joined(separator: ", "))), got \(pageType)")
        }
        let pages = query["pages"].flatMap { $0.isEmpty ? nil : $0.split(separator: ",").map { PageReference(pathSegment: String($0).trimmingCharacters(in: .whitespaces)) } }
        let metadata = PDFMetadata(title: query["title"], author: query["author"], subject: query["subject"],
                                   keywords: query["keyWords"].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? [],
                                   creator: query["creator"] ?? "ScanBridge", producer: query["producer"] ?? "ScanBridge",
                                   creationDate: query["creationDate"].flatMap(parseDate) ?? Date(),
                                   modificationDate: query["modifiedDate"].flatMap(parseDate))
        let password = query["password"].flatMap { $0.isEmpty ? nil : $0 }
        return Request(type: type, pages: pages, quality: quality, compression: compression, pageType: query["pageType"],
                       metadata: metadata, version: version, outputPassword: password)
    }

    /// Dates as DWT clients send them: ISO 8601, or PDF's D:YYYYMMDDHHmmSS.
    static func parseDate(_ text: String) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let digits = text.hasPrefix("D:") ? String(text.dropFirst(2).prefix(14)) : String(text.prefix(14))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = String("yyyyMMddHHmmss".prefix(digits.count))
        return digits.count >= 8 ? formatter.date(from: digits) : nil
    }

    /// A rendered document: small outputs in memory, PDF and TIFF in a temporary file.
    enum Rendered: Sendable {
        case bytes([UInt8])
        case file(String)
    }

    static func respond(uid: String, password: String?, request: Request, service: ScanningService,
                        stagingFolder: String) async throws -> Response {
        if request.type == "application/pdf" {
            // Streamed as it is written (chunked): no staging file written and read back, and the
            // first bytes leave with the first page. Anything wrong with the request, the
            // document or its first page is still a plain error response (nothing is sent until
            // page 1 is in the PDF); a page that cannot be read later ends the body early.
            let references = try await pageReferences(uid: uid, password: password, request: request, service: service)
            let compression = try pdfCompression(request)
            return .stream(headerFields: [.contentType: request.type], length: nil) { body in
                try await writePDF(references, uid: uid, password: password, request: request, compression: compression,
                                   service: service, to: .response(body))
            }
        }
        switch try await render(uid: uid, password: password, request: request, service: service, stagingFolder: stagingFolder) {
        case .bytes(let bytes): return .binary(bytes, contentType: request.type)
        case .file(let path): return try await FileResponse.streaming(path: path, contentType: request.type, removeAfterwards: true)
        }
    }

    /// The pages `request` names (all of them by default; the first for JPEG and PNG).
    static func pageReferences(uid: String, password: String?, request: Request, service: ScanningService) async throws -> [PageReference] {
        let info = try await service.documents.info(uid: uid, password: password)
        let references: [PageReference]
        if let pages = request.pages {
            references = pages
        } else if request.type.hasPrefix("image/") && request.type != "image/tiff" {
            references = info.pages.isEmpty ? [] : [.index(0)]
        } else {
            references = info.pages.map { .uid($0.uid) }
        }
        guard !references.isEmpty else { throw DWTErrors.invalidParameter("Document \(uid) has no pages to output") }
        return references
    }

    static func render(uid: String, password: String?, request: Request, service: ScanningService,
                       stagingFolder: String) async throws -> Rendered {
        let references = try await pageReferences(uid: uid, password: password, request: request, service: service)
        if request.type == "image/jpeg" || request.type == "image/png" {
            guard references.count == 1 else { throw DWTErrors.invalidParameter("\(request.type) holds one page; name one in pages") }
            let page = try await service.documents.readPage(references[0], of: uid, password: password)
            return .bytes(try await PageRendering.encode(page, as: request.type == "image/jpeg" ? .jpeg : .png, quality: request.quality))
        }

        let path = (stagingFolder as NSString).appendingPathComponent("content-\(UUID().uuidString).tmp")
        do {
            if request.type == "application/pdf" {
                try await writePDF(references, uid: uid, password: password, request: request, compression: try pdfCompression(request),
                                   service: service, to: .file(path))
            } else {
                try await writeTIFF(references, uid: uid, password: password, request: request, service: service, path: path)
            }
        } catch {
            unlink(path)
            throw error
        }
        return .file(path)
    }

    /// Where a PDF goes: a file (uploads), or an HTTP response body as it is written.
    enum PDFDestination {
        case file(String)
        case response(ResponseBodyWriter)
    }

    static func writePDF(_ references: [PageReference], uid: String, password: String?, request: Request, compression: PDFChoice,
                         service: ScanningService, to destination: PDFDestination) async throws {
        let pageSize: PDFPageSize = request.pageType.flatMap(PaperSize.named).map(PDFPageSize.paper) ?? .fromResolution
        let options = PDFWriter.Options(version: request.version, metadata: request.metadata, pageSize: pageSize,
                                        encryption: request.outputPassword.map { PDFEncryption(userPassword: $0) })
        let writer = try await PageRendering.pool.run { () throws -> PDFWriterBox in
            switch destination {
            case .file(let path): try PDFWriterBox(sink: try FileByteSink(path: path), options: options)
            case .response: try PDFWriterBox(sink: PieceByteSink(), options: options)
            }
        }
        // What the writer produced since the last call goes to the response (a file sink has none to give).
        func pass(_ pieces: [[UInt8]]) async throws {
            guard case .response(let body) = destination else { return }
            for piece in pieces { try await body.write(piece) }
        }
        // Pages are read and encoded a page per core at a time, and written in order.
        let pages = AsyncStream<PageReference> { continuation in
            for reference in references { continuation.yield(reference) }
            continuation.finish()
        }
        let images = pages.orderedConcurrentMap(limit: PageRendering.pool.threadCount) { reference in
            let page = try await service.documents.readPage(reference, of: uid, password: password)
            return try await PageRendering.pool.run { () throws -> PDFPageImage in
                if case .encoded("image/jpeg", let bytes) = page.content, compression.passesJPEGThrough {
                    return try PDFPageImage(jpeg: bytes, xDPI: page.info.xDPI, yDPI: page.info.yDPI)
                }
                if case .encoded("image/png", let bytes) = page.content, compression.passesPNGThrough,
                   let image = try PDFPageImage(passingThrough: bytes, xDPI: page.info.xDPI, yDPI: page.info.yDPI) {
                    return image
                }
                let image: Image = switch page.content {
                case .raw(let image): image
                case .encoded(_, let bytes): try ImageDecoder.decode(bytes)
                }
                return try PDFPageImage(compression.prepare(image), compression: compression.pdf, flateLevel: options.flateLevel)
            }
        }
        for try await image in images {
            try await pass(try await PageRendering.pool.run { try writer.writer.addPage(image); return writer.take() })
        }
        try await pass(try await PageRendering.pool.run { try writer.writer.finish(); return writer.take() })
    }

    static func writeTIFF(_ references: [PageReference], uid: String, password: String?, request: Request,
                                  service: ScanningService, path: String) async throws {
        var images: [Image] = []
        // TIFF's compression is per file here; auto picks G4 when every page is black and white.
        for reference in references {
            let page = try await service.documents.readPage(reference, of: uid, password: password)
            images.append(try await PageRendering.image(of: page))
        }
        let compression = try tiffCompression(request, allBlackAndWhite: images.allSatisfy { $0.format == .bw1 })
        let pages = images
        let bytes = try await PageRendering.pool.run { () throws -> [UInt8] in
            let writer = try TIFFWriter(compression: compression.tiff)
            for image in pages { try writer.add(compression.prepare(image)) }
            return try writer.finish()
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw ScanBridgeError(code: -1022, message: "Cannot write the TIFF to \(path)")
        }
    }

    struct PDFChoice: Sendable {
        var pdf: PDFImageCompression
        /// Stored JPEG pages are embedded as they are (auto: no second lossy encode).
        var passesJPEGThrough: Bool
        /// Stored PNG pages (gray or RGB, no alpha) are embedded as they are: their zlib stream is
        /// already the lossless Flate data PDF wants, so auto and Flate copy it (as img2pdf does)
        /// instead of decoding and compressing again. BW pages stay Flate; ask for 2 to get G4.
        var passesPNGThrough: Bool
        var toBlackAndWhite: Bool

        func prepare(_ image: Image) -> Image { toBlackAndWhite && image.format != .bw1 ? image.thresholded() : image }
    }

    /// DWT's PDF compression codes: 0 auto, 2 CCITT G4, 3 LZW (lossless: Flate here),
    /// 5 JPEG, 6 JPEG2000 and 7 JBIG2 (not offered: refused clearly).
    static func pdfCompression(_ request: Request) throws(ScanBridgeError) -> PDFChoice {
        switch request.compression {
        case 0: PDFChoice(pdf: .automatic, passesJPEGThrough: true, passesPNGThrough: true, toBlackAndWhite: false)
        case 2: PDFChoice(pdf: .ccittG4, passesJPEGThrough: false, passesPNGThrough: false, toBlackAndWhite: true)
        case 3: PDFChoice(pdf: .flate, passesJPEGThrough: false, passesPNGThrough: true, toBlackAndWhite: false)
        case 5: PDFChoice(pdf: .jpeg(quality: request.quality), passesJPEGThrough: false, passesPNGThrough: false, toBlackAndWhite: false)
        case 6, 7: throw DWTErrors.invalidParameter("PDF compression \(request.compression) (\(request.compression == 6 ? "JPEG2000" : "JBIG2")) is not supported; use 0, 2, 3 or 5")
        default: throw DWTErrors.invalidParameter("PDF compression must be 0, 2, 3 or 5; got \(request.compression)")
        }
    }

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
    static func tiffCompression(_ request: Request, allBlackAndWhite: Bool) throws(ScanBridgeError) -> TIFFChoice {
        switch request.compression {
        case 0: allBlackAndWhite ? TIFFChoice(tiff: .ccittG4, toBlackAndWhite: true, toEightBit: false)
                                 : TIFFChoice(tiff: .lzw, toBlackAndWhite: false, toEightBit: false)
        case 1: TIFFChoice(tiff: .none, toBlackAndWhite: false, toEightBit: false)
        case 3: TIFFChoice(tiff: .ccittG3, toBlackAndWhite: true, toEightBit: false)
        case 4: TIFFChoice(tiff: .ccittG4, toBlackAndWhite: true, toEightBit: false)
        case 5: TIFFChoice(tiff: .lzw, toBlackAndWhite: false, toEightBit: false)
        case 7: TIFFChoice(tiff: .jpeg(quality: request.quality), toBlackAndWhite: false, toEightBit: true)
        case 8: TIFFChoice(tiff: .deflate(level: 6), toBlackAndWhite: false, toEightBit: false)
        case 32773: TIFFChoice(tiff: .packBits, toBlackAndWhite: false, toEightBit: false)
        default: throw DWTErrors.invalidParameter("TIFF compression must be 0, 1, 3, 4, 5, 7, 8 or 32773; got \(request.compression)")
        }
    }
}

/// The PDF writer (a class) and its sink, used from one pool job at a time.
final class PDFWriterBox: @unchecked Sendable {
    let writer: PDFWriter
    private let pieces: PieceByteSink?

    init(sink: ByteSink, options: PDFWriter.Options) throws {
        writer = try PDFWriter(sink: sink, options: options)
        pieces = sink as? PieceByteSink
    }

    /// What the writer has produced since the last call, when it writes to memory; else nothing.
    func take() -> [[UInt8]] { pieces?.take() ?? [] }
}

/// Streams a file as a response body, reading it in pieces on the compute pool.
enum FileResponse {
    static func streaming(path: String, contentType: String, removeAfterwards: Bool) async throws -> Response {
        let size = try await PageRendering.pool.run { () throws -> Int in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return (attributes[.size] as? Int) ?? 0
        }
        return .stream(headerFields: [.contentType: contentType], length: size) { writer in
            defer { if removeAfterwards { unlink(path) } }
            let handle = try await PageRendering.pool.run { try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) }
            defer { try? handle.close() }
            let piece = 256 << 10
            var sent = 0
            while sent < size {
                let data = try await PageRendering.pool.run { try handle.read(upToCount: piece) ?? Data() }
                if data.isEmpty { break }
                try await writer.write([UInt8](data))
                sent += data.count
            }
        }
    }
}
