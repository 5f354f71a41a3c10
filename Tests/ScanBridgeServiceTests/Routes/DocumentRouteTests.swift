import Foundation
import HTTPTypes
import ScanBridgeImaging
import Testing

extension RouteTests {
    @Suite("Documents")
    struct Documents {
        static let password = HTTPField.Name("DWT-DOC-PASSWORD")!
        static let legacyPassword = HTTPField.Name("X-DICS-DOC-PASSWORD")!

        @Test("a document takes a job's pages by url and renders them as PDF (qpdf), TIFF (tiffinfo) and PNG")
        func documentFromScannedPages() async throws {
            try await RouteFixture.with { fixture in
                let job = try await fixture.scan(pages: 2, pixelType: 2, resolution: 75)
                let firstURL = try await fixture.nextPageURL(job)
                let secondURL = try await fixture.nextPageURL(job)
                let document = try await fixture.createDocument()

                let one = try await fixture.send(.post, "/api/storage/documents/\(document)/pages", json: #"{"source":"\#(firstURL)"}"#)
                #expect(one.status == 200 && RouteFixture.pageUIDs(one).count == 1, "\(one.text)")
                let two = try await fixture.send(.post, "/api/storage/documents/\(document)/pages",
                                                 json: #"{"source":"\#(secondURL)","insertPos":0}"#)
                let pages = RouteFixture.pageUIDs(two)
                #expect(two.status == 200 && pages.count == 2, "\(two.text)")
                #expect(pages.last == RouteFixture.pageUIDs(one).first, "insertPos 0 puts the second page first")
                let info = try await fixture.send(.get, "/api/storage/documents/\(document)")
                #expect(info.status == 200 && info.body == two.body)

                let pdf = try await fixture.send(.get, "/api/storage/documents/\(document)/content?type=application/pdf&title=Routes")
                #expect(pdf.status == 200 && pdf.contentType == "application/pdf" && pdf.streamed)
                #expect(pdf.body.starts(with: Array("%PDF-".utf8)))
                #expect(String(decoding: pdf.body.suffix(16), as: UTF8.self).contains("%%EOF"))
                let check = try await ExternalTool.run("qpdf", ["--check", "{}"], on: pdf.body, name: "document.pdf")
                #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
                let count = try await ExternalTool.run("qpdf", ["--show-npages", "{}"], on: pdf.body, name: "document.pdf")
                #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(count.stdout)\(count.stderr)")

                let tiff = try await fixture.send(.get, "/api/storage/documents/\(document)/content?type=image/tiff")
                #expect(tiff.status == 200 && tiff.contentType == "image/tiff")
                let tiffinfo = try await ExternalTool.run("tiffinfo", ["{}"], on: tiff.body, name: "document.tif")
                #expect(tiffinfo.status == 0, "\(tiffinfo.stderr)")
                #expect(tiffinfo.stdout.components(separatedBy: "TIFF Directory").count - 1 == 2, "\(tiffinfo.stdout)")
                let size = testScannerPageSize(dpi: 75)
                let tiffPages = try TIFFCodec.decode(tiff.body)
                #expect(tiffPages.map(\.width) == [size.width, size.width] && tiffPages.map(\.height) == [size.height, size.height])

                let png = try await fixture.send(.get, "/api/storage/documents/\(document)/content?type=image/png&pages=\(pages[1])")
                #expect(png.status == 200 && png.contentType == "image/png")
                let image = try PNGCodec.decode(png.body)
                #expect(image.width == size.width && image.height == size.height && image.format == .rgb24)

                // With an output password the PDF is encrypted: qpdf opens it only with the password.
                let locked = try await fixture.send(.get, "/api/storage/documents/\(document)/content?type=application/pdf&password=secret")
                #expect(locked.status == 200 && locked.body.starts(with: Array("%PDF-".utf8)))
                let withoutPassword = try await ExternalTool.run("qpdf", ["--check", "{}"], on: locked.body, name: "locked.pdf")
                #expect(withoutPassword.status != 0)
                let withPassword = try await ExternalTool.run("qpdf", ["--password=secret", "--check", "{}"], on: locked.body, name: "locked.pdf")
                #expect(withPassword.status == 0, "\(withPassword.stdout)\(withPassword.stderr)")

                let removed = try await fixture.send(.delete, "/api/storage/documents/\(document)/pages/\(pages[0])")
                #expect(removed.status == 204)
                let after = try await fixture.send(.get, "/api/storage/documents/\(document)")
                #expect(RouteFixture.pageUIDs(after) == [pages[1]])
                let onePage = try await fixture.send(.get, "/api/storage/documents/\(document)/content?type=application/pdf")
                let pageCount = try await ExternalTool.run("qpdf", ["--show-npages", "{}"], on: onePage.body, name: "one.pdf")
                #expect(pageCount.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(pageCount.stdout)\(pageCount.stderr)")

                #expect(try await fixture.send(.delete, "/api/storage/documents/\(document)").status == 204)
                expectDWTError(try await fixture.send(.get, "/api/storage/documents/\(document)"), status: 404, code: -1040)
            }
        }

        @Test("a document with a password answers 403 (-1043) without it or with a wrong one, and works with it")
        func passwordProtectedDocument() async throws {
            try await RouteFixture.with { fixture in
                let job = try await fixture.scan(pages: 1, pixelType: 1, resolution: 75)
                let url = try await fixture.nextPageURL(job)
                let document = try await fixture.createDocument(json: #"{"password":"s3cret"}"#)
                let inserted = try await fixture.send(.post, "/api/storage/documents/\(document)/pages",
                                                      json: #"{"source":"\#(url)","password":"s3cret"}"#)
                #expect(inserted.status == 200 && RouteFixture.pageUIDs(inserted).count == 1, "\(inserted.text)")

                let path = "/api/storage/documents/\(document)"
                expectDWTError(try await fixture.send(.get, path), status: 403, code: -1043)
                expectDWTError(try await fixture.send(.get, path, headers: [Self.password: "wrong"]), status: 403, code: -1043)
                expectDWTError(try await fixture.send(.get, path + "/content?type=application/pdf", headers: [Self.legacyPassword: "nope"]),
                               status: 403, code: -1043)
                let opened = try await fixture.send(.get, path, headers: [Self.legacyPassword: "s3cret"])
                #expect(opened.status == 200 && RouteFixture.pageUIDs(opened) == RouteFixture.pageUIDs(inserted))
                let pdf = try await fixture.send(.get, path + "/content?type=application/pdf", headers: [Self.password: "s3cret"])
                #expect(pdf.status == 200 && pdf.body.starts(with: Array("%PDF-".utf8)))
                let count = try await ExternalTool.run("qpdf", ["--show-npages", "{}"], on: pdf.body, name: "protected.pdf")
                #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(count.stdout)\(count.stderr)")

                expectDWTError(try await fixture.send(.delete, path, headers: [Self.password: "wrong"]), status: 403, code: -1043)
                #expect(try await fixture.send(.delete, path, headers: [Self.password: "s3cret"]).status == 204)
            }
        }

        @Test("document requests with bad parameters are 400 (-2113)")
        func badDocumentRequests() async throws {
            try await RouteFixture.with { fixture in
                expectDWTError(try await fixture.send(.post, "/api/storage/documents", json: #"{"password":"\#(String(repeating: "x", count: 33))"}"#),
                               status: 400, code: -2113)
                let document = try await fixture.createDocument()
                let content = "/api/storage/documents/\(document)/content"
                expectDWTError(try await fixture.send(.get, content + "?type=text/html"), status: 400, code: -2113)
                expectDWTError(try await fixture.send(.get, content + "?quality=0"), status: 400, code: -2113)
                expectDWTError(try await fixture.send(.get, content), status: 400, code: -2113)   // no pages yet
                expectDWTError(try await fixture.send(.post, "/api/storage/documents/\(document)/pages", json: ""), status: 400, code: -2113)
                expectDWTError(try await fixture.send(.post, "/api/storage/documents/\(document)/import", body: Array("not an image".utf8)),
                               status: 400, code: -2113)
            }
        }
    }
}
