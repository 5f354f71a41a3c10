import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgePDFImport
import ScanBridgeStorage

/// The PDF branch of the document import: the PDF's pages as stored pages. A page that is one
/// JPEG or G4 image keeps it byte for byte (JPEG as `image/jpeg`, G4 in a one-page TIFF); a
/// rendered page takes the stored form. Query: `password` (the PDF's), `dpi` (rendering, 200).
enum PDFImportPages {
    static func pages(of bytes: [UInt8], query: QueryParameters) async throws -> [Page] {
        let dpi = try query["dpi"].map { text throws(ScanBridgeError) -> Int in
            guard let value = Int(text) else { throw DWTErrors.invalidParameter("dpi must be a number, got \(text)") }
            return value
        } ?? PDFImport.defaultDPI
        let password = query["password"].flatMap { $0.isEmpty ? nil : $0 }
        var pages: [Page] = []
        for page in try await PDFImport.pages(of: bytes, password: password, dpi: dpi) {
            let info = PageInfo(width: page.width, height: page.height, format: page.format, xDPI: page.xDPI, yDPI: page.yDPI)
            switch page.content {
            case .jpeg(let jpeg): pages.append(Page(encoded: jpeg, mediaType: ImageFileFormat.jpeg.mimeType, info: info))
            case .ccittG4TIFF(let tiff): pages.append(Page(encoded: tiff, mediaType: ImageFileFormat.tiff.mimeType, info: info))
            case .rendered(let image): pages.append(try await PageRendering.storedForm(Page(image: image)))
            }
        }
        return pages
    }
}
