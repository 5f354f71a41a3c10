/// The objects and pages of a PDF file, found by scanning it for `n g obj` rather than by its
/// cross-reference table, so a file whose table is off still reads (as poppler reconstructs
/// one), and by reading its object streams (PDF 1.5), whose objects count where no plain
/// definition exists.
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
    /// Object number → the decoded object stream holding it and its offset there.
    private var compressed: [Int: (stream: Int, offset: Int)] = [:]
    /// Decoded object streams by their object number.
    private var objectStreams: [Int: [UInt8]] = [:]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        scanObjects()
        readObjectStreams()
    }

    /// Every object number the file defines, plainly or in an object stream.
    var objectNumbers: [Int] { Array(Set(offsets.keys).union(compressed.keys)) }

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

    /// The objects of every object stream (`/Type /ObjStm`: N pairs of object number and offset,
    /// then the objects from `/First` on). An object stream that does not read is skipped.
    private mutating func readObjectStreams() {
        for (number, _) in offsets {
            guard let stream = try? resolve(.reference(number, 0)), let dictionary = stream.dictionary,
                  dictionary["Type"]?.name == "ObjStm", let count = dictionary["N"]?.integer, let first = dictionary["First"]?.integer,
                  count >= 0, count < 1_000_000, let data = try? decodedData(of: stream, limit: 64 << 20) else { continue }
            var lexer = PDFLexer(data)
            for _ in 0..<count {
                guard case .object(.number(let object))? = try? lexer.next(), case .object(.number(let offset))? = try? lexer.next(),
                      first + Int(offset) < data.count else { break }
                if offsets[Int(object)] == nil { compressed[Int(object)] = (number, first + Int(offset)) }
            }
            objectStreams[number] = data
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
        guard depth < 16 else { throw PDFLexer.Malformed() }
        if offsets[number] == nil, let place = compressed[number], let data = objectStreams[place.stream] {
            var lexer = PDFLexer(data, at: place.offset)
            return try resolve(try lexer.object(), depth: depth + 1)
        }
        guard let offset = offsets[number] else { throw PDFLexer.Malformed() }
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
        for number in objectNumbers.sorted(by: { (offsets[$0] ?? Int.max, $0) < (offsets[$1] ?? Int.max, $1) }) {
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
