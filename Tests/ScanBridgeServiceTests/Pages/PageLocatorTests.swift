import ScanBridgeStorage
import Testing
@testable import ScanBridgeService

@Suite("PageLocator")
struct PageLocatorTests {
    static let locators: [PageLocator] = [
        .jobPage(job: "0f8e1c2a-7d3b-4c55-9a01-2b3c4d5e6f70", page: "9c2d4e6f-0a1b-4c3d-8e5f-6a7b8c9d0e1f"),
        .storedPage(document: "3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912", page: .uid("p0a1b2c3d")),
        .storedPage(document: "3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912", page: .index(12)),
        .bufferThumbnail(id: 0),
        .bufferThumbnail(id: 4711),
        // Values the service never makes still come back as they went in.
        .jobPage(job: "a b", page: "x&y=z+w#q"),
        .storedPage(document: "d/oc?", page: .uid("p%20q")),
    ]

    @Test(arguments: locators)
    func relativeAndAbsoluteFormsReadBackTheSameLocator(_ locator: PageLocator) {
        #expect(locator.path.hasPrefix("/api/"))
        #expect(PageLocator(parsing: locator.path) == locator)
        for base in ["http://127.0.0.1:18622", "https://localhost:18623", "http://[::1]:80"] {
            let url = locator.url(base: base)
            #expect(url == base + locator.path)
            #expect(PageLocator(parsing: url) == locator)
        }
    }

    @Test func theFormsClientsSeeAreTheDocumentedOnes() {
        #expect(PageLocator.jobPage(job: "j1", page: "p1").url(base: "http://127.0.0.1:18622")
                == "http://127.0.0.1:18622/api/device/scanners/jobs/j1/next-page?page=p1")
        #expect(PageLocator.storedPage(document: "d1", page: .uid("pabc")).path == "/api/storage/documents/d1/pages/pabc")
        #expect(PageLocator.storedPage(document: "d1", page: .index(3)).path == "/api/storage/documents/d1/pages/3")
        #expect(PageLocator.bufferThumbnail(id: 17).path == "/api/buffer/17/thumbnail")
    }

    @Test func anyHostAndExtraQueryItemsAreAccepted() {
        #expect(PageLocator(parsing: "http://example.com:9/api/device/scanners/jobs/j/next-page?type=image/png&page=p")
                == .jobPage(job: "j", page: "p"))
        #expect(PageLocator(parsing: "/api/storage/documents/d/pages/007") == .storedPage(document: "d", page: .index(7)))
    }

    @Test(arguments: [
        "", "nonsense", "http://example.com/x.png", "api/buffer/1/thumbnail",
        "/api/device/scanners/jobs/j/next-page",                // no page
        "/api/device/scanners/jobs/j/next-page?page=",          // empty page
        "/api/device/scanners/jobs/j/next-page-info?page=p",
        "/api/device/scanners/jobs//next-page?page=p",          // empty job
        "/api/storage/documents/d/pages",
        "/api/storage/documents/d/pages/1/rotate",
        "/api/storage/documents/d/content",
        "/api/buffer/x/thumbnail", "/api/buffer/-1/thumbnail", "/api/buffer/01/thumbnail", "/api/buffer/1",
        "/DWTAPI/storage/documents/d/pages/1",
        "http://127.0.0.1/api/buffer/1/thumbnail/extra",
    ])
    func otherFormsAreNotLocators(_ text: String) {
        #expect(PageLocator(parsing: text) == nil)
    }
}
