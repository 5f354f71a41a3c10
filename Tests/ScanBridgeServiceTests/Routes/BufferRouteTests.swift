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

        @Test("an imported file's pages join this origin's pages at insertPos, in an import job of its own, and leave with it")
        func importedPages() async throws {
            try await RouteFixture.with { fixture in
                let mine = OriginBinding.mine, other = OriginBinding.other
                func png(_ width: Int) throws -> [UInt8] {
                    try PNGCodec.encode(Image(width: width, height: 30, format: .gray8, xDPI: 100, yDPI: 100))
                }
                let first = try await fixture.send(.post, "/api/buffer/import", headers: mine, body: try png(40))
                #expect(first.status == 201, "\(first.text)")
                _ = try await fixture.send(.post, "/api/buffer/import", headers: other, body: try png(50))
                let second = try await fixture.send(.post, "/api/buffer/import", headers: mine, body: try png(60))
                let inserted = try await fixture.send(.post, "/api/buffer/import?insertPos=1", headers: mine, body: try png(70))
                #expect(inserted.status == 201, "\(inserted.text)")
                let entries = [first, second, inserted].compactMap { Self.entries($0).first }
                let job = try #require(entries[0]["job"] as? String)
                #expect(entries[0]["url"] as? String == "/api/device/scanners/jobs/\(job)/next-page?page=\(entries[0]["uid"] as? String ?? "")")

                let listed = Self.entries(try await fixture.send(.get, "/api/buffer", headers: mine))
                #expect(listed.compactMap { $0["width"] as? Int } == [40, 70, 60], "position 1 of this origin's pages, not of the buffer")
                #expect(Self.entries(try await fixture.send(.get, "/api/buffer", headers: other)).compactMap { $0["width"] as? Int } == [50])
                expectDWTError(try await fixture.send(.post, "/api/buffer/import?insertPos=4", headers: mine, body: try png(80)),
                               status: 400, code: -2113)
                expectDWTError(try await fixture.send(.post, "/api/buffer/import", headers: mine), status: 400, code: -2113)
                let state = try await fixture.send(.get, "/api/device/scanners/jobs/\(job)", headers: mine)
                #expect(state.object["status"] as? String == "completed", "\(state.text)")

                // A page removed from the buffer first must not keep the job's other pages there.
                let twoPages = try await fixture.send(.post, "/api/buffer/import", headers: mine,
                                                      body: try TIFFCodec.encode([Image(width: 20, height: 10, format: .gray8),
                                                                                  Image(width: 30, height: 10, format: .gray8)]))
                let pair = Self.entries(twoPages)
                #expect(pair.compactMap { $0["width"] as? Int } == [20, 30], "\(twoPages.text)")
                let pairIDs = pair.compactMap { $0["id"] as? Int }
                #expect(try await fixture.send(.delete, "/api/buffer/\(pairIDs[0])", headers: mine).status == 204)
                let pairJob = try #require(pair.first?["job"] as? String)
                #expect(try await fixture.send(.delete, "/api/device/scanners/jobs/\(pairJob)", headers: mine).status == 204)
                let left = Self.entries(try await fixture.send(.get, "/api/buffer", headers: mine)).compactMap { $0["id"] as? Int }
                #expect(Set(left).isDisjoint(with: pairIDs), "\(left)")
            }
        }
    }
}
