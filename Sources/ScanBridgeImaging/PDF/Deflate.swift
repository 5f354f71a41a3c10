import CZlib

/// zlib (RFC 1950) compression, as PDF's /FlateDecode expects.
enum Deflate {
    static func compress(_ data: [UInt8], level: Int) throws -> [UInt8] {
        var capacity = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let status = data.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { dest in
                compress2(dest.baseAddress, &capacity, source.baseAddress, uLong(source.count), Int32(level))
            }
        }
        guard status == Z_OK else { throw ImagingError.library("zlib compress2", "status \(status)", code: Int(status)) }
        out.removeSubrange(Int(capacity)...)
        return out
    }
}
