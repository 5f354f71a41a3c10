import Foundation
import HTTPTypes
import ScanBridgeImaging
import Testing

extension RouteTests {
    @Suite("Processing: rotate, skew, deskew")
    struct ImageProcessing {
        /// A text-like page (rows of dark word blocks on white), turned clockwise by `degrees`.
        static func skewedPage(degrees: Double) -> Image {
            var page = Image(width: 800, height: 1000, format: .gray8, xDPI: 100, yDPI: 100)
            for line in 0..<20 {
                let top = 120 + line * 38
                var x = 100
                while x < 680 {
                    let word = 30 + (x * 7 + line * 13) % 50
                    for y in top..<(top + 12) { for dx in 0..<min(word, 700 - x) { page.pixels[y * page.stride + x + dx] = 20 } }
                    x += word + 14
                }
            }
            return page.rotated(degrees: degrees, expand: false)
        }

        /// Imports `image` into a new document and answers the stored page's URL.
        static func storedPageURL(_ image: Image, fixture: RouteFixture) async throws -> String {
            let uid = try await fixture.createDocument()
            let imported = try await fixture.send(.post, "/api/storage/documents/\(uid)/import", body: try PNGCodec.encode(image))
            #expect(imported.status == 200, "\(imported.text)")
            return "http://127.0.0.1:18622/api/storage/documents/\(uid)/pages/0"
        }

        static func skew(of source: String, fixture: RouteFixture) async throws -> Double {
            let response = try await fixture.send(.post, "/api/process/calculate-skew-angle", json: #"{"source":"\#(source)"}"#)
            #expect(response.status == 200, "\(response.text)")
            return try #require(response.object["result"] as? Double, "\(response.text)")
        }

        @Test("calculate-skew-angle finds a 3° skew within 0.5°; deskew straightens the page; the stored page is unchanged")
        func skewAndDeskew() async throws {
            try await RouteFixture.with { fixture in
                let source = try await Self.storedPageURL(Self.skewedPage(degrees: 3), fixture: fixture)
                let angle = try await Self.skew(of: source, fixture: fixture)
                #expect(abs(angle - 3) <= 0.5, "found \(angle)°")

                let deskewed = try await fixture.send(.post, "/api/process/deskew", json: #"{"source":"\#(source)"}"#)
                #expect(deskewed.status == 200 && deskewed.contentType == "image/png", "\(deskewed.text.prefix(200))")
                #expect(Double(deskewed[HTTPField.Name("X-Skew-Angle")!] ?? "") == angle)
                let straight = try PNGCodec.decode(deskewed.body)
                #expect(straight.width == 800 && straight.height == 1000)
                let residual = try await Self.skew(of: try await Self.storedPageURL(straight, fixture: fixture), fixture: fixture)
                #expect(abs(residual) < abs(angle) && abs(residual) <= 0.5, "residual \(residual)° after \(angle)°")

                #expect(try await Self.skew(of: source, fixture: fixture) == angle, "the source page is left as it was")
            }
        }

        @Test("rotate turns a scanned page: 90° swaps the sides, keepSize keeps them; errors 400 and 404")
        func rotate() async throws {
            try await RouteFixture.with { fixture in
                let job = try await fixture.scan(pages: 1, pixelType: 2, resolution: 75)
                let url = try await fixture.nextPageURL(job)
                let size = testScannerPageSize(dpi: 75)
                let quarter = try await fixture.send(.post, "/api/process/rotate", json: #"{"source":"\#(url)","settings":{"rotation":90}}"#)
                #expect(quarter.status == 200 && quarter.contentType == "image/png", "\(quarter.text.prefix(200))")
                let turned = try PNGCodec.decode(quarter.body)
                #expect(turned.width == size.height && turned.height == size.width)
                let original = try PNGCodec.decode(try await fixture.send(.get, try RouteFixture.target(of: url)).body)
                #expect(turned == original.rotated(quarterTurns: 1), "the pixels of a quarter turn")

                let kept = try await fixture.send(.post, "/api/process/rotate?type=image/jpeg",
                                                  json: #"{"source":"\#(url)","settings":{"rotation":10,"keepSize":true}}"#)
                #expect(kept.status == 200 && kept.contentType == "image/jpeg")
                let keptImage = try JPEGCodec.decode(kept.body)
                #expect(keptImage.width == size.width && keptImage.height == size.height)
                let grown = try PNGCodec.decode(try await fixture.send(.post, "/api/process/rotate",
                                                                       json: #"{"source":"\#(url)","settings":{"rotation":10}}"#).body)
                #expect(grown.width > size.width && grown.height > size.height)

                expectDWTError(try await fixture.send(.post, "/api/process/rotate", json: #"{"source":"\#(url)"}"#), status: 400, code: -2113)
                expectDWTError(try await fixture.send(.post, "/api/process/rotate", json: #"{"source":"\#(url)","settings":{"rotation":"x"}}"#),
                               status: 400, code: -2113)
                expectDWTError(try await fixture.send(.post, "/api/process/rotate", json: #"{"source":"\#(url)","settings":{"rotation":1000}}"#),
                               status: 400, code: -2113)
                expectDWTError(try await fixture.send(.post, "/api/process/calculate-skew-angle", json: #"{"source":"not a page"}"#),
                               status: 400, code: -2113)
                let missing = try await fixture.send(.post, "/api/process/deskew",
                                                     json: #"{"source":"http://127.0.0.1:18622/api/device/scanners/jobs/\#(job)/next-page?page=nopage"}"#)
                #expect(missing.status == 404, "\(missing.text)")
            }
        }
    }
}
