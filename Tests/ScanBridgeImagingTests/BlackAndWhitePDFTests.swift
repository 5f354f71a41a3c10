import Foundation
import Testing
@testable import ScanBridgeImaging

/// Black-and-white pages as CCITT G4 and as our own JBIG2: poppler and MuPDF must both decode
/// every page to exactly the source pixels.
@Suite("Black-and-white PDF images")
struct BlackAndWhitePDFTests {
    static let dpi = 144.0

    /// Text-like pages, all white, all black (padding bits set too), odd widths, tiny pages and
    /// noise (which drives the arithmetic coder's carries and 0xFF stuffing hardest).
    static func pages() -> [Image] {
        var black = Image(width: 203, height: 97, format: .bw1, xDPI: dpi, yDPI: dpi)
        black.pixels = [UInt8](repeating: 0xFF, count: black.pixels.count)
        var rng = SplitMix64(state: 99)
        var noise = Image(width: 157, height: 131, format: .bw1, xDPI: dpi, yDPI: dpi)
        for i in noise.pixels.indices { noise.pixels[i] = UInt8(truncatingIfNeeded: rng.next()) }
        var tiny = Image(width: 3, height: 2, format: .bw1, xDPI: dpi, yDPI: dpi)
        tiny.pixels = [0b1010_0000, 0b0100_0000]
        return [
            TestPage.make(width: 453, height: 601, format: .bw1, dpi: dpi, seed: 61),
            TestPage.make(width: 640, height: 480, format: .bw1, dpi: dpi, seed: 62),
            Image(width: 333, height: 211, format: .bw1, xDPI: dpi, yDPI: dpi),
            black, noise, tiny,
        ]
    }

    /// One page rendered by MuPDF at 4× and sampled at the centre of each 4×4 block, as
    /// `PDFTests.render` does for poppler; gray thresholded to `bw1`.
    static func renderWithMuPDF(_ path: String, page: Int, dpi: Double) throws -> Image {
        let folder = try temporaryFolder("mupdf")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("page.pgm").path
        let result = try runTool("mutool", ["draw", "-q", "-r", String(dpi * 4), "-c", "gray", "-o", output, path, String(page)])
        guard result.status == 0 else { throw ImagingError.invalid("mutool draw failed: \(result.errors)") }
        let big = try readPNM(try Data(contentsOf: URL(fileURLWithPath: output)))
        return big.remapped(width: big.width / 4, height: big.height / 4) { x, y in (4 * x + 2, 4 * y + 2) }.thresholded()
    }

    /// The same `bw1` pixels, padding bits at row ends aside.
    static func sameBits(_ a: Image, _ b: Image) -> Bool {
        guard a.format == .bw1, b.format == .bw1, a.width == b.width, a.height == b.height else { return false }
        for y in 0..<a.height {
            for x in 0..<a.width {
                let bitA = a.pixels[y * a.stride + x / 8] >> (7 - UInt8(x % 8)) & 1
                let bitB = b.pixels[y * b.stride + x / 8] >> (7 - UInt8(x % 8)) & 1
                if bitA != bitB { return false }
            }
        }
        return true
    }

    func write(_ pages: [Image], compression: PDFImageCompression, to path: String) throws {
        let writer = try PDFWriter(path: path)
        for page in pages { try writer.addPage(page, compression: compression) }
        try writer.finish()
    }

    func expectBothRenderersExact(_ path: String, _ pages: [Image], sourceLocation: SourceLocation = #_sourceLocation) throws {
        try PDFTests.expectQpdfCheck(path, sourceLocation: sourceLocation)
        for (index, page) in pages.enumerated() {
            let poppler = try PDFTests.render(path, page: index + 1, dpi: Self.dpi, mode: .bw1)
            #expect(Self.sameBits(poppler, page), "poppler, page \(index + 1) (\(page.width)×\(page.height))", sourceLocation: sourceLocation)
            let mupdf = try Self.renderWithMuPDF(path, page: index + 1, dpi: Self.dpi)
            #expect(Self.sameBits(mupdf, page), "MuPDF, page \(index + 1) (\(page.width)×\(page.height))", sourceLocation: sourceLocation)
        }
    }

    /// Writes every test page with `compression`, checks that each is an image with `filter`
    /// and that both renderers give its pixels back; answers the PDF's text.
    @discardableResult
    func expectRoundTrip(_ compression: PDFImageCompression, filter: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let folder = try temporaryFolder("bw-pdf")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bw.pdf").path
        let pages = Self.pages()
        try write(pages, compression: compression, to: path)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        #expect(text.components(separatedBy: filter).count - 1 == pages.count, "every page is \(filter)", sourceLocation: sourceLocation)
        try expectBothRenderersExact(path, pages, sourceLocation: sourceLocation)
        return text
    }

    @Test func ccittG4PagesDecodeExactlyInPopplerAndMuPDF() throws {
        // Automatic compression gives G4 for black-and-white pages.
        try expectRoundTrip(.automatic, filter: "/CCITTFaxDecode")
    }

    @Test func jbig2PagesDecodeExactlyInPopplerAndMuPDF() throws {
        #expect(!(try expectRoundTrip(.jbig2, filter: "/JBIG2Decode")).contains("/JBIG2Globals"))
    }

    @Test func jbig2IsSmallerThanG4ForTextPages() throws {
        let page = TestPage.make(width: 1240, height: 1754, format: .bw1, dpi: 150, seed: 63)
        let g4 = try TIFFCodec.ccittG4Data(page)
        let jbig2 = try JBIG2GenericEncoder.encode(page)
        #expect(jbig2.count < g4.count, "JBIG2 \(jbig2.count) B against G4 \(g4.count) B")
        #expect(throws: (any Error).self) { try JBIG2GenericEncoder.encode(TestPage.make(width: 20, height: 20, format: .gray8)) }
    }

    @Test func g4StripSurvivesATIFFWrapperUnchanged() throws {
        let page = TestPage.make(width: 453, height: 601, format: .bw1, dpi: 200, seed: 64)
        let strip = CCITTG4Strip(data: try TIFFCodec.ccittG4Data(page), width: page.width, height: page.height)
        let tiff = try TIFFCodec.wrapping(strip, xDPI: 200, yDPI: 200)
        #expect(try TIFFCodec.ccittG4Strip(tiff) == strip)
        #expect(samePixels(try TIFFCodec.decodeFirstPage(tiff), page.packed()))
        #expect(try TIFFCodec.ccittG4Strip(try TIFFCodec.encode(page, compression: .lzw)) == nil)
    }
}
