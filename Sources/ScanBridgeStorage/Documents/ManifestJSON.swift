/// A document manifest as JSON, written by hand. The manifest is rewritten on every page append
/// and grows with the document, so Foundation's `JSONEncoder` on it was a tenth of the service's
/// CPU in a 500-page BW batch (perf, `make batch-bench`), and quadratic over a batch. This writes
/// the object `JSONEncoder` writes (the same keys and values, nil fields left out), which
/// `JSONDecoder` reads back as the same `Manifest` (`ManifestJSONTests` checks both).
enum ManifestJSON {
    struct InvalidValue: Error {}

    static func encode(_ manifest: Manifest) throws(InvalidValue) -> [UInt8] {
        var json = JSONText()
        json.bytes.reserveCapacity(256 + manifest.pages.count * 320)
        json.open("{")
        json.key("format"); json.int(manifest.format)
        json.key("uid"); json.string(manifest.uid)
        json.key("created"); try json.double(manifest.created)
        if let encryption = manifest.encryption {
            json.key("encryption"); json.open("{")
            json.key("kdf"); json.string(encryption.kdf)
            json.key("n"); json.int(encryption.n)
            json.key("r"); json.int(encryption.r)
            json.key("p"); json.int(encryption.p)
            json.key("salt"); json.string(encryption.salt)
            json.key("check"); json.string(encryption.check)
            json.close("}")
        }
        json.key("pages"); json.open("[")
        for page in manifest.pages {
            json.open("{")
            json.key("uid"); json.string(page.uid)
            json.key("file"); json.string(page.file)
            json.close("}")
        }
        json.close("]")
        if let details = manifest.details {
            json.key("details"); json.open("[")
            for page in details {
                json.open("{")
                json.key("uid"); json.string(page.uid)
                json.key("width"); json.int(page.width)
                json.key("height"); json.int(page.height)
                json.key("format"); json.string(page.format)
                json.key("xDPI"); try json.double(page.xDPI)
                json.key("yDPI"); try json.double(page.yDPI)
                if let type = page.mediaType { json.key("mediaType"); json.string(type) }
                json.key("byteCount"); json.int(page.byteCount)
                if let sha256 = page.sha256 { json.key("sha256"); json.string(sha256) }
                json.close("}")
            }
            json.close("]")
        }
        if let sealed = manifest.sealedDetails { json.key("sealedDetails"); json.string(sealed) }
        json.close("}")
        return json.bytes
    }
}

/// JSON text appended value by value; commas between the members of each open object or array.
struct JSONText {
    var bytes: [UInt8] = []
    /// Per open object or array: whether a member was written yet.
    private var hasMembers: [Bool] = []

    mutating func open(_ bracket: Unicode.Scalar) {
        separate()
        bytes.append(UInt8(bracket.value))
        hasMembers.append(false)
    }

    mutating func close(_ bracket: Unicode.Scalar) {
        bytes.append(UInt8(bracket.value))
        hasMembers.removeLast()
    }

    mutating func key(_ name: String) {
        string(name)
        bytes.append(0x3A)   // ":"; the value that follows belongs to this member
        hasMembers[hasMembers.count - 1] = false
    }

    mutating func int<T: BinaryInteger>(_ value: T) {
        separate()
        bytes += String(value).utf8
    }

    /// The shortest text that reads back as the same Double; JSON has no NaN or infinity.
    mutating func double(_ value: Double) throws(ManifestJSON.InvalidValue) {
        guard value.isFinite else { throw ManifestJSON.InvalidValue() }
        separate()
        bytes += value.description.utf8
    }

    mutating func string(_ value: String) {
        separate()
        bytes.append(0x22)
        for byte in value.utf8 {
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
        bytes.append(0x22)
    }

    /// A comma before every member but the first of the innermost open object or array.
    private mutating func separate() {
        guard let last = hasMembers.indices.last else { return }
        if hasMembers[last] { bytes.append(0x2C) }
        hasMembers[last] = true
    }
}
