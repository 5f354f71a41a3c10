import Foundation
import HTTPTypes
import ScanBridgeImaging
import Testing

extension RouteTests {
    /// ScanBridge's buffer extension for the browser SDK: list, thumbnail, rotate, delete.
    @Suite("Buffer extension")
    struct Buffer {
        static func entries(_ response: RouteResponse) -> [[String: Any]] {
            response.array.compactMap { $0 as? [String: Any] }
        }

        @Test("the buffer lists a job's pages; thumbnails are JPEGs of the asked size; rotate turns a page; delete removes it")
        func bufferPages() async throws {
            try await RouteFixture.with { fixture in
                let job = try await fixture.scan(pages: 2, pixelType: 2, resolution: 75)
                let first = try #require(try await fixture.nextPageInfo(job))
                let second = try #require(try await fixture.nextPageInfo(job))
                let ids = try [first, second].map { try #require($0["imageId"] as? Int) }
                let size = testScannerPageSize(dpi: 75)

                let listed = Self.entries(try await fixture.send(.get, "/api/buffer"))
                #expect(listed.compactMap { $0["id"] as? Int } == ids)
                #expect(listed.allSatisfy { $0["job"] as? String == job && $0["width"] as? Int == size.width && $0["height"] as? Int == size.height })
                #expect(listed.compactMap { $0["index"] as? Int } == [0, 1])
                #expect(listed.first?["thumbnail"] as? String == "/api/buffer/\(ids[0])/thumbnail")

                let thumbnail = try await fixture.send(.get, "/api/buffer/\(ids[0])/thumbnail?size=64")
                #expect(thumbnail.status == 200 && thumbnail.contentType == "image/jpeg")
                #expect(Array(thumbnail.body.prefix(3)) == jpegSignature)
                let small = try JPEGCodec.decode(thumbnail.body)
                // Portrait page: the height fills the box, the width keeps the page's proportions.
                #expect(small.height == 64, "\(small.width)x\(small.height)")
                #expect(abs(small.width - 64 * size.width / size.height) <= 1, "\(small.width)x\(small.height)")
                expectDWTError(try await fixture.send(.get, "/api/buffer/\(ids[0])/thumbnail?size=4"), status: 400, code: -2113)

                let rotated = try await fixture.send(.post, "/api/buffer/\(ids[0])/rotate", json: #"{"degrees":90}"#)
                #expect(rotated.status == 200, "\(rotated.text)")
                #expect(rotated.object["width"] as? Int == size.height && rotated.object["height"] as? Int == size.width, "\(rotated.text)")
                let turned = try JPEGCodec.decode(try await fixture.send(.get, "/api/buffer/\(ids[0])/thumbnail?size=64").body)
                #expect(turned.width == 64 && turned.height < 64, "\(turned.width)x\(turned.height)")
                expectDWTError(try await fixture.send(.post, "/api/buffer/\(ids[0])/rotate", json: #"{"degrees":45}"#), status: 400, code: -2113)

                #expect(try await fixture.send(.delete, "/api/buffer/\(ids[0])").status == 204)
                let remaining = Self.entries(try await fixture.send(.get, "/api/buffer"))
                #expect(remaining.compactMap { $0["id"] as? Int } == [ids[1]])
                #expect(remaining.first?["width"] as? Int == size.width, "the other page is untouched")
                expectDWTError(try await fixture.send(.get, "/api/buffer/\(ids[0])/thumbnail"), status: 404, code: -2399)
                expectDWTError(try await fixture.send(.delete, "/api/buffer/\(ids[0])"), status: 404, code: -2399)
            }
        }
    }
}
