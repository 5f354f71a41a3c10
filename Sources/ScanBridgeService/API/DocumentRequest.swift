import Foundation
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeOCR
import ScanBridgeStorage

/// What a stored document is to be rendered as: built from the query of
/// `GET /api/storage/documents/{uid}/content`, or from the JSON of an upload.
struct DocumentRequest: Sendable {
    /// PDF (the default), TIFF, JPEG or PNG.
    var format: ImageFileFormat = .pdf
    /// The pages, in order; nil: all of them (the first for JPEG and PNG).
    var pages: [PageReference]?
    /// JPEG quality, 1…100.
    var quality = 80
    /// DWT's compression code for PDF or TIFF; nil: automatic (for PDF, the document's default
    /// when it has one).
    var compression: Int?
    /// A paper name or number for PDF page sizes; nil: from each page's resolution.
    var pageType: String?
    /// The PDF Info fields the request gives; the rest default to the document's metadata
    /// (`PATCH /api/storage/documents/{uid}`), then to ScanBridge's (`pdfMetadata(defaults:)`).
    var metadata = DocumentMetadata()
    var version = PDFVersion.v1_5
    /// A password the PDF is encrypted with.
    var outputPassword: String?
    /// The language to read the pages' text in (`ocr=eng`, `eng+deu`): a PDF gets an invisible
    /// text layer (a searchable PDF). Validated against the installed languages.
    var ocrLanguage: String?
    /// The recognised text itself instead of an image file (`type=text/plain` or `text/html`).
    var textOutput: RecognisedTextFormat?
    /// PDF/A-2b: XMP identification, an sRGB output intent, embedded fonts, no encryption.
    var pdfA = false
    /// True once PDF/A is decided: the request said pdfa (true or false), or the document's
    /// option was applied.
    var pdfAChosen = false

    init(format: ImageFileFormat = .pdf, pages: [PageReference]? = nil, quality: Int = 80) {
        self.format = format
        self.pages = pages
        self.quality = quality
    }

    /// The query of a content request (`type`, `pages`, `quality`, `compression`, `pageType`,
    /// `version`, `password`, `ocr`, `pdfa` and the PDF's Info fields).
    init(query: QueryParameters) throws(ScanBridgeError) {
        if let text = RecognisedTextFormat(mimeType: query["type"]) {
            textOutput = text
        } else {
            format = try Self.format(query["type"])
        }
        if let text = query["quality"] {
            guard let value = Int(text) else { throw Self.badQuality(text) }
            quality = try Self.quality(value)
        }
        if let text = query["compression"] {
            guard let value = Int(text) else { throw DWTErrors.invalidParameter("compression must be a number, got \(text)") }
            compression = value
        }
        if let text = query["version"] {
            guard let value = PDFVersion(rawValue: text) else {
                throw DWTErrors.invalidParameter("version must be one of \(PDFVersion.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            version = value
        }
        if let pageType = query["pageType"], !pageType.isEmpty, PaperSize.named(pageType) == nil, Int(pageType) == nil {
            throw DWTErrors.invalidParameter("pageType must be a paper name (\(PaperSize.all.map(\.name).joined(separator: ", "))), got \(pageType)")
        }
        pageType = query["pageType"]
        pages = Self.pages(query["pages"])
        metadata = DocumentMetadata(title: query["title"], author: query["author"], subject: query["subject"],
                                    keyWords: query["keyWords"], creator: query["creator"], producer: query["producer"],
                                    creationDate: query["creationDate"], modifiedDate: query["modifiedDate"])
        outputPassword = query["password"].flatMap { $0.isEmpty ? nil : $0 }
        if let language = query["ocr"], !language.isEmpty { ocrLanguage = try Self.ocrLanguage(language) }
        if let text = query["pdfa"] {
            pdfA = try Self.flag(text, name: "pdfa")
            pdfAChosen = true
        }
        try checkCombination()
    }

    /// Refuses options that contradict each other.
    func checkCombination() throws(ScanBridgeError) {
        if textOutput != nil && ocrLanguage == nil {
            throw DWTErrors.invalidParameter("\(textOutput!.mimeType) is the recognised text: name its language in ocr (installed: \(Self.installedList))")
        }
        if pdfA && outputPassword != nil {
            throw DWTErrors.invalidParameter("PDF/A forbids encryption: pdfa=true cannot be combined with a password")
        }
        if pdfA && (format != .pdf || textOutput != nil) {
            throw DWTErrors.invalidParameter("pdfa=true needs type=application/pdf")
        }
    }

    /// True when the document's options add nothing to this request: a PDF of a document created
    /// with an OCR language is searchable, and with pdfa PDF/A, unless the request says otherwise.
    func followsDocument(_ options: DocumentOptions) -> Bool {
        guard format == .pdf, textOutput == nil else { return true }
        return (options.ocrLanguage == nil || ocrLanguage != nil) && (!options.pdfA || pdfAChosen)
    }

    /// This request with the document's options filled in (`followsDocument` false).
    func followingDocument(_ options: DocumentOptions) throws(ScanBridgeError) -> DocumentRequest {
        var request = self
        if request.ocrLanguage == nil, let language = options.ocrLanguage { request.ocrLanguage = language }
        if options.pdfA && !pdfAChosen {
            request.pdfA = true
            request.pdfAChosen = true
            if outputPassword != nil {
                throw DWTErrors.invalidParameter("The document is PDF/A, which forbids encryption: leave out password, or ask for pdfa=false")
            }
        }
        return request
    }

    /// `ocr`: an installed language, or several joined by `+`.
    static func ocrLanguage(_ text: String) throws(ScanBridgeError) -> String {
        guard let language = OCRLanguages.validated(text) else {
            throw DWTErrors.invalidParameter("ocr must be an installed language (\(installedList)), or several joined by +; got \(text)")
        }
        return language
    }

    private static var installedList: String {
        let installed = OCRLanguages.installed
        return installed.isEmpty ? "none is installed" : installed.joined(separator: ", ")
    }

    static func flag(_ text: String, name: String) throws(ScanBridgeError) -> Bool {
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no", "": return false
        default: throw DWTErrors.invalidParameter("\(name) must be true or false; got \(text)")
        }
    }

    /// The PDF's Info: each field from the request, else from `defaults` (the document's
    /// metadata), else ScanBridge as creator and producer and now as the creation date.
    func pdfMetadata(defaults: DocumentMetadata) -> PDFMetadata {
        let merged = defaults.updated(with: metadata)
        return PDFMetadata(title: merged.title, author: merged.author, subject: merged.subject,
                           keywords: merged.keyWords.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? [],
                           creator: merged.creator ?? "ScanBridge", producer: merged.producer ?? "ScanBridge",
                           creationDate: merged.creationDate.flatMap(Self.parseDate) ?? Date(),
                           modificationDate: merged.modifiedDate.flatMap(Self.parseDate))
    }

    /// `type`: a MIME type of the four formats documents are rendered in (default PDF).
    static func format(_ text: String?) throws(ScanBridgeError) -> ImageFileFormat {
        let type = (text ?? "application/pdf").lowercased()
        switch type {
        case "application/pdf": return .pdf
        case "image/tiff": return .tiff
        case "image/jpeg": return .jpeg
        case "image/png": return .png
        default: throw DWTErrors.invalidParameter("type must be application/pdf, image/tiff, image/jpeg or image/png; got \(type)")
        }
    }

    static func quality(_ value: Int) throws(ScanBridgeError) -> Int {
        guard (1...100).contains(value) else { throw badQuality(String(value)) }
        return value
    }

    private static func badQuality(_ text: String) -> ScanBridgeError { DWTErrors.invalidParameter("quality must be 1…100, got \(text)") }

    /// `pages`: comma-separated page uids or 0-based indices; empty or absent: nil.
    static func pages(_ text: String?) -> [PageReference]? {
        guard let text, !text.isEmpty else { return nil }
        return text.split(separator: ",").map { PageReference(pathSegment: String($0).trimmingCharacters(in: .whitespaces)) }
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
}

/// The recognised text of a document, in place of its images.
enum RecognisedTextFormat: Sendable {
    /// Plain UTF-8 text, pages separated by a form feed.
    case plain
    /// hOCR: HTML with each page, paragraph, line and word and its box.
    case hocr

    init?(mimeType: String?) {
        switch mimeType?.lowercased() {
        case "text/plain": self = .plain
        case "text/html": self = .hocr
        default: return nil
        }
    }

    var mimeType: String { self == .plain ? "text/plain; charset=utf-8" : "text/html; charset=utf-8" }
}
