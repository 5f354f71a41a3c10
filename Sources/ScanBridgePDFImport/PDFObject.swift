/// A PDF object as the import's reader sees it (ISO 32000 7.3). Strings keep their raw bytes;
/// streams keep their dictionary and the range of their data in the file.
indirect enum PDFObject: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt8])
    case name(String)
    case array([PDFObject])
    case dictionary([String: PDFObject])
    case reference(Int, Int)
    case stream([String: PDFObject], Range<Int>)

    var number: Double? { if case .number(let value) = self { value } else { nil } }
    var integer: Int? { number.flatMap { $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil } }
    var name: String? { if case .name(let value) = self { value } else { nil } }
    var array: [PDFObject]? { if case .array(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }

    /// A dictionary's entries, or a stream's.
    var dictionary: [String: PDFObject]? {
        switch self {
        case .dictionary(let entries), .stream(let entries, _): entries
        default: nil
        }
    }
}

/// Reads PDF tokens and objects from bytes: enough of the syntax for page trees, image
/// dictionaries and content streams. Anything it does not understand throws, and the caller
/// falls back to rendering the page with poppler.
struct PDFLexer {
    enum Token: Equatable {
        case object(PDFObject)
        case keyword(String)
        case arrayStart, arrayEnd, dictionaryStart, dictionaryEnd
    }

    struct Malformed: Error {}

    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 || byte == 0x0C || byte == 0x00 }
    static func isDelimiter(_ byte: UInt8) -> Bool { "()<>[]{}/%".utf8.contains(byte) }

    mutating func skipWhitespaceAndComments() {
        while position < bytes.count {
            if Self.isWhitespace(bytes[position]) {
                position += 1
            } else if bytes[position] == UInt8(ascii: "%") {
                while position < bytes.count, bytes[position] != 0x0A, bytes[position] != 0x0D { position += 1 }
            } else {
                return
            }
        }
    }

    /// The next token, or nil at the end of the bytes.
    mutating func next() throws -> Token? {
        skipWhitespaceAndComments()
        guard position < bytes.count else { return nil }
        let byte = bytes[position]
        switch byte {
        case UInt8(ascii: "["): position += 1; return .arrayStart
        case UInt8(ascii: "]"): position += 1; return .arrayEnd
        case UInt8(ascii: "<"):
            if position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "<") { position += 2; return .dictionaryStart }
            return .object(.string(try hexString()))
        case UInt8(ascii: ">"):
            guard position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: ">") else { throw Malformed() }
            position += 2
            return .dictionaryEnd
        case UInt8(ascii: "("): return .object(.string(try literalString()))
        case UInt8(ascii: "/"):
            position += 1
            return .object(.name(regularRun()))
        default:
            let word = regularRun()
            guard !word.isEmpty else { throw Malformed() }
            if let value = Double(word), word.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true { return .object(.number(value)) }
            switch word {
            case "true": return .object(.bool(true))
            case "false": return .object(.bool(false))
            case "null": return .object(.null)
            default: return .keyword(word)
            }
        }
    }

    /// Bytes up to the next whitespace or delimiter (names: `#xx` escapes decoded).
    private mutating func regularRun() -> String {
        var run: [UInt8] = []
        while position < bytes.count, !Self.isWhitespace(bytes[position]), !Self.isDelimiter(bytes[position]) {
            if bytes[position] == UInt8(ascii: "#"), position + 2 < bytes.count,
               let value = UInt8(String(decoding: bytes[position + 1...position + 2], as: UTF8.self), radix: 16) {
                run.append(value)
                position += 3
            } else {
                run.append(bytes[position])
                position += 1
            }
        }
        return String(decoding: run, as: UTF8.self)
    }

    private mutating func hexString() throws -> [UInt8] {
        position += 1
        var digits: [UInt8] = []
        while position < bytes.count, bytes[position] != UInt8(ascii: ">") {
            if !Self.isWhitespace(bytes[position]) { digits.append(bytes[position]) }
            position += 1
        }
        guard position < bytes.count else { throw Malformed() }
        position += 1
        if digits.count % 2 == 1 { digits.append(UInt8(ascii: "0")) }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let value = UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) else { throw Malformed() }
            out.append(value)
        }
        return out
    }

    private mutating func literalString() throws -> [UInt8] {
        position += 1
        var depth = 1
        var out: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw Malformed() }
                out.append(bytes[position])   // escapes are kept loosely: only the shape matters here
                position += 1
            case UInt8(ascii: "("):
                depth += 1; out.append(byte)
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return out }
                out.append(byte)
            default:
                out.append(byte)
            }
        }
        throw Malformed()
    }

    /// One whole object: arrays and dictionaries read to their end, `n g R` as a reference,
    /// and a dictionary followed by `stream` as a stream (its length from `length`, which
    /// resolves an indirect `/Length`).
    mutating func object(length: (PDFObject) -> Int? = { $0.integer }) throws -> PDFObject {
        guard let token = try next() else { throw Malformed() }
        switch token {
        case .object(let object):
            guard case .number(let first) = object, first >= 0, first == first.rounded() else { return object }
            // `n g R`: look ahead two tokens.
            let saved = position
            if case .object(.number(let generation))? = try? next(), case .keyword("R")? = try? next() {
                return .reference(Int(first), Int(generation))
            }
            position = saved
            return object
        case .arrayStart:
            var items: [PDFObject] = []
            while true {
                skipWhitespaceAndComments()
                guard position < bytes.count else { throw Malformed() }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                items.append(try object(length: length))
            }
        case .dictionaryStart:
            var entries: [String: PDFObject] = [:]
            while true {
                guard let key = try next() else { throw Malformed() }
                if key == .dictionaryEnd { break }
                guard case .object(.name(let name)) = key else { throw Malformed() }
                entries[name] = try object(length: length)
            }
            let saved = position
            if case .keyword("stream")? = try? next() {
                // The data starts after the end of line that follows the keyword.
                if position < bytes.count, bytes[position] == 0x0D { position += 1 }
                if position < bytes.count, bytes[position] == 0x0A { position += 1 }
                let start = position
                guard let count = entries["Length"].flatMap(length), count >= 0, start + count <= bytes.count else { throw Malformed() }
                position = start + count
                return .stream(entries, start..<start + count)
            }
            position = saved
            return .dictionary(entries)
        case .keyword, .arrayEnd, .dictionaryEnd:
            throw Malformed()
        }
    }
}
