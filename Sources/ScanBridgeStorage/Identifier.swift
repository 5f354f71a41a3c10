/// Identifiers the storage layer hands out (page and document uids, file names), and the check
/// every client-supplied identifier passes before it becomes part of a path.
public enum Identifier {
    /// 24 characters: a letter `a`–`p` then 23 random lowercase hex digits (96 bits of
    /// randomness in all), so a uid is never all digits and cannot be mistaken for an index.
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        for _ in 0..<3 {
            let value = generator.next() as UInt64
            let hex = String(value, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        let letters = Array("abcdefghijklmnop")
        let first = letters[Int(text.first!.hexDigitValue!)]
        return String(first) + String(text.dropFirst().prefix(23))
    }

    /// True when `text` can safely name a file inside a storage folder: 1–64 characters from
    /// `A-Z a-z 0-9 _ -`, so never `.`/`..`, a slash, a percent escape, NUL or an absolute path.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D
        }
    }
}
