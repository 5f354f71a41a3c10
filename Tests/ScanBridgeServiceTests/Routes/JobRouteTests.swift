import Foundation
import HTTPTypes
import ScanBridgeImaging
import Testing

/// The size of the test scanner's default scan area (test.conf: 80 × 100 mm) at `dpi`, in pixels.
func testScannerPageSize(dpi: Int) -> (width: Int, height: Int) {
    (Int(80 / 25.4 * Double(dpi)), Int(100 / 25.4 * Double(dpi)))
}

let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

extension RouteTests {
    @Suite("Scan jobs")
    struct Jobs {
        @Test("a pending job runs on PATCH running; each page's info, its url and its bytes; 204 at the end; delete")
        func jobLifecycle() async throws {
            try await RouteFixture.with { fixture in
                let uid = try await fixture.createJob(pages: 2, pixelType: 2, resolution: 75)
                let pending = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)")
                #expect(pending.status == 200 && pending.object["status"] as? String == "pending", "\(pending.text)")
                try await fixture.startJob(uid)

                let first = try #require(try await fixture.nextPageInfo(uid))
                let info = try #require(first["imageInfo"] as? [String: Any])
                let layout = try #require(info["ImageLayout"] as? [String: Any])
                let size = testScannerPageSize(dpi: 75)
                #expect(info["ImageWidth"] as? Int == size.width && info["ImageLength"] as? Int == size.height, "\(info)")
                #expect(info["PixelType"] as? Int == 2 && info["BitsPerPixel"] as? Int == 24 && info["SamplesPerPixel"] as? Int == 3)
                #expect(info["BitsPerSample"] as? [Int] == [8, 8, 8, 0, 0, 0, 0, 0])
                #expect(info["XResolution"] as? Double == 75 && layout["PageNumber"] as? Int == 1)
                let imageUID = try #require(first["imageuid"] as? String)
                let url = try #require(first["url"] as? String)
                #expect(url == "http://localhost/api/device/scanners/jobs/\(uid)/next-page?page=\(imageUID)")

                // The url is that very page as PNG (the default), and it does not advance the job.
                let byURL = try await fixture.send(.get, try RouteFixture.target(of: url))
                #expect(byURL.status == 200 && byURL.contentType == "image/png")
                #expect(Array(byURL.body.prefix(8)) == pngSignature)
                let decoded = try PNGCodec.decode(byURL.body)
                #expect(decoded.width == size.width && decoded.height == size.height && decoded.format == .rgb24)
                let pageOne = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/next-page")
                #expect(pageOne.status == 200 && pageOne.body == byURL.body, "next-page still starts at page 1")

                let second = try #require(try await fixture.nextPageInfo(uid))
                #expect(((second["imageInfo"] as? [String: Any])?["ImageLayout"] as? [String: Any])?["PageNumber"] as? Int == 2)
                let pageTwo = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/next-page?type=image/jpeg")
                #expect(pageTwo.status == 200 && pageTwo.contentType == "image/jpeg")
                #expect(Array(pageTwo.body.prefix(3)) == jpegSignature)
                let jpeg = try JPEGCodec.decode(pageTwo.body)
                #expect(jpeg.width == size.width && jpeg.height == size.height && jpeg.format == .rgb24)

                #expect(try await fixture.nextPageInfo(uid) == nil)
                let end = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/next-page")
                #expect(end.status == 204 && end.body.isEmpty)
                let done = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)")
                #expect(done.status == 200)
                #expect(done.object["status"] as? String == "completed" && done.object["code"] as? Int == 0, "\(done.text)")

                let deleted = try await fixture.send(.delete, "/api/device/scanners/jobs/\(uid)")
                #expect(deleted.status == 204 && deleted.body.isEmpty)
                expectDWTError(try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)"), status: 410, code: -1034)
                expectDWTError(try await fixture.send(.delete, "/api/device/scanners/jobs/\(uid)"), status: 410, code: -1034)
            }
        }

        @Test("gray and black-and-white pages come back in their own pixel formats at the asked resolution")
        func grayAndBlackAndWhite() async throws {
            try await RouteFixture.with { fixture in
                for (pixelType, format) in [(1, PixelFormat.gray8), (0, .bw1)] {
                    let uid = try await fixture.scan(pages: 1, pixelType: pixelType, resolution: 100)
                    let page = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/next-page?type=image/png")
                    #expect(page.status == 200 && Array(page.body.prefix(8)) == pngSignature)
                    let image = try PNGCodec.decode(page.body)
                    let size = testScannerPageSize(dpi: 100)
                    #expect(image.format == format && image.width == size.width && image.height == size.height, "PixelType \(pixelType)")
                    #expect(try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/next-page").status == 204)
                    #expect(try await fixture.send(.delete, "/api/device/scanners/jobs/\(uid)").status == 204)
                }
            }
        }

        /// The details a list entry's `device` string holds (Dynamsoft's document: "a json string
        /// of the scanner details").
        static func deviceDetails(_ entry: [String: Any]) -> [String: Any]? {
            guard let text = entry["device"] as? String else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        }

        @Test("the scanner list names the test scanner as a SANE device whose device string holds its details; a TWAIN-only mask lists none")
        func scannerList() async throws {
            try await RouteFixture.with { fixture in
                let list = try await fixture.send(.get, "/api/device/scanners")
                #expect(list.status == 200)
                let entries = list.array.compactMap { $0 as? [String: Any] }
                let test = try #require(entries.first { Self.deviceDetails($0)?["id"] as? String == RouteFixture.device },
                                        "\(list.text)")
                #expect(test["type"] as? Int == 0x100)
                let details = try #require(Self.deviceDetails(test))
                #expect(details["name"] as? String == test["name"] as? String && details["deviceType"] as? Int == 0x100)
                let again = try await fixture.send(.get, "/api/device/scanners?refresh=true")
                let devicesAgain = again.array.compactMap { ($0 as? [String: Any])?["device"] as? String }
                let device = try #require(test["device"] as? String)
                #expect(devicesAgain.contains(device), "the same scanner keeps the same device string: \(again.text)")
                let twain = try await fixture.send(.get, "/api/device/scanners?type=16")
                #expect(twain.status == 200 && twain.array.isEmpty, "\(twain.text)")
            }
        }

        @Test("a job is created from the listed device string, from details naming only the scanner, and from a bare id; malformed details get 400")
        func deviceForms() async throws {
            try await RouteFixture.with { fixture in
                let list = try await fixture.send(.get, "/api/device/scanners")
                let entry = try #require(list.array.compactMap { $0 as? [String: Any] }
                    .first { Self.deviceDetails($0)?["id"] as? String == RouteFixture.device }, "\(list.text)")
                let listed = try #require(entry["device"] as? String)
                let name = try #require(entry["name"] as? String)
                let byName = String(decoding: try JSONSerialization.data(withJSONObject: ["name": name]), as: UTF8.self)
                for device in [listed, byName, RouteFixture.device] {
                    let body = String(decoding: try JSONSerialization.data(withJSONObject: ["device": device, "autoRun": false]),
                                      as: UTF8.self)
                    let created = try await fixture.send(.post, "/api/device/scanners/jobs", json: body)
                    #expect(created.status == 201, "\(device): \(created.text)")
                    let scanner = try #require(created.object["scanner"] as? [String: Any], "\(created.text)")
                    #expect(scanner["device"] as? String == listed, "the job's scanner is the listed one: \(created.text)")
                    let uid = try #require(created.object["jobuid"] as? String)
                    #expect(try await fixture.send(.delete, "/api/device/scanners/jobs/\(uid)").status == 204)
                }
                for device in [#"{"id":"#, #"{"deviceType":256}"#] {
                    let body = String(decoding: try JSONSerialization.data(withJSONObject: ["device": device]), as: UTF8.self)
                    let refused = try await fixture.send(.post, "/api/device/scanners/jobs", json: body)
                    #expect(refused.status == 400 && refused.object["code"] as? Int == -2113, "\(device): \(refused.text)")
                }
            }
        }
    }
}
