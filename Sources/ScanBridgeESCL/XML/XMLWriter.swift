/// Writes an XML document element by element, escaping text, with two-space indentation.
struct XMLWriter {
    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    private var open: [String] = []

    static func escape(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }

    private var indent: String { String(repeating: "  ", count: open.count) }

    /// Opens `name` with `attributes` (written in the order given).
    mutating func begin(_ name: String, _ attributes: [(String, String)] = []) {
        let rendered = attributes.map { " \($0.0)=\"\(Self.escape($0.1))\"" }.joined()
        text += "\(indent)<\(name)\(rendered)>\n"
        open.append(name)
    }

    mutating func end() {
        let name = open.removeLast()
        text += "\(indent)</\(name)>\n"
    }

    /// `<name>value</name>`.
    mutating func element(_ name: String, _ value: String) {
        text += "\(indent)<\(name)>\(Self.escape(value))</\(name)>\n"
    }

    mutating func element(_ name: String, _ value: Int) { element(name, String(value)) }

    /// `body` inside `<name>…</name>`.
    mutating func group(_ name: String, _ attributes: [(String, String)] = [], _ body: (inout XMLWriter) -> Void) {
        begin(name, attributes)
        body(&self)
        end()
    }

    var bytes: [UInt8] {
        precondition(open.isEmpty, "unclosed elements: \(open)")
        return Array(text.utf8)
    }
}

/// The namespaces of eSCL documents.
enum ESCLNamespace {
    static let scan = "http://schemas.hp.com/imaging/escl/2011/05/03"
    static let pwg = "http://www.pwg.org/schemas/2010/12/sm"
    static let attributes: [(String, String)] = [("xmlns:scan", scan), ("xmlns:pwg", pwg)]
}
