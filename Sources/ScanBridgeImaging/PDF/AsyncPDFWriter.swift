import ScanBridgeCore

/// A `PDFWriter` usable from async code: every call runs on the writer's own thread
/// (file I/O stays off the cooperative pool) and pages are written in call order.
public final class AsyncPDFWriter: @unchecked Sendable {
    // `writer` is only touched on `thread`.
    private let writer: PDFWriter
    private let thread = DedicatedThreads(name: "sb-pdf-writer")

    public init(path: String, options: PDFWriter.Options = PDFWriter.Options()) throws {
        writer = try PDFWriter(path: path, options: options)
    }

    public init(sink: ByteSink, options: PDFWriter.Options = PDFWriter.Options()) throws {
        writer = try PDFWriter(sink: sink, options: options)
    }

    public func addPage(jpeg bytes: [UInt8], pageSize: PDFPageSize? = nil) async throws {
        try await onQueue { try $0.addPage(jpeg: bytes, pageSize: pageSize) }
    }

    public func addPage(_ image: Image, compression: PDFImageCompression = .automatic, pageSize: PDFPageSize? = nil) async throws {
        try await onQueue { try $0.addPage(image, compression: compression, pageSize: pageSize) }
    }

    public func finish() async throws {
        try await onQueue { try $0.finish() }
    }

    public var pageCount: Int { get async { (try? await onQueue { $0.pageCount }) ?? 0 } }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable (PDFWriter) throws -> T) async throws -> T {
        try await thread.run { try body(self.writer) }
    }
}
