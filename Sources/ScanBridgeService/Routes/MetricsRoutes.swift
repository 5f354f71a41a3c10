import HTTPTypes
import ScanBridgeHTTP

/// `GET /metrics` on the service (`dcp`) listeners: every metric of `ServiceMetrics` in the
/// Prometheus text format, rendered by swift-prometheus. The buffer gauges are read from the
/// buffer when the request comes, so they are as fresh as the scrape.
///
/// It sits behind the same security policy as the rest of the listener: the Host check (a
/// scraper on loopback sends `Host: 127.0.0.1:<port>`; another name needs `AllowedHosts`) and
/// the Origin check (a scraper sends no `Origin`; a page needs an allowed one).
struct MetricsRoutes: Sendable {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let service: ScanningService

    func register(on router: inout Router) {
        let service = self.service
        router.get("/metrics") { _ in
            service.metrics.recordBuffer(await service.buffer.stats)
            return Response(headerFields: [.contentType: Self.contentType, .cacheControl: "no-store"],
                            body: .bytes(service.metrics.exposition()))
        }
    }
}
