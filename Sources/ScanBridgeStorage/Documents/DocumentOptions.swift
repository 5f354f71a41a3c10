/// How a document's pages are to be treated, chosen when it is created: kept in its manifest
/// (not secret, so never sealed).
public struct DocumentOptions: Sendable, Codable, Equatable {
    /// The OCR language pages are read in as they are inserted; PDFs of the document are
    /// searchable by default.
    public var ocrLanguage: String?
    /// PDFs of the document are PDF/A-2b by default.
    public var pdfA: Bool

    public init(ocrLanguage: String? = nil, pdfA: Bool = false) {
        self.ocrLanguage = ocrLanguage
        self.pdfA = pdfA
    }

    public var isDefault: Bool { ocrLanguage == nil && !pdfA }
}
