import Foundation
import HTTPTypes
import Testing

/// The service's routes answered in process by the core router over a real `ScanningService` and
/// SANE's `test` scanner. Serialized: every suite below scans with the one test device, which
/// a job holds until it ends or is deleted.
@Suite("Routes in process", .serialized)
struct RouteTests {}

extension RouteFixture {
    static let device = "sane:test:0"

    /// Runs `body` on a fresh fixture and closes it however `body` ends.
    static func with<Result>(_ body: (RouteFixture) async throws -> Result) async throws -> Result {
        let fixture = try await start()
        do {
            let result = try await body(fixture)
            await fixture.close()
            return result
        } catch {
            await fixture.close()
            throw error
        }
    }

    /// The body of `POST /api/device/scanners/jobs` for `pages` pages from the test scanner's
    /// feeder (PixelType 0 BW, 1 gray, 2 colour).
    static func jobBody(pages: Int, pixelType: Int = 2, resolution: Int = 75, autoRun: Bool = false) -> String {
        """
        {"device":"\(device)","autoRun":\(autoRun),"config":{"PixelType":\(pixelType),"Resolution":\(resolution),\
        "IfFeederEnabled":true,"XferCount":\(pages)}}
        """
    }

    /// Creates a pending job (201) and returns its uid.
    func createJob(pages: Int, pixelType: Int = 2, resolution: Int = 75, headers: HTTPFields = [:],
                   sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let created = try await send(.post, "/api/device/scanners/jobs",
                                     json: Self.jobBody(pages: pages, pixelType: pixelType, resolution: resolution), headers: headers)
        #expect(created.status == 201, "\(created.text)", sourceLocation: sourceLocation)
        #expect(created.object["status"] as? String == "pending", "\(created.text)", sourceLocation: sourceLocation)
        return try #require(created.object["jobuid"] as? String, "\(created.text)", sourceLocation: sourceLocation)
    }

    /// `PATCH {"status":"running"}` on a pending job.
    func startJob(_ uid: String, headers: HTTPFields = [:], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let started = try await send(.patch, "/api/device/scanners/jobs/\(uid)", json: #"{"status":"running"}"#, headers: headers)
        #expect(started.status == 200, "\(started.text)", sourceLocation: sourceLocation)
        #expect(["running", "completed"].contains(started.object["status"] as? String ?? ""), "\(started.text)",
                sourceLocation: sourceLocation)
    }

    /// A running job of `pages` pages.
    func scan(pages: Int, pixelType: Int = 2, resolution: Int = 75, headers: HTTPFields = [:]) async throws -> String {
        let uid = try await createJob(pages: pages, pixelType: pixelType, resolution: resolution, headers: headers)
        try await startJob(uid, headers: headers)
        return uid
    }

    /// The one entry of `next-page-info` (200), or nil at the end (204).
    func nextPageInfo(_ uid: String, headers: HTTPFields = [:], sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any]? {
        let response = try await send(.get, "/api/device/scanners/jobs/\(uid)/next-page-info", headers: headers)
        if response.status == 204 {
            #expect(response.body.isEmpty, sourceLocation: sourceLocation)
            return nil
        }
        #expect(response.status == 200, "\(response.text)", sourceLocation: sourceLocation)
        let entries = response.array
        #expect(entries.count == 1, "\(response.text)", sourceLocation: sourceLocation)
        return try #require(entries.first as? [String: Any], sourceLocation: sourceLocation)
    }

    /// The `url` of the next page (through next-page-info).
    func nextPageURL(_ uid: String, headers: HTTPFields = [:], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let info = try #require(try await nextPageInfo(uid, headers: headers, sourceLocation: sourceLocation), sourceLocation: sourceLocation)
        return try #require(info["url"] as? String, sourceLocation: sourceLocation)
    }

    /// Creates an empty document and returns its uid.
    func createDocument(json: String = "{}", sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let created = try await send(.post, "/api/storage/documents", json: json)
        #expect(created.status == 201, "\(created.text)", sourceLocation: sourceLocation)
        #expect((created.object["pages"] as? [Any])?.isEmpty == true, "\(created.text)", sourceLocation: sourceLocation)
        return try #require(created.object["uid"] as? String, sourceLocation: sourceLocation)
    }

    /// The page uids of a document's info (or of any document-info body).
    static func pageUIDs(_ response: RouteResponse) -> [String] {
        ((response.object["pages"] as? [[String: Any]]) ?? []).compactMap { $0["uid"] as? String }
    }
}
