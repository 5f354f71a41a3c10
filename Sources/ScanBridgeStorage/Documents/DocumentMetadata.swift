/// A document's descriptive fields, the PDF Info fields DWT's content request takes, and its
/// PDF compression code, kept with the document (`PATCH /api/storage/documents/{uid}`) as the
/// defaults of every PDF made from it. Values are kept as the client sent them (dates and the
/// compression code as text); nil: not set.
public struct DocumentMetadata: Sendable, Equatable, Codable {
    public var title: String?
    public var author: String?
    public var subject: String?
    /// Comma-separated keywords.
    public var keyWords: String?
    public var creator: String?
    public var producer: String?
    public var creationDate: String?
    public var modifiedDate: String?
    /// The content query's PDF `compression` (a DWT code, e.g. "7" for JBIG2).
    public var compression: String?

    public init(title: String? = nil, author: String? = nil, subject: String? = nil, keyWords: String? = nil,
                creator: String? = nil, producer: String? = nil, creationDate: String? = nil, modifiedDate: String? = nil,
                compression: String? = nil) {
        self.title = title; self.author = author; self.subject = subject; self.keyWords = keyWords
        self.creator = creator; self.producer = producer; self.creationDate = creationDate; self.modifiedDate = modifiedDate
        self.compression = compression
    }

    /// The fields in a fixed order, as (name, value) pairs: one list for encoding and merging.
    public static let fields: [(name: String, path: WritableKeyPath<DocumentMetadata, String?> & Sendable)] = [
        ("title", \.title), ("author", \.author), ("subject", \.subject), ("keyWords", \.keyWords),
        ("creator", \.creator), ("producer", \.producer), ("creationDate", \.creationDate), ("modifiedDate", \.modifiedDate),
        ("compression", \.compression),
    ]

    public var isEmpty: Bool { Self.fields.allSatisfy { self[keyPath: $0.path] == nil } }

    /// These fields changed by `change`: a field it sets replaces this one, an empty string
    /// removes it, a field it leaves nil stays.
    public func updated(with change: DocumentMetadata) -> DocumentMetadata {
        var result = self
        for field in Self.fields {
            guard let value = change[keyPath: field.path] else { continue }
            result[keyPath: field.path] = value.isEmpty ? nil : value
        }
        return result
    }
}
