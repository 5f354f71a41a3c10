import Foundation
import HTTPTypes
import ScanBridgeHTTP
@testable import ScanBridgeService
import Testing

extension RouteTests {
    @Suite("Metrics")
    struct MetricsRoute {
        /// `GET /metrics` as the service listener answers it, over the fixture's service.
        static func scrape(_ fixture: RouteFixture) async throws -> (response: Response, exposition: MetricsExposition) {
            var router = Router()
            MetricsRoutes(service: fixture.service).register(on: &router)
            let response = await router.respond(to: Request(method: .get, target: "/metrics"))
            let bytes = try #require(response.body.bytes)
            return (response, MetricsExposition(String(decoding: bytes, as: UTF8.self)))
        }

        /// Reads every page of job `uid` until the job says there are no more.
        static func drain(_ fixture: RouteFixture, _ uid: String) async throws -> Int {
            var pages = 0
            while try await fixture.nextPageInfo(uid) != nil { pages += 1 }
            return pages
        }

        @Test("pages by mode, job durations by status, buffer bytes and HTTP requests by route pattern")
        func scanAndScrape() async throws {
            try await RouteFixture.with { fixture in
                let before = try await Self.scrape(fixture)
                #expect(before.response.status == .ok)
                #expect(before.response.headerFields[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(before.exposition[#"scanbridge_pages_scanned_total{mode="bw"}"#] == 0)

                // One job: a second one right after the first can find the scanner not yet closed.
                let job = try await fixture.scan(pages: 3, pixelType: 0, resolution: 50)
                #expect(try await Self.drain(fixture, job) == 3)
                let missing = try await fixture.send(.get, "/api/device/scanners/jobs/no-such-job")
                #expect(missing.status == 404)

                let after = try await Self.scrape(fixture).exposition
                #expect(after[#"scanbridge_pages_scanned_total{mode="bw"}"#] == 3)
                #expect(after[#"scanbridge_pages_scanned_total{mode="color"}"#] == 0)
                #expect(after[#"scanbridge_pages_scanned_total{mode="gray"}"#] == 0)
                #expect(after[#"scanbridge_scan_job_duration_seconds_count{status="completed"}"#] == 1)
                #expect(after[#"scanbridge_scan_job_duration_seconds_sum{status="completed"}"#] > 0)
                #expect(after["scanbridge_buffer_pages"] == 3)
                let bufferBytes = await fixture.service.buffer.stats.residentBytes
                #expect(after["scanbridge_buffer_memory_bytes"] == Double(bufferBytes) && bufferBytes > 0)
                #expect(after["scanbridge_buffer_spilled_bytes"] == 0)

                let jobs = "/api/device/scanners/jobs"
                #expect(after[#"scanbridge_http_requests_total{route="\#(jobs)",method="POST",status="201"}"#] == 1)
                #expect(after[#"scanbridge_http_requests_total{route="\#(jobs)/{jobuid}",method="PATCH",status="200"}"#] == 1)
                #expect(after[#"scanbridge_http_requests_total{route="\#(jobs)/{jobuid}/next-page-info",method="GET",status="200"}"#] == 3)
                #expect(after[#"scanbridge_http_requests_total{route="\#(jobs)/{jobuid}/next-page-info",method="GET",status="204"}"#] == 1)
                #expect(after[#"scanbridge_http_requests_total{route="\#(jobs)/{jobuid}",method="GET",status="404"}"#] == 1,
                        "an error thrown by the route is counted with the status it is answered with")
                #expect(!after.samples.keys.contains { $0.contains("no-such-job") }, "raw paths never become labels")

                #expect(try await fixture.send(.delete, "\(jobs)/\(job)").status == 204)
                let deleted = try await Self.scrape(fixture).exposition
                #expect(deleted["scanbridge_buffer_pages"] == 0 && deleted["scanbridge_buffer_memory_bytes"] == 0)
                #expect(deleted[#"scanbridge_http_requests_total{route="\#(jobs)/{jobuid}",method="DELETE",status="204"}"#] == 1)
                #expect(deleted[#"scanbridge_http_requests_total{route="unmatched",method="GET",status="404"}"#] == 0)
                _ = try await fixture.send(.get, "/no/such/route")
                #expect(try await Self.scrape(fixture).exposition[#"scanbridge_http_requests_total{route="unmatched",method="GET",status="404"}"#] == 1)
            }
        }
    }
}
