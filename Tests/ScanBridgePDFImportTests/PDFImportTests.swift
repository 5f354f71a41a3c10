import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import Testing
@testable import ScanBridgePDFImport

/// PDFs written by ScanBridge's own writer read back: single-image pages keep their image,
/// other pages are rendered, and bad files fail whole.
@Suite("PDF import")
struct PDFImportTests {
    static func page(_ width: Int, _ height: Int, _ format: PixelFormat, dpi: Double = 100) -> Image {
        var image = Image(width: width, height: height, format: format, xDPI: dpi, yDPI: dpi)
        for y in 0..<height {
            for x in 0..<width where (x / 7 + y / 5) % 3 == 0 {
                switch format {
                case .bw1: image.pixels[y * image.stride + x / 8] |= 0x80 >> UInt8(x % 8)
                case .gray8: image.pixels[y * image.stride + x] = 40
                default: image.pixels[y * image.stride + 3 * x] = 200
                }
            }
        }
        return image
    }

    static func pdf(_ build: (PDFWriter) throws -> Void, encryption: PDFEncryption? = nil) throws -> [UInt8] {
        let sink = MemoryByteSink()
        let writer = try PDFWriter(sink: sink, options: PDFWriter.Options(encryption: encryption))
        try build(writer)
        try writer.finish()
        return sink.bytes
    }

    @Test func singleImagePagesKeepTheirImageAndOthersAreRendered() async throws {
        let jpeg = try JPEGCodec.encode(Self.page(300, 200, .rgb24), quality: 80)
        let bw = Self.page(301, 150, .bw1, dpi: 150)
        let strip = try TIFFCodec.ccittG4Data(bw)
        let bytes = try Self.pdf { writer in
            try writer.addPage(jpeg: jpeg, xDPI: 100, yDPI: 100)
            try writer.addPage(bw, compression: .ccittG4)
            try writer.addPage(Self.page(144, 72, .gray8, dpi: 72), compression: .flate)
        }
        let pages = try await PDFImport.pages(of: bytes, password: nil, dpi: 144)
        #expect(pages.count == 3)
        guard pages.count == 3 else { return }
        guard case .jpeg(let kept) = pages[0].content else { Issue.record("page 1 was not kept as JPEG"); return }
        #expect(kept == jpeg, "the JPEG byte for byte")
        #expect(pages[0].format == .rgb24 && abs(pages[0].xDPI - 100) < 0.01)
        guard case .ccittG4TIFF(let tiff) = pages[1].content else { Issue.record("page 2 was not kept as G4"); return }
        #expect(try TIFFCodec.ccittG4Strip(tiff)?.data == strip, "the G4 strip byte for byte")
        #expect(pages[1].format == .bw1 && abs(pages[1].xDPI - 150) < 0.01)
        guard case .rendered(let image) = pages[2].content else { Issue.record("page 3 was not rendered"); return }
        // 2 × 1 inches at 144 dpi; a Flate image page is drawn, gray.
        #expect(image.width == 288 && image.height == 144 && image.format == .gray8)
    }

    @Test func passwordsAndDamagedFiles() async throws {
        let bytes = try Self.pdf({ try $0.addPage(Self.page(100, 100, .gray8), compression: .flate) },
                                 encryption: PDFEncryption(userPassword: "secret"))
        await #expect(throws: ScanBridgeError.self) { _ = try await PDFImport.pages(of: bytes, password: nil) }
        do {
            _ = try await PDFImport.pages(of: bytes, password: "wrong")
            Issue.record("a wrong password opened the PDF")
        } catch let error as ScanBridgeError {
            #expect(error.code == -1043)
        }
        let pages = try await PDFImport.pages(of: bytes, password: "secret", dpi: 72)
        #expect(pages.count == 1)
        do {
            _ = try await PDFImport.pages(of: Array("%PDF-1.7\n garbage that is no PDF at all".utf8), password: nil)
            Issue.record("garbage was imported")
        } catch let error as ScanBridgeError {
            #expect(error.code == -2113)
        }
        await #expect(throws: ScanBridgeError.self) { _ = try await PDFImport.pages(of: bytes, password: "secret", dpi: 5000) }
    }

    @Test func theReaderFollowsPageTreesAndContentStreams() throws {
        let text = """
        %PDF-1.4
        1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
        2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 200 100] >> endobj
        3 0 obj << /Type /Page /Parent 2 0 R /Contents 5 0 R >> endobj
        4 0 obj << /Type /Page /Parent 2 0 R /Rotate 90 >> endobj
        5 0 obj << /Length 6 0 R >>
        stream
        q 200 0 0 100 0 0 cm /Im0 Do Q
        endstream
        endobj
        6 0 obj 30 endobj
        """
        let file = PDFFile(Array(text.utf8))
        let pages = try file.pages()
        #expect(pages.count == 2)
        #expect(pages.first?.mediaBox == [0, 0, 200, 100], "inherited from the page tree")
        #expect(pages.last?.rotate == 90)
        #expect(String(decoding: try file.decodedData(of: try file.resolve(pages[0].dictionary["Contents"]), limit: 100), as: UTF8.self)
                == "q 200 0 0 100 0 0 cm /Im0 Do Q")
        // No XObject resources: not a single-image page.
        #expect(SingleImagePage(pages[0], in: file) == nil)
    }

    @Test func objectsInObjectStreamsAreRead() throws {
        // An uncompressed object stream holding the catalog and the page tree.
        let catalog = "<< /Type /Catalog /Pages 3 0 R >>", tree = "<< /Type /Pages /Kids [] /Count 0 /MediaBox [0 0 10 20] >>"
        let header = "2 0 3 \(catalog.utf8.count + 1) "
        let body = header + catalog + " " + tree
        let text = "%PDF-1.5\n1 0 obj << /Type /ObjStm /N 2 /First \(header.utf8.count) /Length \(body.utf8.count) >>\nstream\n\(body)\nendstream\nendobj\n"
        let file = PDFFile(Array(text.utf8))
        #expect(Set(file.objectNumbers) == [1, 2, 3])
        #expect(try file.resolvedDictionary(.reference(2, 0))["Type"]?.name == "Catalog")
        #expect(try file.numbers(try file.resolvedDictionary(.reference(3, 0))["MediaBox"] ?? .null) == [0, 0, 10, 20])
        #expect(try file.pages().isEmpty)
    }
}
