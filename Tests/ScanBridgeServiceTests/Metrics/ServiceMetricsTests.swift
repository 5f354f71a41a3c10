import Metrics
import ScanBridgeHTTP
@testable import ScanBridgeService
import Testing

@Suite("Service metrics")
struct ServiceMetricsTests {
    @Test("each service records into its own registry: one service's counts never show in another's")
    func separateRegistries() {
        let first = ServiceMetrics(), second = ServiceMetrics()
        first.pageScanned(.rgb24)
        first.pageScanned(.bw1)
        first.uploadEnded(.failed)
        let one = MetricsExposition(String(decoding: first.exposition(), as: UTF8.self))
        let other = MetricsExposition(String(decoding: second.exposition(), as: UTF8.self))
        #expect(one[#"scanbridge_pages_scanned_total{mode="color"}"#] == 1)
        #expect(one[#"scanbridge_pages_scanned_total{mode="bw"}"#] == 1)
        #expect(one[#"scanbridge_uploads_total{result="failed"}"#] == 1)
        #expect(other.samples[#"scanbridge_pages_scanned_total{mode="color"}"#] == 0, "present from the start, at 0")
        #expect(other.samples[#"scanbridge_uploads_total{result="failed"}"#] == 0)
    }

    @Test("ScanBridge's metrics carry HELP and TYPE; a name outside the catalog is exported as swift-prometheus makes it")
    func describedFactory() async throws {
        let metrics = ServiceMetrics()
        metrics.recordIOEngine("epoll")
        var request = Request(method: .get, target: "/api/server")
        request.route = "/api/server"
        let answered = try await metrics.httpMiddleware(renderer: PlainHTTPErrorRenderer())(request) { _ in .noContent }
        #expect(answered.status == .noContent)
        metrics.jobFinished(.completed, after: .seconds(3))
        Counter(label: "library_events_total", factory: metrics.factory).increment(by: 2)
        let exposition = MetricsExposition(String(decoding: metrics.exposition(), as: UTF8.self))
        for entry in MetricCatalog.all.values {
            #expect(exposition.help[entry.name] == entry.help, "\(entry.name)")
            #expect(exposition.type[entry.name] != nil, "\(entry.name)")
        }
        #expect(exposition[#"scanbridge_io_engine_info{engine="epoll"}"#] == 1)
        #expect(exposition.type["scanbridge_scan_job_duration_seconds"] == "histogram")
        #expect(exposition[#"scanbridge_scan_job_duration_seconds_bucket{status="completed",le="2.5"}"#] == 0)
        #expect(exposition[#"scanbridge_scan_job_duration_seconds_bucket{status="completed",le="5.0"}"#] == 1)
        #expect(exposition[#"scanbridge_scan_job_duration_seconds_sum{status="completed"}"#] == 3)
        #expect(exposition[#"scanbridge_scan_job_duration_seconds_count{status="faulted"}"#] == 0)
        #expect(exposition[#"scanbridge_http_requests_total{route="/api/server",method="GET",status="204"}"#] == 1)
        #expect(exposition["library_events_total"] == 2 && exposition.help["library_events_total"] == nil)
    }
}
