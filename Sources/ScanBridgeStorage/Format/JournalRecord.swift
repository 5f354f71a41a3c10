// The record framing of a job's page journal (see `PageJournal`). Pure byte work: no I/O.

/// One record of a page journal file, as appended and as read back:
///
///     "SBJ1" | kind u32le | meta length u32le | body length u64le | checksum (8)
///     meta (JSON, meta length bytes) | body (body length bytes)
///
/// The checksum is the first 8 bytes of SHA-256 over the 20 header bytes before it and the meta,
/// so a record whose header or meta was torn by a crash, or damaged on disk, is recognised
/// without reading its body. The body (a page's stored form) is sealed with AES-256-GCM, whose
/// authentication tag checks it when it is read.
///
/// A record ends on an `alignment` boundary of the file: its meta (JSON) is followed by as many
/// spaces as that takes, covered by the checksum and dropped again when the record is read. So
/// every record starts aligned and can be written with `O_DIRECT`, straight from memory to the
/// disk, without the copy into the page cache that a buffered write and its fsync cost (for a
/// page of megabytes, more CPU than sealing it).
enum JournalRecord {
    static let magic = Array("SBJ1".utf8)
    static let headerLength = 28
    /// What records are aligned to: a page of memory, a multiple of every disk's logical block.
    static let alignment = 4096
    /// Meta beyond this is not a record of ours (a damaged length field).
    static let maxMetaLength = 1 << 20

    enum Kind: UInt32, Sendable {
        /// The job: who created it, on which scanner, with which settings (opaque to storage).
        case job = 1
        /// A page: its ids, number and description in the meta; its sealed stored form in the body.
        case page = 2
        /// The job ended (completed, faulted or canceled).
        case end = 3
    }

    /// A header that checked out: the record's kind, meta and where its body lies.
    struct Header: Sendable, Equatable {
        var kind: Kind
        var meta: [UInt8]
        var bodyLength: Int
    }

    /// The header and meta bytes to write in front of `bodyLength` bytes of body, for a record
    /// starting at `offset` of its file: the meta is padded so that the record ends aligned.
    static func frame(kind: Kind, meta: [UInt8], bodyLength: Int, at offset: Int) -> [UInt8] {
        let unpadded = offset + headerLength + meta.count + bodyLength
        let padded = meta + [UInt8](repeating: padding, count: (alignment - unpadded % alignment) % alignment)
        var bytes = magic
        bytes.reserveCapacity(headerLength + padded.count)
        append(UInt32(kind.rawValue), to: &bytes)
        append(UInt32(padded.count), to: &bytes)
        append(UInt64(bodyLength), to: &bytes)
        bytes += checksum(Array(bytes[0..<20]), padded)
        bytes += padded
        return bytes
    }

    /// The byte meta is padded with: JSON allows spaces after a value, and the reader drops them.
    static let padding = UInt8(ascii: " ")

    /// The fixed part of a header: nil unless the magic matches and the lengths are plausible.
    static func parseFixed(_ bytes: [UInt8]) -> (kind: UInt32, metaLength: Int, bodyLength: Int)? {
        guard bytes.count >= headerLength, Array(bytes[0..<4]) == magic else { return nil }
        let kind = UInt32(littleEndian: bytes, at: 4)
        let metaLength = Int(UInt32(littleEndian: bytes, at: 8))
        let bodyLength = UInt64(littleEndian: bytes, at: 12)
        guard metaLength <= maxMetaLength, bodyLength <= UInt64(Int.max / 2) else { return nil }
        return (kind, metaLength, Int(bodyLength))
    }

    /// Checks the checksum over the fixed header and `meta`; nil when it does not match or the
    /// kind is unknown. The header's meta is without its padding.
    static func verify(fixed bytes: [UInt8], meta: [UInt8]) -> Header? {
        guard let parsed = parseFixed(bytes), parsed.metaLength == meta.count,
              checksum(Array(bytes[0..<20]), meta) == Array(bytes[20..<28]),
              let kind = Kind(rawValue: parsed.kind) else { return nil }
        let end = meta.lastIndex { $0 != padding }.map { $0 + 1 } ?? 0
        return Header(kind: kind, meta: Array(meta[..<end]), bodyLength: parsed.bodyLength)
    }

    static func checksum(_ fixed: [UInt8], _ meta: [UInt8]) -> [UInt8] {
        Array(Crypto.sha256(fixed, meta).prefix(8))
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}

extension FixedWidthInteger {
    /// The little-endian value at `offset` of `bytes` (which must hold it).
    init(littleEndian bytes: [UInt8], at offset: Int) {
        var value = Self.zero
        for index in 0..<(Self.bitWidth / 8) { value |= Self(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
        self = value
    }
}
