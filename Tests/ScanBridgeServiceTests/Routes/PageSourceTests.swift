import Foundation
import HTTPTypes
import Testing

extension RouteTests {
    /// The `source` of page insertion and processing: only page URLs this service handed out,
    /// looked up locally.
    @Suite("Page sources")
    struct PageSources {
        @Test("a next-page-info url and a stored page url are sources; the stored page is the scanned JPEG")
        func acceptedSources() async throws {
            try await RouteFixture.with { fixture in
                let job = try await fixture.scan(pages: 1, pixelType: 1, resolution: 75)
                let url = try await fixture.nextPageURL(job)
                let scanned = try await fixture.send(.get, try RouteFixture.target(of: url) + "&type=image/jpeg")
                #expect(scanned.status == 200 && Array(scanned.body.prefix(3)) == jpegSignature)

                let first = try await fixture.createDocument()
                let inserted = try await fixture.send(.post, "/api/storage/documents/\(first)/pages", json: #"{"source":"\#(url)"}"#)
                let page = try #require(RouteFixture.pageUIDs(inserted).first, "\(inserted.text)")
                let stored = try await fixture.send(.get, "/api/storage/documents/\(first)/pages/\(page)?type=image/jpeg")
                #expect(stored.status == 200 && stored.contentType == "image/jpeg")
                // A gray page is encoded once, when scanned: the document keeps the url's JPEG as it is.
                #expect(stored.body == scanned.body)

                // Any scheme and host: only the path and query name the page.
                let storedURL = "https://127.0.0.1:18623/api/storage/documents/\(first)/pages/\(page)"
                let second = try await fixture.createDocument()
                let copied = try await fixture.send(.post, "/api/storage/documents/\(second)/pages", json: #"{"source":"\#(storedURL)"}"#)
                let copy = try #require(RouteFixture.pageUIDs(copied).first, "\(copied.text)")
                let copiedPage = try await fixture.send(.get, "/api/storage/documents/\(second)/pages/\(copy)?type=image/jpeg")
                #expect(copiedPage.status == 200 && copiedPage.body == stored.body)

                // Processing routes resolve sources the same way.
                let blank = try await fixture.send(.post, "/api/process/check-blank", json: #"{"source":"\#(storedURL)"}"#)
                #expect(blank.status == 200 && blank.object["result"] is Bool, "\(blank.text)")
            }
        }

        @Test("a foreign or unknown source is an error, never fetched")
        func refusedSources() async throws {
            try await RouteFixture.with { fixture in
                let job = try await fixture.scan(pages: 1, pixelType: 1, resolution: 75)
                _ = try await fixture.nextPageURL(job)
                let document = try await fixture.createDocument()
                let pages = "/api/storage/documents/\(document)/pages"
                func insert(_ source: String) async throws -> RouteResponse {
                    try await fixture.send(.post, pages, json: #"{"source":"\#(source)"}"#)
                }
                expectDWTError(try await insert("http://example.com/x.png"), status: 400, code: -2113)
                expectDWTError(try await insert("nonsense"), status: 400, code: -2113)
                expectDWTError(try await insert("http://localhost/api/device/scanners/jobs/\(job)/next-page?page=nosuchpage"),
                               status: 404, code: -2847)
                expectDWTError(try await insert("http://localhost/api/device/scanners/jobs/nosuchjob/next-page?page=x"),
                               status: 404, code: -1034)
                expectDWTError(try await insert("http://localhost/api/storage/documents/nosuchdocument/pages/0"), status: 404, code: -1040)
                expectDWTError(try await fixture.send(.get, "/api/device/scanners/jobs/\(job)/next-page?page=nosuchpage"),
                               status: 404, code: -2847)
                expectDWTError(try await fixture.send(.post, "/api/process/read-barcode", json: #"{"source":"nonsense"}"#),
                               status: 400, code: -2113)
                let unchanged = try await fixture.send(.get, "/api/storage/documents/\(document)")
                #expect(unchanged.status == 200 && RouteFixture.pageUIDs(unchanged).isEmpty)
            }
        }
    }
}
