import ScanBridgeCore
import ScanBridgeImaging

/// One page of an imported PDF: its image kept as the PDF held it, or the page rendered.
public struct PDFImportedPage: Sendable {
    public enum Content: Sendable {
        /// The page's JPEG, byte for byte.
        case jpeg([UInt8])
        /// The page's CCITT G4 data in a one-page TIFF (`TIFFCodec.wrapping`), not re-encoded.
        case ccittG4TIFF([UInt8])
        /// The page drawn by poppler.
        case rendered(Image)
    }

    public var content: Content
    public var width: Int
    public var height: Int
    public var format: PixelFormat
    public var xDPI: Double
    public var yDPI: Double
}

/// PDF files as pages (the rasterizer add-on). Pages that are a single JPEG or CCITT G4 image
/// keep that image; every other page is rendered by poppler at the requested resolution.
/// All or nothing: a page that cannot be read fails the whole import.
public enum PDFImport {
    public static let defaultDPI = 200
    public static let dpiRange = 36...600
    /// A page rendered larger than this many pixels is refused (a poster-sized page at 600 dpi).
    public static let maxRenderedPixels = 120_000_000

    /// The pages of `bytes`. Throws -1043 (wrong or missing password) or -2113 (not a PDF
    /// poppler can open, a damaged page, a resolution out of range).
    public static func pages(of bytes: [UInt8], password: String?, dpi: Int = defaultDPI,
                             pool: ComputePool = .shared) async throws -> [PDFImportedPage] {
        guard dpiRange.contains(dpi) else {
            throw ScanBridgeError(code: -2113, message: "dpi must be \(dpiRange.lowerBound)…\(dpiRange.upperBound), got \(dpi)")
        }
        // Our own reader finds the pages that are one image (CPU work: the compute pool).
        let kept: [SingleImagePage?]? = try await pool.run {
            let file = PDFFile(bytes)
            guard !file.isEncrypted, let pages = try? file.pages() else { return nil }
            return pages.map { SingleImagePage($0, in: file) }
        }
        let resolution = Double(dpi)
        let (count, useKept, rendered) = try await PopplerDocument.thread.run { () throws -> (Int, Bool, [Int: Image]) in
            let document: PopplerDocument
            do throws(PopplerDocument.OpenError) {
                document = try PopplerDocument(bytes: bytes, password: password)
            } catch .encrypted {
                throw ScanBridgeError(code: -1043, message: password == nil ? "The PDF is encrypted: give its password" : "The PDF's password is wrong")
            } catch .damaged(let reason) {
                throw ScanBridgeError(code: -2113, message: "The body is not a PDF that can be read: \(reason)")
            }
            let count = document.pageCount
            guard count > 0 else { throw ScanBridgeError(code: -2113, message: "The PDF has no pages") }
            // The reader's page list is used only when it agrees with poppler's.
            let useKept = kept?.count == count
            let keep = useKept ? kept! : [SingleImagePage?](repeating: nil, count: count)
            var images: [Int: Image] = [:]
            for index in 0..<count where keep[index] == nil {
                guard let size = document.pixelSize(page: index, dpi: resolution), size.width * size.height <= maxRenderedPixels else {
                    throw ScanBridgeError(code: -2113, message: "Page \(index + 1) of the PDF is too large to render at \(dpi) dpi")
                }
                images[index] = try document.render(page: index, dpi: resolution)
            }
            return (count, useKept, images)
        }
        var pages: [PDFImportedPage] = []
        for index in 0..<count {
            if let image = rendered[index] {
                pages.append(PDFImportedPage(content: .rendered(image), width: image.width, height: image.height,
                                             format: image.format, xDPI: image.xDPI, yDPI: image.yDPI))
            } else if useKept, let page = kept?[index] {
                pages.append(try await pool.run { try keptPage(page, number: index + 1) })
            }
        }
        return pages
    }

    /// A kept image, checked by decoding it once: a damaged image fails the import now rather
    /// than every later render.
    private static func keptPage(_ page: SingleImagePage, number: Int) throws -> PDFImportedPage {
        let content: PDFImportedPage.Content
        do {
            switch page.data {
            case .jpeg(let bytes):
                _ = try JPEGCodec.decode(bytes)
                content = .jpeg(bytes)
            case .ccittG4(let strip):
                let tiff = try TIFFCodec.wrapping(strip, xDPI: page.xDPI, yDPI: page.yDPI)
                _ = try TIFFCodec.decodeFirstPage(tiff)
                content = .ccittG4TIFF(tiff)
            }
        } catch {
            throw ScanBridgeError(code: -2113, message: "The image of page \(number) of the PDF is damaged: \(error)")
        }
        return PDFImportedPage(content: content, width: page.width, height: page.height, format: page.format, xDPI: page.xDPI, yDPI: page.yDPI)
    }
}
