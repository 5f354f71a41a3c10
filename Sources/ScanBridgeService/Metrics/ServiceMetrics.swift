import Metrics
import Prometheus
import ScanBridgeImaging
import ScanBridgeStorage

/// What the running service measures, recorded through swift-metrics into one Prometheus
/// registry that `GET /metrics` exposes (docs/DEPLOY.md lists the metrics).
///
/// Each service has its own registry and hands the swift-metrics factory over it to what records
/// (jobs, uploads, the HTTP middleware), so services in one process (tests) never share counts.
/// `bootstrapMetricsSystem()` makes the same registry the process-wide swift-metrics backend,
/// which `MetricsSystem.bootstrap` allows once per process: `scanbridge serve` calls it.
public final class ServiceMetrics: Sendable {
    /// The colour mode a page was scanned in: the `mode` label.
    enum PageMode: String, CaseIterable, Sendable {
        case color, gray, bw

        init(_ format: PixelFormat) {
            switch format {
            case .bw1: self = .bw
            case .gray8, .gray16: self = .gray
            case .rgb24, .rgb48: self = .color
            }
        }
    }

    /// How an upload ended: the `result` label.
    enum UploadResult: String, CaseIterable, Sendable {
        case succeeded, failed, canceled
    }

    /// The final statuses of a scan job: the `status` label of the duration histogram.
    static let finalJobStatuses: [ScanJob.Status] = [.completed, .faulted, .canceled]

    public let registry: PrometheusCollectorRegistry
    let factory: DescribedMetricsFactory
    private let pages: [PageMode: Metrics.Counter]
    private let uploads: [UploadResult: Metrics.Counter]
    private let bufferMemory: Metrics.Gauge
    private let bufferSpilled: Metrics.Gauge
    private let bufferLimit: Metrics.Gauge
    private let bufferPages: Metrics.Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        let factory = DescribedMetricsFactory(registry: registry)
        self.registry = registry
        self.factory = factory
        // Every series with a fixed label set exists from the start at 0, so that rate() and
        // increase() see the first page, upload or job.
        pages = Dictionary(uniqueKeysWithValues: PageMode.allCases.map {
            ($0, Metrics.Counter(label: MetricCatalog.pagesScanned.name, dimensions: [("mode", $0.rawValue)], factory: factory))
        })
        uploads = Dictionary(uniqueKeysWithValues: UploadResult.allCases.map {
            ($0, Metrics.Counter(label: MetricCatalog.uploads.name, dimensions: [("result", $0.rawValue)], factory: factory))
        })
        for status in Self.finalJobStatuses { _ = Self.jobTimer(status, factory: factory) }
        bufferMemory = Metrics.Gauge(label: MetricCatalog.bufferMemory.name, factory: factory)
        bufferSpilled = Metrics.Gauge(label: MetricCatalog.bufferSpilled.name, factory: factory)
        bufferLimit = Metrics.Gauge(label: MetricCatalog.bufferMemoryLimit.name, factory: factory)
        bufferPages = Metrics.Gauge(label: MetricCatalog.bufferPages.name, factory: factory)
    }

    private static func jobTimer(_ status: ScanJob.Status, factory: DescribedMetricsFactory) -> Metrics.Timer {
        Metrics.Timer(label: MetricCatalog.jobDuration.name, dimensions: [("status", status.rawValue)], factory: factory)
    }

    /// Makes this registry the backend of swift-metrics' global `MetricsSystem`, for libraries
    /// that record through it. Once per process (a second call traps).
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(factory)
    }

    // MARK: - Recording

    func pageScanned(_ format: PixelFormat) {
        pages[PageMode(format)]?.increment()
    }

    func jobFinished(_ status: ScanJob.Status, after duration: Duration) {
        Self.jobTimer(status, factory: factory).record(duration: duration)
    }

    func uploadEnded(_ result: UploadResult) {
        uploads[result]?.increment()
    }

    /// The engine `IOEngine.start` chose (`io_uring` or `epoll`), as an info metric.
    public func recordIOEngine(_ engine: String) {
        Metrics.Gauge(label: MetricCatalog.ioEngine.name, dimensions: [("engine", engine)], factory: factory).record(1)
    }

    /// The buffer's sizes now; the gauges are set from them when metrics are read.
    func recordBuffer(_ statistics: BufferStatistics) {
        bufferMemory.record(statistics.residentBytes)
        bufferSpilled.record(statistics.bytesOnDisk)
        bufferLimit.record(statistics.memoryLimit)
        bufferPages.record(statistics.pageCount)
    }

    /// Every metric in the Prometheus text format (version 0.0.4).
    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
