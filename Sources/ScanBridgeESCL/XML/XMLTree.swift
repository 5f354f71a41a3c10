/// An element of a small XML document, as eSCL clients send them (`scan:ScanSettings`).
/// Names are kept with their prefix; `localName` drops it, because clients disagree on which
/// namespace prefix an element has (`pwg:InputSource` and `scan:InputSource` are both seen).
public struct ESCLElement: Sendable, Equatable {
    public var name: String
    public var attributes: [String: String]
    public var children: [ESCLElement]
    /// The element's own character data, entities resolved, surrounding white space trimmed.
    public var text: String

    public var localName: Substring { name.split(separator: ":", maxSplits: 1).last ?? Substring(name) }

    /// The first child whose local name is `local`.
    public func child(_ local: String) -> ESCLElement? { children.first { $0.localName == local } }

    /// The text of the first child named `local`.
    public func value(_ local: String) -> String? { child(local)?.text }
}

/// Why a document is not the XML it claims to be, with the byte offset where reading stopped.
public struct XMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) (at byte \(offset))" }
}

/// A strict reader for the small, DTD-free documents of the eSCL protocol: elements,
/// attributes, character data, CDATA, comments, processing instructions and the five
/// predefined and numeric character references. Document type declarations are refused (no
/// entity expansion, so no "billion laughs"), and so is nesting deeper than `maxDepth`.
public enum XMLTree {
    public static let maxDepth = 32

    public static func parse(_ bytes: [UInt8]) throws(XMLSyntaxError) -> ESCLElement {
        var reader = Reader(bytes: bytes)
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
            // A UTF-8 byte order mark.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        }

        func fail(_ message: String) -> XMLSyntaxError { XMLSyntaxError(message: message, offset: index) }

        var atEnd: Bool { index >= bytes.count }

        func peek(_ text: String) -> Bool { bytes[index...].starts(with: text.utf8) }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func skip(past terminator: String, what: String) throws(XMLSyntaxError) {
            let pattern = Array(terminator.utf8)
            while index < bytes.count {
                if bytes[index...].starts(with: pattern) { index += pattern.count; return }
                index += 1
            }
            throw fail("unterminated \(what)")
        }

        /// Comments, processing instructions and white space between markup.
        mutating func skipMisc() throws(XMLSyntaxError) {
            while true {
                skipSpace()
                if peek("<?") { try skip(past: "?>", what: "processing instruction") }
                else if peek("<!--") { try skip(past: "-->", what: "comment") }
                else if peek("<!DOCTYPE") || peek("<!doctype") { throw fail("document type declarations are not accepted") }
                else { return }
            }
        }

        mutating func document() throws(XMLSyntaxError) -> ESCLElement {
            try skipMisc()
            guard !atEnd else { throw fail("the document is empty") }
            guard bytes[index] == UInt8(ascii: "<") else { throw fail("expected an element, found text") }
            let root = try element(depth: 1)
            try skipMisc()
            guard atEnd else { throw fail("content after the root element") }
            return root
        }

        static func isNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."): true
            default: byte >= 0x80
            }
        }

        mutating func name() throws(XMLSyntaxError) -> String {
            let start = index
            while index < bytes.count, Self.isNameByte(bytes[index]) { index += 1 }
            guard index > start else { throw fail("expected a name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func element(depth: Int) throws(XMLSyntaxError) -> ESCLElement {
            guard depth <= XMLTree.maxDepth else { throw fail("elements nested deeper than \(XMLTree.maxDepth)") }
            index += 1  // <
            let tag = try name()
            var attributes: [String: String] = [:]
            while true {
                skipSpace()
                guard !atEnd else { throw fail("unterminated start tag <\(tag)>") }
                if peek("/>") {
                    index += 2
                    return ESCLElement(name: tag, attributes: attributes, children: [], text: "")
                }
                if bytes[index] == UInt8(ascii: ">") { index += 1; break }
                let attribute = try name()
                skipSpace()
                guard !atEnd, bytes[index] == UInt8(ascii: "=") else { throw fail("attribute \(attribute) has no value") }
                index += 1
                skipSpace()
                guard !atEnd, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                    throw fail("attribute \(attribute): value is not quoted")
                }
                let quote = bytes[index]
                index += 1
                let start = index
                while index < bytes.count, bytes[index] != quote {
                    if bytes[index] == UInt8(ascii: "<") { throw fail("'<' inside the value of attribute \(attribute)") }
                    index += 1
                }
                guard !atEnd else { throw fail("unterminated value of attribute \(attribute)") }
                guard attributes[attribute] == nil else { throw fail("attribute \(attribute) given twice") }
                attributes[attribute] = try resolveReferences(bytes[start..<index], at: start)
                index += 1
            }
            var children: [ESCLElement] = []
            var text: [UInt8] = []
            while true {
                guard !atEnd else { throw fail("element <\(tag)> is not closed") }
                if peek("</") {
                    index += 2
                    let closing = try name()
                    guard closing == tag else { throw fail("</\(closing)> closes <\(tag)>") }
                    skipSpace()
                    guard !atEnd, bytes[index] == UInt8(ascii: ">") else { throw fail("unterminated end tag </\(closing)>") }
                    index += 1
                    let value = String(decoding: text, as: UTF8.self).trimmingXMLSpace()
                    return ESCLElement(name: tag, attributes: attributes, children: children, text: value)
                } else if peek("<!--") {
                    try skip(past: "-->", what: "comment")
                } else if peek("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>", what: "CDATA section")
                    text += bytes[start..<(index - 3)]
                } else if peek("<?") {
                    try skip(past: "?>", what: "processing instruction")
                } else if peek("<!") {
                    throw fail("declarations are not accepted inside elements")
                } else if bytes[index] == UInt8(ascii: "<") {
                    children.append(try element(depth: depth + 1))
                } else {
                    let start = index
                    while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                    text += Array(try resolveReferences(bytes[start..<index], at: start).utf8)
                }
            }
        }

        func resolveReferences(_ slice: ArraySlice<UInt8>, at offset: Int) throws(XMLSyntaxError) -> String {
            guard slice.contains(UInt8(ascii: "&")) else { return String(decoding: slice, as: UTF8.self) }
            var output: [UInt8] = []
            var position = slice.startIndex
            while position < slice.endIndex {
                let byte = slice[position]
                guard byte == UInt8(ascii: "&") else { output.append(byte); position += 1; continue }
                guard let end = slice[position...].firstIndex(of: UInt8(ascii: ";")), end - position <= 10 else {
                    throw XMLSyntaxError(message: "unterminated character reference", offset: position)
                }
                let reference = String(decoding: slice[(position + 1)..<end], as: UTF8.self)
                let scalar: Unicode.Scalar?
                switch reference {
                case "amp": scalar = "&"
                case "lt": scalar = "<"
                case "gt": scalar = ">"
                case "quot": scalar = "\""
                case "apos": scalar = "'"
                default:
                    if reference.hasPrefix("#x") { scalar = UInt32(reference.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init) }
                    else if reference.hasPrefix("#") { scalar = UInt32(reference.dropFirst(1)).flatMap(Unicode.Scalar.init) }
                    else { throw XMLSyntaxError(message: "unknown entity &\(reference);", offset: position) }
                }
                guard let scalar else { throw XMLSyntaxError(message: "invalid character reference &\(reference);", offset: position) }
                output += Array(String(Character(scalar)).utf8)
                position = end + 1
            }
            return String(decoding: output, as: UTF8.self)
        }
    }
}

extension String {
    func trimmingXMLSpace() -> String {
        let space: Set<Character> = [" ", "\t", "\n", "\r"]
        guard let first = firstIndex(where: { !space.contains($0) }) else { return "" }
        let last = lastIndex { !space.contains($0) }!
        return String(self[first...last])
    }
}
