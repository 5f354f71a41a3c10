import Prometheus

/// Every metric ScanBridge records: its name (namespace `scanbridge`, a subsystem, a base unit or
/// `total` as the suffix), HELP text and, for histograms, buckets; named so that
/// `promtool check metrics` finds nothing to lint. docs/DEPLOY.md explains each.
enum MetricCatalog {
    struct Entry: Sendable {
        var subsystem: String?
        var metricName: String
        var unit: String
        var help: String
        var buckets: [Duration] = []

        /// swift-prometheus' description of the name; `name` is its fully qualified form.
        var descriptor: MetricNameDescriptor {
            MetricNameDescriptor(namespace: "scanbridge", subsystem: subsystem, metricName: metricName, unitName: unit, helpText: help)
        }

        var name: String { descriptor.name }
    }

    static let pagesScanned = Entry(
        metricName: "pages_scanned", unit: "total",
        help: "Pages scanned into the image buffer, by colour mode (color, gray, bw).")
    static let jobDuration = Entry(
        subsystem: "scan_job", metricName: "duration", unit: "seconds",
        help: "Time from a scan job's creation to its final status (completed, faulted, canceled).",
        buckets: [.milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
                  .seconds(60), .seconds(120), .seconds(300), .seconds(600), .seconds(1800)])
    static let bufferMemory = Entry(
        subsystem: "buffer", metricName: "memory", unit: "bytes",
        help: "Page content bytes the image buffer holds in memory, including pages being written to its cache.")
    static let bufferSpilled = Entry(
        subsystem: "buffer", metricName: "spilled", unit: "bytes",
        help: "Page content bytes the image buffer has spilled to its encrypted cache on disk.")
    static let bufferMemoryLimit = Entry(
        subsystem: "buffer", metricName: "memory_limit", unit: "bytes",
        help: "The image buffer's memory limit (BufferMemoryLimit); past it pages spill to disk.")
    static let bufferPages = Entry(
        subsystem: "buffer", metricName: "pages", unit: "",
        help: "Pages in the image buffer, in memory or spilled.")
    static let uploads = Entry(
        metricName: "uploads", unit: "total",
        help: "Document uploads that ended, by result (succeeded, failed, canceled).")
    static let httpRequests = Entry(
        subsystem: "http", metricName: "requests", unit: "total",
        help: "HTTP requests answered on the API listeners, by route pattern, method and status code.")
    static let ioEngine = Entry(
        subsystem: "io", metricName: "engine", unit: "info",
        help: "The socket I/O engine in use (always 1; the engine label says which: io_uring or epoll).")

    static let all: [String: Entry] = Dictionary(uniqueKeysWithValues: [
        pagesScanned, jobDuration, bufferMemory, bufferSpilled, bufferMemoryLimit, bufferPages, uploads, httpRequests, ioEngine,
    ].map { ($0.name, $0) })
}
