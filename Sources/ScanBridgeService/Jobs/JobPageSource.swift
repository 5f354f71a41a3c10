import ScanBridgeDevices

/// Where a job's pages come from: an open scanner (`ScannerSession`) or an open camera
/// (`CameraPageSource`). The job owns the source from creation until it ends, then closes it.
protocol JobPageSource: Sendable {
    /// The device's identity (`sane:…`, `v4l2:…`), for events and logs.
    var deviceID: String { get }
    /// Starts producing pages: at most `maxPages` (nil: the source's own limit). The stream ends
    /// normally when the source is done and with an error on a fault.
    func pages(maxPages: Int?) async throws -> AsyncThrowingStream<ScannedPage, Error>
    /// Stops producing; pages finished before stay in the stream.
    func cancel() async
    /// Releases the device. Idempotent.
    func close() async
}

extension ScannerSession: JobPageSource {
    nonisolated var deviceID: String { scanner.id }

    func pages(maxPages: Int?) throws -> AsyncThrowingStream<ScannedPage, Error> {
        try scan(maxPages: maxPages)
    }
}
