import CZlib

/// zlib decompression of PDF FlateDecode streams, bounded so that a small hostile stream cannot
/// claim unbounded memory.
enum Inflate {
    struct TooLarge: Error {}

    static func decompress(_ data: [UInt8], limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw PDFLexer.Malformed() }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var input = data
        return try input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
                guard output.count <= limit else { throw TooLarge() }
                if status == Z_STREAM_END { return output }
                // A stream cut short (as some writers leave them) gives what it holds.
                if status == Z_BUF_ERROR && stream.avail_in == 0 { return output }
                guard status == Z_OK else { throw PDFLexer.Malformed() }
            }
        }
    }
}
