import Synchronization

/// A `PDFWriter` used from async code: every call runs on the compute pool (the writer
/// compresses and blocks on its sink), one call at a time, pages in call order. Writing into
/// memory, each call hands back what it produced, to be passed on as it is made (a PDF streamed
/// to an HTTP response page by page); writing into a file, it hands back nothing.
public final class AsyncPDFWriter: Sendable {
    private struct State {
        let writer: PDFWriter
        let pieces: PieceByteSink?
    }

    private let state: Mutex<State>
    private let pool: ComputePool

    private enum Destination { case file(String), pieces }

    private init(_ destination: Destination, options: PDFWriter.Options, pool: ComputePool) throws {
        switch destination {
        case .file(let path):
            state = Mutex(State(writer: try PDFWriter(sink: try FileByteSink(path: path), options: options), pieces: nil))
        case .pieces:
            let pieces = PieceByteSink()
            state = Mutex(State(writer: try PDFWriter(sink: pieces, options: options), pieces: pieces))
        }
        self.pool = pool
    }

    /// A PDF written to a new file at `path` (created or truncated).
    public static func file(path: String, options: PDFWriter.Options = PDFWriter.Options(),
                            pool: ComputePool = .shared) async throws -> AsyncPDFWriter {
        try await pool.run { try AsyncPDFWriter(.file(path), options: options, pool: pool) }
    }

    /// A PDF whose bytes each call hands back; the first call's include the header.
    public static func pieces(options: PDFWriter.Options = PDFWriter.Options(),
                              pool: ComputePool = .shared) async throws -> (AsyncPDFWriter, header: [[UInt8]]) {
        try await pool.run {
            let writer = try AsyncPDFWriter(.pieces, options: options, pool: pool)
            return (writer, writer.state.withLock { $0.pieces?.take() ?? [] })
        }
    }

    /// Adds a page (with invisible text over it when `textLayer` is given); returns the bytes
    /// written since the last call (none for a file).
    @discardableResult
    public func addPage(_ page: PDFPageImage, pageSize: PDFPageSize? = nil, textLayer: PDFTextLayer? = nil) async throws -> [[UInt8]] {
        try await pool.run {
            try self.state.withLock { state in
                try state.writer.addPage(page, pageSize: pageSize, textLayer: textLayer)
                return state.pieces?.take() ?? []
            }
        }
    }

    /// Writes the page tree, catalog, trailer and closes the sink; returns the last bytes (none for a file).
    @discardableResult
    public func finish() async throws -> [[UInt8]] {
        try await pool.run {
            try self.state.withLock { state in
                try state.writer.finish()
                return state.pieces?.take() ?? []
            }
        }
    }

    public var pageCount: Int { state.withLock { $0.writer.pageCount } }
}
