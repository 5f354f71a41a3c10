import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeStorage

/// An image file sent to `…/import`, turned into stored pages one page at a time: a multi-page
/// TIFF's directories are read first (sizes only), the whole file is refused when its pages
/// together exceed `maxPixels`, and then each page is decoded and brought to its stored form
/// before the next is decoded, so memory holds one decoded page, not all of them.
struct ImageImport {
    var bytes: [UInt8]
    /// Pixels of all pages together (`ImportMaxMegapixels`).
    var maxPixels: Int

    func storedPages() async throws -> [Page] {
        let bytes = self.bytes
        guard ImageFileFormat(detecting: bytes) == .tiff else {
            let image = try await decoding { try ImageDecoder.decode(bytes) }
            return [try await PageRendering.storedForm(Page(image: image))]
        }
        let sizes = try await decoding { try TIFFCodec.pageSizes(bytes) }
        let total = sizes.reduce(0) { sum, size in sum + size.width * size.height }
        guard total <= maxPixels else {
            throw DWTErrors.invalidParameter("The TIFF file's \(sizes.count) page(s) hold \(total / 1_000_000) megapixels together; "
                                             + "an import takes at most \(maxPixels / 1_000_000) (ImportMaxMegapixels)")
        }
        var pages: [Page] = []
        for index in sizes.indices {
            let image = try await decoding { try TIFFCodec.decodePage(bytes, at: index) }
            pages.append(try await PageRendering.storedForm(Page(image: image)))
        }
        return pages
    }

    private func decoding<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await PageRendering.pool.run(work)
        } catch {
            throw DWTErrors.invalidParameter("The body is not a JPEG, PNG, TIFF, BMP or PDF file this service can read: \(error)")
        }
    }
}
