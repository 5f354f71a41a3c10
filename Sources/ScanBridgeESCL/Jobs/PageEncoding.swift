import ScanBridgeDevices
import ScanBridgeImaging

/// A scanned page made ready for an eSCL client: an image file, or a page for the job's PDF.
enum PreparedPage: Sendable {
    case file([UInt8])
    case pdfPage(PDFPageImage)
}

/// The encodings of eSCL documents. Blocking CPU work: run on the compute pool.
enum PageEncoding {
    static func prepare(_ page: ScannedPage, as format: ESCLScanSettings.DocumentFormat) throws -> PreparedPage {
        let image: Image
        switch page.content {
        case .raster(let raster):
            image = raster
        case .jpeg(let data, _, _):
            if format == .jpeg { return .file(data) }
            if format == .pdf { return .pdfPage(try PDFPageImage(jpeg: data, xDPI: page.xDPI, yDPI: page.yDPI)) }
            image = try JPEGCodec.decode(data)
        }
        switch format {
        case .png:
            return .file(try PNGCodec.encode(eightBit(image)))
        case .jpeg:
            return .file(try jpeg(image))
        case .pdf:
            // Black and white pages as CCITT G4, like DWT documents; gray and colour as the
            // JPEG of the service's stored form.
            if image.format == .bw1 { return .pdfPage(try PDFPageImage(image, compression: .ccittG4)) }
            return .pdfPage(try PDFPageImage(jpeg: try jpeg(image), xDPI: image.xDPI, yDPI: image.yDPI))
        }
    }

    /// JPEG has no 1-bit or 16-bit form: those pages go out as 8-bit gray or colour.
    private static func jpeg(_ image: Image) throws -> [UInt8] {
        var source = eightBit(image)
        if source.format == .bw1 { source = source.converted(to: .gray8) }
        return try JPEGCodec.encode(source, quality: StoredForm.jpegQuality, subsampling: .s420)
    }

    private static func eightBit(_ image: Image) -> Image {
        switch image.format {
        case .gray16: image.converted(to: .gray8)
        case .rgb48: image.converted(to: .rgb24)
        default: image
        }
    }
}
