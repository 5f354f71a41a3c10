/// JSON text appended value by value, with commas between the members of each open object or
/// array. For bodies written often enough that `JSONEncoder` shows in a profile: a document's
/// manifest (rewritten on every page append) and the page list every document call answers
/// with, both growing with the document; and the HTTP layer's error bodies.
public struct JSONWriter: Sendable {
    /// A Double that JSON cannot hold (NaN or an infinity).
    public struct NonFiniteNumber: Error {}

    public private(set) var bytes: [UInt8] = []
    /// Per open object or array: whether a member was written yet.
    private var hasMembers: [Bool] = []

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Opens an object (`{`) or array (`[`).
    public mutating func open(_ bracket: Unicode.Scalar) {
        separate()
        bytes.append(UInt8(bracket.value))
        hasMembers.append(false)
    }

    public mutating func close(_ bracket: Unicode.Scalar) {
        bytes.append(UInt8(bracket.value))
        hasMembers.removeLast()
    }

    public mutating func key(_ name: String) {
        string(name)
        bytes.append(0x3A)   // ":"; the value that follows belongs to this member
        hasMembers[hasMembers.count - 1] = false
    }

    public mutating func int<T: BinaryInteger>(_ value: T) {
        separate()
        bytes += String(value).utf8
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes += (value ? "true" : "false").utf8
    }

    /// The shortest text that reads back as the same Double.
    public mutating func double(_ value: Double) throws(NonFiniteNumber) {
        guard value.isFinite else { throw NonFiniteNumber() }
        separate()
        bytes += value.description.utf8
    }

    public mutating func string(_ value: String) {
        separate()
        bytes.append(0x22)
        Self.appendEscaped(value, to: &bytes)
        bytes.append(0x22)
    }

    /// Quotes, backslashes and control characters escaped; everything else (UTF-8 included) as
    /// it is. Most strings (uids, file names) need no escape and are appended whole.
    private static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else {
            bytes += utf8
            return
        }
        for byte in utf8 {
            switch byte {
            case 0x22, 0x5C: bytes += [0x5C, byte]
            case 0x0A: bytes += [0x5C, 0x6E]
            case 0x0D: bytes += [0x5C, 0x72]
            case 0x09: bytes += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
    }

    /// A comma before every member but the first of the innermost open object or array.
    private mutating func separate() {
        guard let last = hasMembers.indices.last else { return }
        if hasMembers[last] { bytes.append(0x2C) }
        hasMembers[last] = true
    }
}
