import Foundation
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage
import Testing
@testable import ScanBridgeService

/// A real document store with pages in their stored form, rendered to files and checked with
/// poppler and qpdf.
@Suite("DocumentRenderer")
struct DocumentRendererTests {
    /// A page of `format` with a diagonal band (so that it is not blank).
    static func image(width: Int, height: Int, format: PixelFormat) -> Image {
        var image = Image(width: width, height: height, format: format, xDPI: 100, yDPI: 100)
        for y in 0..<height {
            for x in 0..<width where abs(x - y) < 12 {
                switch format {
                case .bw1: image.pixels[y * image.stride + x / 8] |= 0x80 >> UInt8(x % 8)
                case .gray8: image.pixels[y * image.stride + x] = 200
                default: for c in 0..<3 { image.pixels[y * image.stride + 3 * x + c] = UInt8(60 * c + 40) }
                }
            }
        }
        return image
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // Runs of spaces as one: pdfinfo aligns its columns.
        let text = String(decoding: data, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return (process.terminationStatus, text)
    }

    /// A store holding one document of three pages (colour, gray, BW) of different sizes.
    static func withDocument(_ body: (DocumentStore, String, String) async throws -> Void) async throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try await DocumentStore.open(folder: folder + "/storage")
        let document = try await store.create()
        var pages: [Page] = []
        for (index, format) in [PixelFormat.rgb24, .gray8, .bw1].enumerated() {
            pages.append(try await PageRendering.storedForm(Page(image: image(width: 200 + 40 * index, height: 300, format: format))))
        }
        _ = try await store.insertPages(pages, into: document.uid)
        try await body(store, document.uid, folder)
        await store.close()
    }

    @Test func aPDFOfEveryPageInOrder() async throws {
        try await Self.withDocument { store, uid, folder in
            let path = folder + "/doc.pdf"
            try await DocumentRenderer(documents: store, uid: uid, password: nil, request: DocumentRequest()).write(toFile: path)
            let bytes = try #require(FileManager.default.contents(atPath: path))
            #expect(bytes.starts(with: Array("%PDF-".utf8)))
            #expect(try Self.run("qpdf", ["--check", path]).status == 0)
            let info = try Self.run("pdfinfo", ["-f", "1", "-l", "3", path]).output
            #expect(info.contains("Pages: 3"))
            // 100 dpi: a page of 200, 240, 280 pixels is 0.72 times that in points.
            for (index, width) in ["144", "172.8", "201.6"].enumerated() {
                #expect(info.contains("Page \(index + 1) size: \(width) x 216 pts"))
            }
        }
    }

    @Test func pagesCompressionAndPasswordFromTheQuery() async throws {
        try await Self.withDocument { store, uid, folder in
            let path = folder + "/two.pdf"
            let request = try DocumentRequest(query: QueryParameters(parsing: "type=application/pdf&pages=2,0&compression=2&password=pw&title=T"))
            try await DocumentRenderer(documents: store, uid: uid, password: nil, request: request).write(toFile: path)
            #expect(try Self.run("qpdf", ["--password=pw", "--check", path]).status == 0)
            #expect(try Self.run("qpdf", ["--check", path]).status != 0, "the PDF needs its password")
            let info = try Self.run("pdfinfo", ["-upw", "pw", "-f", "1", "-l", "2", path]).output
            #expect(info.contains("Pages: 2"))
            #expect(info.contains("Page 1 size: 201.6 x 216 pts"))
            #expect(info.contains("Page 2 size: 144 x 216 pts"))
            #expect(info.contains("Title: T\n"))
        }
    }

    @Test func aTIFFAndOnePageImages() async throws {
        try await Self.withDocument { store, uid, folder in
            let tiff = folder + "/doc.tif"
            try await DocumentRenderer(documents: store, uid: uid, password: nil, request: DocumentRequest(format: .tiff)).write(toFile: tiff)
            let pages = try TIFFCodec.decode(Array(try #require(FileManager.default.contents(atPath: tiff))))
            #expect(pages.map(\.width) == [200, 240, 280])
            let png = folder + "/page.png"
            try await DocumentRenderer(documents: store, uid: uid, password: nil,
                                       request: DocumentRequest(format: .png, pages: [.index(1)])).write(toFile: png)
            let image = try ImageDecoder.decode(Array(try #require(FileManager.default.contents(atPath: png))))
            #expect(image.width == 240 && image.format == .gray8)
        }
    }

    @Test func badRequestsAreDWTErrorsAndLeaveNoFile() async throws {
        try await Self.withDocument { store, uid, folder in
            let path = folder + "/bad.pdf"
            let twoPagesAsJPEG = DocumentRenderer(documents: store, uid: uid, password: nil,
                                                  request: DocumentRequest(format: .jpeg, pages: [.index(0), .index(1)]))
            await #expect(throws: ScanBridgeError(code: -2113, message: "image/jpeg holds one page; name one in pages")) {
                try await twoPagesAsJPEG.write(toFile: path)
            }
            var jpeg2000 = DocumentRequest()
            jpeg2000.compression = 6
            await #expect(throws: ScanBridgeError.self) {
                try await DocumentRenderer(documents: store, uid: uid, password: nil, request: jpeg2000).write(toFile: path)
            }
            let missingPage = DocumentRenderer(documents: store, uid: uid, password: nil, request: DocumentRequest(pages: [.index(7)]))
            await #expect(throws: ScanBridgeError.self) { try await missingPage.write(toFile: path) }
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(throws: ScanBridgeError.self) { try DocumentRequest(query: QueryParameters(parsing: "type=image/gif")) }
            #expect(throws: ScanBridgeError.self) { try DocumentRequest(query: QueryParameters(parsing: "quality=0")) }
        }
    }

    @Test func blackAndWhitePagesAreG4AutomaticallyAndJBIG2OnRequest() async throws {
        try await Self.withDocument { store, uid, folder in
            func render(_ query: String) async throws -> String {
                let path = folder + "/bw.pdf"
                let request = try DocumentRequest(query: QueryParameters(parsing: Substring(query)))
                try await DocumentRenderer(documents: store, uid: uid, password: nil, request: request).write(toFile: path)
                #expect(try Self.run("qpdf", ["--check", path]).status == 0)
                return String(decoding: try #require(FileManager.default.contents(atPath: path)), as: UTF8.self)
            }
            // Page 3 is kept as a 1-bit PNG: auto embeds it as CCITT G4, the others as they are.
            let automatic = try await render("type=application/pdf")
            #expect(automatic.contains("/CCITTFaxDecode") && automatic.contains("/DCTDecode"))
            #expect(!automatic.contains("/JBIG2Decode"))
            let jbig2 = try await render("type=application/pdf&compression=7")
            #expect(jbig2.components(separatedBy: "/JBIG2Decode").count - 1 == 3, "every page made black and white and JBIG2-coded")
            let flate = try await render("type=application/pdf&compression=3&pages=2")
            #expect(flate.contains("/FlateDecode") && !flate.contains("/CCITTFaxDecode"))
            // The document's default applies when the request names no compression.
            _ = try await store.updateMetadata(uid, with: DocumentMetadata(compression: "7"))
            #expect(try await render("type=application/pdf").components(separatedBy: "/JBIG2Decode").count - 1 == 3)
            #expect(try await render("type=application/pdf&compression=0").contains("/CCITTFaxDecode"))
            #expect(throws: ScanBridgeError.self) { try DocumentRenderer.pdfChoice(code: 6, quality: 80) }
        }
    }

    @Test func aPageKeptAsG4IsEmbeddedWithoutReencoding() async throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try await DocumentStore.open(folder: folder + "/storage")
        let document = try await store.create()
        let image = Self.image(width: 203, height: 150, format: .bw1)
        let strip = CCITTG4Strip(data: try TIFFCodec.ccittG4Data(image), width: image.width, height: image.height)
        let tiff = try TIFFCodec.wrapping(strip, xDPI: 100, yDPI: 100)
        _ = try await store.insertPages([Page(encoded: tiff, mediaType: "image/tiff", info: PageInfo(image))], into: document.uid)
        let path = folder + "/g4.pdf"
        try await DocumentRenderer(documents: store, uid: document.uid, password: nil, request: DocumentRequest()).write(toFile: path)
        let pdf = try #require(FileManager.default.contents(atPath: path))
        #expect(pdf.range(of: Data(strip.data)) != nil, "the G4 strip is in the PDF byte for byte")
        #expect(try Self.run("qpdf", ["--check", path]).status == 0)
        await store.close()
    }
}
