/// An INI file as the Dynamsoft Service writes it, kept line by line so that a rewrite changes
/// only the values it sets: comments, blank lines, key spelling and unknown keys survive.
///
/// Syntax accepted (the seed's `DSConfiguration.ini` parses verbatim):
/// - `[Section]` headers; keys before any header belong to the section named "".
/// - `key = value` or `key=value`; keys are matched case-insensitively, the last duplicate wins.
/// - whole-line comments starting with `;`, `#` or `//`;
/// - a trailing comment after a value, introduced by `//` at the start of the value or after
///   whitespace (`Port_mp_0 = 18625 // Port of the Service`). A `//` inside a value, as in
///   `https://host`, is part of the value.
public struct INIDocument: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var section: String
        public var key: String
        public var value: String
        /// The trailing comment without its `//`, if the line had one.
        public var comment: String?
        /// 1-based line number in the parsed text; nil for entries added after parsing.
        public var line: Int?
    }

    enum Line: Sendable, Equatable {
        /// Blank lines and comments, reproduced as they were.
        case verbatim(String)
        case section(name: String, raw: String)
        /// `raw` is the original text while the entry is unchanged.
        case entry(Entry, raw: String?)
    }

    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var text: String
        public var description: String { "line \(line): cannot parse \"\(text)\" (expected [Section], key = value, or a comment)" }
    }

    private(set) var lines: [Line] = []
    /// Files edited on Windows end lines with CR LF; a rewrite keeps whichever the file used.
    private var lineEnding = "\n"

    public init() {}

    public init(parsing text: String) throws(SyntaxError) {
        var section = ""
        var number = 0
        // "\r\n" is one Character in Swift, so both separators are named.
        if text.contains("\r\n") { lineEnding = "\r\n" }
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let raw = String(rawLine)
            let trimmed = raw.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix(";") || trimmed.hasPrefix("#") || trimmed.hasPrefix("//") {
                lines.append(.verbatim(raw))
            } else if trimmed.hasPrefix("["), trimmed.hasSuffix("]") {
                section = String(trimmed.dropFirst().dropLast()).trimmingWhitespace()
                lines.append(.section(name: section, raw: raw))
            } else if let equals = trimmed.firstIndex(of: "=") {
                let key = String(trimmed[..<equals]).trimmingWhitespace()
                guard !key.isEmpty else { throw SyntaxError(line: number, text: raw) }
                let (value, comment) = Self.splitComment(String(trimmed[trimmed.index(after: equals)...]))
                lines.append(.entry(Entry(section: section, key: key, value: value, comment: comment, line: number), raw: raw))
            } else {
                throw SyntaxError(line: number, text: raw)
            }
        }
        // A trailing newline yields one empty last element; keep the file's shape on render.
        if case .verbatim("") = lines.last { lines.removeLast() }
    }

    /// All entries in file order.
    public var entries: [Entry] {
        lines.compactMap { if case .entry(let entry, _) = $0 { entry } else { nil } }
    }

    /// The last entry for `key` in `section` (both case-insensitive).
    public func entry(section: String, key: String) -> Entry? {
        entries.last { $0.section.caseInsensitiveEquals(section) && $0.key.caseInsensitiveEquals(key) }
    }

    public func value(section: String, key: String) -> String? {
        entry(section: section, key: key)?.value
    }

    /// Sets a value, keeping the line's key spelling and trailing comment; a new key is added at
    /// the end of its section, and a new section at the end of the file.
    public mutating func set(section: String, key: String, value: String) {
        if let index = lines.lastIndex(where: {
            if case .entry(let entry, _) = $0 { entry.section.caseInsensitiveEquals(section) && entry.key.caseInsensitiveEquals(key) } else { false }
        }), case .entry(var entry, _) = lines[index] {
            entry.value = value
            lines[index] = .entry(entry, raw: nil)
            return
        }
        let newEntry = Line.entry(Entry(section: section, key: key, value: value, comment: nil, line: nil), raw: nil)
        guard let header = lines.firstIndex(where: {
            if case .section(let name, _) = $0 { name.caseInsensitiveEquals(section) } else { false }
        }) else {
            if !lines.isEmpty { lines.append(.verbatim("")) }
            lines.append(.section(name: section, raw: "[\(section)]"))
            lines.append(newEntry)
            return
        }
        var end = header + 1
        while end < lines.count {
            if case .section = lines[end] { break }
            end += 1
        }
        // Insert after the section's last entry, before any blank lines that separate sections.
        var insertAt = end
        while insertAt > header + 1, case .verbatim(let text) = lines[insertAt - 1], text.trimmingWhitespace().isEmpty {
            insertAt -= 1
        }
        lines.insert(newEntry, at: insertAt)
    }

    /// The document as text; unchanged lines are byte-for-byte what was parsed.
    public func render() -> String {
        var output = ""
        for line in lines {
            switch line {
            case .verbatim(let text): output += text
            case .section(_, let raw): output += raw
            case .entry(_, let raw?): output += raw
            case .entry(let entry, nil):
                output += "\(entry.key) = \(entry.value)"
                if let comment = entry.comment { output += " //\(comment)" }
            }
            output += lineEnding
        }
        return output
    }

    static func splitComment(_ text: String) -> (value: String, comment: String?) {
        var previous: Character = " "
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == "/", next < text.endIndex, text[next] == "/", previous.isWhitespace {
                let value = String(text[..<index]).trimmingWhitespace()
                return (value, String(text[text.index(after: next)...]))
            }
            previous = text[index]
            index = next
        }
        return (text.trimmingWhitespace(), nil)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }

    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        lowercased() == other.lowercased()
    }
}
