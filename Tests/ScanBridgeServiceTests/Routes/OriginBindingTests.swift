import Foundation
import HTTPTypes
import Testing

extension RouteTests {
    /// A job created by a page belongs to that page's origin: other origins (and local programs,
    /// which send none) get 403 (-2801) for it, its pages and its buffer entries.
    @Suite("Origin binding")
    struct OriginBinding {
        static let origin = HTTPField.Name("Origin")!
        static let mine: HTTPFields = [origin: "https://app.example"]
        static let other: HTTPFields = [origin: "https://evil.example"]

        @Test("a job created with an Origin is 403 for another origin and for none; its own origin uses it")
        func jobBelongsToItsOrigin() async throws {
            try await RouteFixture.with { fixture in
                let uid = try await fixture.scan(pages: 1, pixelType: 1, resolution: 50, headers: Self.mine)
                let job = "/api/device/scanners/jobs/\(uid)"
                let info = try #require(try await fixture.nextPageInfo(uid, headers: Self.mine))
                let url = try #require(info["url"] as? String)
                let id = try #require(info["imageId"] as? Int)

                for foreign in [Self.other, [:]] {
                    expectDWTError(try await fixture.send(.get, job, headers: foreign), status: 403, code: -2801)
                    expectDWTError(try await fixture.send(.get, try RouteFixture.target(of: url), headers: foreign), status: 403, code: -2801)
                    expectDWTError(try await fixture.send(.patch, job, json: #"{"status":"canceled"}"#, headers: foreign), status: 403, code: -2801)
                    expectDWTError(try await fixture.send(.delete, job, headers: foreign), status: 403, code: -2801)
                    expectDWTError(try await fixture.send(.get, "/api/buffer/\(id)/thumbnail", headers: foreign), status: 403, code: -2801)
                    let document = try await fixture.createDocument()
                    expectDWTError(try await fixture.send(.post, "/api/storage/documents/\(document)/pages", json: #"{"source":"\#(url)"}"#,
                                                          headers: foreign), status: 403, code: -2801)
                    let listed = try await fixture.send(.get, "/api/buffer", headers: foreign)
                    #expect(listed.status == 200 && listed.array.isEmpty, "\(listed.text)")
                }

                let own = try await fixture.send(.get, job, headers: Self.mine)
                #expect(own.status == 200 && ["running", "completed"].contains(own.object["status"] as? String ?? ""), "\(own.text)")
                let page = try await fixture.send(.get, try RouteFixture.target(of: url), headers: Self.mine)
                #expect(page.status == 200 && Array(page.body.prefix(8)) == pngSignature)
                #expect(try await fixture.send(.get, "/api/buffer", headers: Self.mine).array.count == 1)
                #expect(try await fixture.send(.delete, job, headers: Self.mine).status == 204)
            }
        }

        @Test("a same-origin GET without Origin (Sec-Fetch-Site: same-origin) is the page's own origin; other sites' are not")
        func sameOriginRequestsWithoutOriginBelongToTheListenersOrigin() async throws {
            let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
            try await RouteFixture.with { fixture in
                // In-process requests carry `Host: localhost`: the page's origin is http://localhost.
                let uid = try await fixture.scan(pages: 1, pixelType: 1, resolution: 50, headers: [Self.origin: "http://localhost"])
                let job = "/api/device/scanners/jobs/\(uid)"
                let own = try await fixture.send(.get, job, headers: [secFetchSite: "same-origin"])
                #expect(own.status == 200, "\(own.text)")
                for site in ["cross-site", "same-site", "none"] {
                    expectDWTError(try await fixture.send(.get, job, headers: [secFetchSite: site]), status: 403, code: -2801)
                }
                #expect(try await fixture.send(.delete, job, headers: [Self.origin: "http://localhost"]).status == 204)
            }
        }
    }
}
