import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeImaging

/// Every PDF produced here is checked by qpdf and rendered by pdftoppm (poppler).
@Suite("PDF writer")
struct PDFTests {
    /// `qpdf --check` must pass (exit 0, no warnings).
    static func expectQpdfCheck(_ path: String, password: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try runTool("qpdf", (password.map { ["--password=\($0)"] } ?? []) + ["--check", path])
        #expect(result.status == 0, "qpdf --check: \(String(decoding: result.output, as: UTF8.self)) \(result.errors)", sourceLocation: sourceLocation)
        #expect(String(decoding: result.output, as: UTF8.self).contains("No syntax or stream encoding errors found"), sourceLocation: sourceLocation)
    }

    /// Renders one page with pdftoppm as PBM, PGM or PPM, at 4× `dpi`, and samples the centre of
    /// each 4×4 block. Poppler interpolates images drawn at less than 4× their size (bilinear
    /// with a half-pixel offset, so not even 1:1 is exact); from 4× up it replicates pixels.
    static func render(_ path: String, page: Int, dpi: Double, mode: PixelFormat, password: String? = nil) throws -> Image {
        let folder = try temporaryFolder("render")
        defer { try? FileManager.default.removeItem(at: folder) }
        let prefix = folder.appendingPathComponent("page").path
        var arguments = ["-r", String(dpi * 4), "-f", String(page), "-l", String(page), "-singlefile"]
        if let password { arguments += ["-upw", password] }
        switch mode {
        case .bw1: arguments.append("-mono")
        case .gray8: arguments.append("-gray")
        default: break
        }
        let result = try runTool("pdftoppm", arguments + [path, prefix])
        guard result.status == 0 else { throw ImagingError.invalid("pdftoppm failed: \(result.errors)") }
        let suffix = mode == .bw1 ? "pbm" : (mode == .gray8 ? "pgm" : "ppm")
        let big = try readPNM(try Data(contentsOf: URL(fileURLWithPath: prefix + "." + suffix)))
        return big.remapped(width: big.width / 4, height: big.height / 4) { x, y in (4 * x + 2, 4 * y + 2) }
    }

    /// Each page of the PDF at `path`, rendered by poppler, is `pages[i]` pixel for pixel (16-bit
    /// pages: poppler reduces them to 8 bits by truncation, so at most 1 level apart).
    static func expectPagesRenderExactly(_ path: String, _ pages: [Image], dpi: Double, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (index, page) in pages.enumerated() {
            let mode: PixelFormat = page.format == .gray16 ? .gray8 : page.format
            let rendered = try render(path, page: index + 1, dpi: dpi, mode: mode)
            let expected = page.converted(to: mode)
            #expect(rendered.width == page.width && rendered.height == page.height, "page \(index + 1)", sourceLocation: sourceLocation)
            if page.format == .gray16 {
                let diff = zip(rendered.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 99
                #expect(diff <= 1, "page \(index + 1): max difference \(diff)", sourceLocation: sourceLocation)
            } else {
                #expect(Bool(samePixels(rendered, expected)), "page \(index + 1) (\(page.format)) differs: mean \(meanAbsoluteDifference(rendered, expected))",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test func crossReferenceEntriesPastTwoGiB() {
        // A 500-page colour document is over 2 GiB; its last objects' offsets must stay exact
        // (they were printed through a 32-bit conversion and came out negative).
        #expect(PDFWriter.xrefEntry(offset: 0) == "0000000000 00000 n \n")
        #expect(PDFWriter.xrefEntry(offset: 4_432_855) == "0004432855 00000 n \n")
        #expect(PDFWriter.xrefEntry(offset: 2_216_497_560) == "2216497560 00000 n \n")
        #expect(PDFWriter.xrefEntry(offset: 9_999_999_999) == "9999999999 00000 n \n")
        #expect(PDFWriter.xrefEntry(offset: 2_216_497_560).utf8.count == 20, "xref entries are 20 bytes")
    }

    @Test func losslessPagesRenderPixelExact() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("lossless.pdf").path
        // 144 dpi: 72/144 and 144/72 are exact in binary floating point, so poppler maps image
        // pixels 1:1 onto device pixels (at 150 dpi, 288 pt × 150/72 rounds up to 601 px and
        // poppler resamples).
        let dpi = 144.0
        let pages: [(Image, PDFImageCompression)] = [
            (TestPage.make(width: 450, height: 600, format: .rgb24, dpi: dpi, seed: 11), .flate),
            (TestPage.make(width: 600, height: 450, format: .gray8, dpi: dpi, seed: 12), .automatic),
            (TestPage.make(width: 453, height: 601, format: .bw1, dpi: dpi, seed: 13), .automatic),   // CCITT G4
            (TestPage.make(width: 453, height: 601, format: .bw1, dpi: dpi, seed: 14), .flate),
            (TestPage.make(width: 300, height: 240, format: .gray16, dpi: dpi, seed: 15), .automatic),
        ]
        let writer = try PDFWriter(path: path)
        for (page, compression) in pages { try writer.addPage(page, compression: compression) }
        try writer.finish()
        try Self.expectQpdfCheck(path)
        let raw = try Data(contentsOf: URL(fileURLWithPath: path)).bytes
        #expect(String(decoding: raw, as: UTF8.self).contains("/CCITTFaxDecode"))
        try Self.expectPagesRenderExactly(path, pages.map(\.0), dpi: dpi)
    }

    @Test func jpegPagesAreEmbeddedUnchangedAndRenderWithinTolerance() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("jpeg.pdf").path
        let colour = TestPage.make(width: 500, height: 700, format: .rgb24, dpi: 144, seed: 21)
        let gray = TestPage.make(width: 700, height: 500, format: .gray8, dpi: 144, seed: 22)
        let jpegs = [try JPEGCodec.encode(colour, quality: 80), try JPEGCodec.encode(gray, quality: 80)]
        let writer = try PDFWriter(path: path)
        for jpeg in jpegs { try writer.addPage(jpeg: jpeg) }
        try writer.finish()
        try Self.expectQpdfCheck(path)
        let pdf = try Data(contentsOf: URL(fileURLWithPath: path))
        for (index, jpeg) in jpegs.enumerated() {
            #expect(pdf.range(of: Data(jpeg)) != nil, "JPEG \(index + 1) embedded byte for byte")
            let decoded = try JPEGCodec.decode(jpeg)
            let rendered = try Self.render(path, page: index + 1, dpi: 144, mode: decoded.format)
            #expect(rendered.width == decoded.width && rendered.height == decoded.height)
            // Stated tolerance: poppler's JPEG decoder vs TurboJPEG's: mean |Δ| ≤ 1, max ≤ 8.
            let mean = meanAbsoluteDifference(rendered, decoded)
            let maximum = zip(rendered.pixels, decoded.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(mean <= 1 && maximum <= 8, "page \(index + 1): mean \(mean), max \(maximum)")
        }
    }

    @Test func pngPagesPassThroughAsFlateAndRenderPixelExact() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("png.pdf").path
        let dpi = 144.0
        // Odd widths: the last byte of a bw1 row is partly padding, and RGB rows are not 4-aligned.
        let pages = [
            TestPage.make(width: 453, height: 601, format: .bw1, dpi: dpi, seed: 41),
            TestPage.make(width: 601, height: 453, format: .gray8, dpi: dpi, seed: 42),
            TestPage.make(width: 451, height: 600, format: .rgb24, dpi: dpi, seed: 43),
            TestPage.make(width: 301, height: 240, format: .gray16, dpi: dpi, seed: 44),
        ]
        let pngs = try pages.map { try PNGCodec.encode($0, compressionLevel: 6, filters: .all) }
        let writer = try PDFWriter(path: path)
        for png in pngs {
            // The dpi given exactly, as the document store does (pHYs holds whole pixels per metre).
            let image = try #require(try PDFPageImage(passingThrough: png, xDPI: dpi, yDPI: dpi))
            try writer.addPage(image)
        }
        try writer.finish()
        try Self.expectQpdfCheck(path)
        let pdf = try Data(contentsOf: URL(fileURLWithPath: path))
        for (index, png) in pngs.enumerated() {
            #expect(pdf.range(of: Data(try PNGDatastream(png).imageData)) != nil, "page \(index + 1): the IDAT stream is embedded as it is")
        }
        try Self.expectPagesRenderExactly(path, pages, dpi: dpi)
        let scan = try PNGDatastream(try PNGCodec.encode(TestPage.make(width: 80, height: 60, format: .bw1, dpi: 300, seed: 46)))
        #expect(scan.xDPI == 300 && scan.yDPI == 300 && scan.bitDepth == 1 && scan.colorType == 0 && scan.isPDFCompatible)
    }

    @Test func pngsThatCannotPassThroughAreRefusedOrLeftToDecode() throws {
        let png = try PNGCodec.encode(TestPage.make(width: 40, height: 30, format: .gray8, dpi: 72, seed: 45))
        // A tRNS chunk (colour-key transparency) has no FlateDecode equivalent: decode instead.
        var transparent = Array(png[0..<33])
        transparent += Self.chunk("tRNS", [0, 0])
        transparent += png[33...]
        #expect(try PDFPageImage(passingThrough: transparent) == nil)
        var damaged = png
        damaged[40] ^= 0xFF
        #expect(throws: ScanBridgeError.self) { try PDFPageImage(passingThrough: damaged) }
        #expect(throws: ScanBridgeError.self) { try PDFPageImage(passingThrough: Array(png.dropLast(12))) }   // no IEND
        #expect(throws: ScanBridgeError.self) { try PDFPageImage(passingThrough: Array(png[0..<20])) }
        #expect(throws: ScanBridgeError.self) { try PDFPageImage(passingThrough: Array("not a png at all".utf8)) }
    }

    /// A PNG chunk: length, type, data, CRC-32 of type and data.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in body {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        return be(UInt32(data.count)) + body + be(crc)
    }

    @Test func metadataVersionAndPaperSize() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("meta.pdf").path
        let date = Date(timeIntervalSince1970: 1_790_000_000)
        let metadata = PDFMetadata(title: "Quarterly scan", author: "Zoë Müller", subject: "Invoices", keywords: ["scan", "invoice"],
                                   creator: "ScanBridge tests", producer: "ScanBridge", creationDate: date, modificationDate: date)
        let writer = try PDFWriter(path: path, options: .init(version: .v2_0, metadata: metadata, pageSize: .paper(.a4)))
        try writer.addPage(TestPage.make(width: 400, height: 560, format: .gray8, dpi: 75))
        try writer.addPage(TestPage.make(width: 900, height: 600, format: .rgb24, dpi: 75), compression: .jpeg(quality: 70))
        try writer.finish()
        try Self.expectQpdfCheck(path)
        let info = squeezed(String(decoding: try runTool("pdfinfo", ["-f", "1", "-l", "2", path]).output, as: UTF8.self))
        #expect(info.contains("Quarterly scan"))
        #expect(info.contains("Zoë Müller"))
        #expect(info.contains("Invoices"))
        #expect(info.contains("scan, invoice"))
        #expect(info.contains("ScanBridge tests"))
        #expect(info.contains("PDF version: 2.0"))
        #expect(info.contains("Page 1 size: 595.276 x 841.89 pts (A4)"))
        #expect(info.contains("Page 2 size: 841.89 x 595.276 pts (A4)"), "landscape image turns the paper")
        #expect(info.contains("2026"))
    }

    @Test func encryptedPDFOpensOnlyWithThePassword() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("secret.pdf").path
        let page = TestPage.make(width: 300, height: 420, format: .gray8, dpi: 72, seed: 31)
        let options = PDFWriter.Options(metadata: PDFMetadata(title: "Secret title"),
                                        encryption: PDFEncryption(userPassword: "s3cret pass", ownerPassword: "owner!", permissions: [.print]))
        let writer = try PDFWriter(path: path, options: options)
        try writer.addPage(page)
        try writer.addPage(jpeg: try JPEGCodec.encode(page, quality: 90))
        try writer.finish()
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(raw.range(of: Data("Secret title".utf8)) == nil, "metadata is encrypted")
        try Self.expectQpdfCheck(path, password: "s3cret pass")
        try Self.expectQpdfCheck(path, password: "owner!")
        let encryption = String(decoding: try runTool("qpdf", ["--password=s3cret pass", "--show-encryption", path]).output, as: UTF8.self)
        #expect(encryption.contains("R = 6"))
        #expect(encryption.contains("AESv3"))
        let out = folder.appendingPathComponent("plain.pdf").path
        let wrong = try runTool("qpdf", ["--password=wrong", "--decrypt", path, out])
        #expect(wrong.status != 0 && wrong.errors.contains("invalid password"))
        let none = try runTool("qpdf", ["--decrypt", path, out])
        #expect(none.status != 0)
        let right = try runTool("qpdf", ["--password=s3cret pass", "--decrypt", path, out])
        #expect(right.status == 0, "\(right.errors)")
        try Self.expectQpdfCheck(out)
        let rendered = try Self.render(path, page: 1, dpi: 72, mode: .gray8, password: "s3cret pass")
        #expect(Bool(samePixels(rendered, page)))
        #expect(throws: ScanBridgeError.self) { try Self.render(path, page: 1, dpi: 72, mode: .gray8) }
        let info = String(decoding: try runTool("pdfinfo", ["-upw", "s3cret pass", path]).output, as: UTF8.self)
        #expect(info.contains("Secret title"))
    }

    @Test func pagesAreStreamedToTheFileAsTheyArrive() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("stream.pdf").path
        let writer = try PDFWriter(path: path)
        var sizes: [Int] = []
        for seed in 1...4 {
            try writer.addPage(jpeg: try JPEGCodec.encode(TestPage.make(width: 200, height: 280, seed: UInt64(seed))))
            let onDisk = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            #expect(onDisk == writer.bytesWritten, "page \(seed) is on disk before the next arrives")
            sizes.append(onDisk)
        }
        #expect(sizes == sizes.sorted() && Set(sizes).count == 4)
        try writer.finish()
        try Self.expectQpdfCheck(path)
        let info = squeezed(String(decoding: try runTool("pdfinfo", [path]).output, as: UTF8.self))
        #expect(info.contains("Pages: 4"), "\(info)")
    }

    @Test func badInputGetsClearErrors() throws {
        let sink = MemoryByteSink()
        let writer = try PDFWriter(sink: sink)
        #expect(throws: ScanBridgeError.self) { try writer.finish() }   // no pages
        #expect(throws: ScanBridgeError.self) { try writer.addPage(jpeg: [0xFF, 0xD8, 0xFF, 0xD9]) }
        #expect(throws: ScanBridgeError.self) { try writer.addPage(TestPage.make(width: 50, height: 50, format: .gray8), compression: .ccittG4) }
        #expect(throws: ScanBridgeError.self) { try PDFWriter(sink: MemoryByteSink(), options: .init(flateLevel: 0)) }
        #expect(throws: ScanBridgeError.self) { try PDFWriter(path: "/nonexistent-folder/x.pdf") }
        // Still usable after rejected input.
        let good = try PDFWriter(sink: MemoryByteSink())
        try good.addPage(TestPage.make(width: 50, height: 50, format: .bw1))
        try good.finish()
        #expect(throws: ScanBridgeError.self) { try good.addPage(TestPage.make(width: 50, height: 50, format: .bw1)) }
    }
}

/// Runs of spaces collapsed to one (pdfinfo aligns its columns).
func squeezed(_ text: String) -> String {
    text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }.joined(separator: "\n")
}
