import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// The body of an import request (`POST …/documents/{uid}/import`, `POST /api/buffer/import`):
/// an image file (JPEG, PNG, BMP, or TIFF, every page of a multi-page TIFF, `ImageImport`) or a
/// PDF (`PDFImportPages`, with the query's `password` and `dpi`), as stored pages: all of them,
/// or an error and none. The body counts against `MaxBodyBytesInFlightMB` while it is read and
/// turned into pages, so both imports share one memory limit.
enum ImportedFile {
    /// The largest body an import takes (413 past it).
    static let maxBodyBytes = 512 << 20

    static func pages(of request: Request, limits: ScanningService.ImportLimits) async throws -> [Page] {
        try await limits.bodies.withCollected(request.body, upTo: maxBodyBytes) { bytes in
            guard !bytes.isEmpty else { throw DWTErrors.invalidParameter("The body must be an image file (JPEG, PNG, TIFF or BMP) or a PDF") }
            if ImageFileFormat(detecting: bytes) == .pdf { return try await PDFImportPages.pages(of: bytes, query: request.query) }
            return try await ImageImport(bytes: bytes, maxPixels: limits.maxPixels).storedPages()
        }
    }

    /// The query's `insertPos`: nil when absent or -1 (the end), else a 0-based position.
    static func insertPosition(_ query: QueryParameters) throws(ScanBridgeError) -> Int? {
        guard let text = query["insertPos"] else { return nil }
        guard let value = Int(text) else { throw DWTErrors.invalidParameter("insertPos must be a number") }
        return try StorageRoutes.position(value)
    }
}
