/// The objects and pages of a PDF file, found by scanning it for `n g obj` rather than by its
/// cross-reference table, so a file whose table is off still reads (as poppler reconstructs
/// one). Objects inside object streams are not seen: a page that needs one is rendered instead.
struct PDFFile {
    struct Page {
        var dictionary: [String: PDFObject]
        /// Inherited from the page tree when the page has none of its own.
        var resources: [String: PDFObject]?
        var mediaBox: [Double]?
        var cropBox: [Double]?
        var rotate: Int
    }

    let bytes: [UInt8]
    /// Object number → byte offset just after its `obj` keyword (the last definition wins, as
    /// with incremental updates).
    private(set) var offsets: [Int: Int] = [:]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        scanObjects()
    }

    /// True when the file has an Encrypt dictionary: its streams are encrypted, so nothing in it
    /// is taken as it is.
    var isEncrypted: Bool { bytes.firstRange(of: Array("/Encrypt".utf8)) != nil }

    private mutating func scanObjects() {
        let keyword = Array("obj".utf8)
        var index = 0
        while let found = bytes[index...].firstRange(of: keyword) {
            index = found.upperBound
            guard found.upperBound == bytes.count || PDFLexer.isWhitespace(bytes[found.upperBound]) || PDFLexer.isDelimiter(bytes[found.upperBound]),
                  let number = objectNumber(before: found.lowerBound) else { continue }
            offsets[number] = found.upperBound
            // Skip the object's body, so that bytes inside a stream are never taken for objects.
            var lexer = PDFLexer(bytes, at: found.upperBound)
            if (try? lexer.object(length: { $0.integer })) != nil {
                index = lexer.position
            } else if let end = bytes[found.upperBound...].firstRange(of: Array("endobj".utf8)) {
                index = end.upperBound
            }
        }
    }

    /// `n g` before an `obj` keyword at `end`.
    private func objectNumber(before end: Int) -> Int? {
        var position = end - 1
        func digits() -> Int? {
            var value = 0, scale = 1, count = 0
            while position >= 0, bytes[position] >= 0x30, bytes[position] <= 0x39, count < 10 {
                value += Int(bytes[position] - 0x30) * scale
                scale *= 10; count += 1; position -= 1
            }
            return count > 0 ? value : nil
        }
        func whitespace() -> Bool {
            let start = position
            while position >= 0, PDFLexer.isWhitespace(bytes[position]) { position -= 1 }
            return position < start
        }
        guard whitespace(), digits() != nil, whitespace(), let number = digits() else { return nil }
        guard position < 0 || PDFLexer.isWhitespace(bytes[position]) || PDFLexer.isDelimiter(bytes[position]) else { return nil }
        return number
    }

    /// The object a reference points to (other objects as they are).
    func resolve(_ object: PDFObject?, depth: Int = 0) throws -> PDFObject {
        guard let object else { throw PDFLexer.Malformed() }
        guard case .reference(let number, _) = object else { return object }
        guard depth < 16, let offset = offsets[number] else { throw PDFLexer.Malformed() }
        var lexer = PDFLexer(bytes, at: offset)
        let value = try lexer.object(length: { length in
            if let direct = length.integer { return direct }
            return (try? resolve(length, depth: depth + 1))?.integer
        })
        return try resolve(value, depth: depth + 1)
    }

    func resolvedDictionary(_ object: PDFObject?) throws -> [String: PDFObject] {
        guard let dictionary = try resolve(object).dictionary else { throw PDFLexer.Malformed() }
        return dictionary
    }

    /// A stream's data with its filters undone; only FlateDecode (the one content streams use)
    /// is undone here.
    func decodedData(of stream: PDFObject, limit: Int) throws -> [UInt8] {
        guard case .stream(let dictionary, let range) = stream else { throw PDFLexer.Malformed() }
        let raw = Array(bytes[range])
        switch try filters(of: dictionary) {
        case []: return raw
        case ["FlateDecode"] where dictionary["DecodeParms"] == nil: return try Inflate.decompress(raw, limit: limit)
        default: throw PDFLexer.Malformed()
        }
    }

    /// The names of a stream's filters, in order.
    func filters(of dictionary: [String: PDFObject]) throws -> [String] {
        guard let filter = dictionary["Filter"] else { return [] }
        switch try resolve(filter) {
        case .name(let name): return [name]
        case .array(let items): return try items.map { guard let name = try resolve($0).name else { throw PDFLexer.Malformed() }; return name }
        default: throw PDFLexer.Malformed()
        }
    }

    /// The pages in order, from the last Catalog's page tree.
    func pages() throws -> [Page] {
        var catalog: [String: PDFObject]?
        for number in offsets.keys.sorted(by: { offsets[$0]! < offsets[$1]! }) {
            if let dictionary = try? resolve(.reference(number, 0)).dictionary, dictionary["Type"]?.name == "Catalog" { catalog = dictionary }
        }
        guard let catalog else { throw PDFLexer.Malformed() }
        var pages: [Page] = []
        var visited = Set<Int>()
        func walk(_ node: PDFObject, inherited: Page) throws {
            if case .reference(let number, _) = node {
                guard visited.insert(number).inserted, visited.count < 100_000 else { throw PDFLexer.Malformed() }
            }
            let dictionary = try resolvedDictionary(node)
            var page = inherited
            page.dictionary = dictionary
            if let resources = dictionary["Resources"] { page.resources = try resolvedDictionary(resources) }
            if let box = dictionary["MediaBox"] { page.mediaBox = try numbers(box) }
            if let box = dictionary["CropBox"] { page.cropBox = try numbers(box) }
            if let rotate = dictionary["Rotate"] { page.rotate = try resolve(rotate).integer ?? 0 }
            if dictionary["Type"]?.name == "Pages" || dictionary["Kids"] != nil {
                guard let kids = try resolve(dictionary["Kids"]).array else { throw PDFLexer.Malformed() }
                for kid in kids { try walk(kid, inherited: page) }
            } else {
                pages.append(page)
            }
        }
        try walk(catalog["Pages"] ?? .null, inherited: Page(dictionary: [:], rotate: 0))
        return pages
    }

    func numbers(_ object: PDFObject) throws -> [Double] {
        guard let items = try resolve(object).array else { throw PDFLexer.Malformed() }
        return try items.map { guard let value = try resolve($0).number else { throw PDFLexer.Malformed() }; return value }
    }
}
