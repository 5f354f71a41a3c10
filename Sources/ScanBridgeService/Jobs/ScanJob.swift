import Foundation
import Logging
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeImaging
import ScanBridgeStorage

/// One DWT scan job: owns its page source (a scanner session, or a camera for camera jobs) while
/// it is pending or running, puts every page into the service's image buffer as it arrives (so a
/// slow or absent client never stalls the device), and hands pages out to clients through two
/// independent cursors: `next-page-info` and `next-page`.
///
/// Transitions: pending → running → completed | faulted | canceled (and pending → canceled).
/// Pages scanned before a fault or a cancel stay available until the job is deleted.
actor ScanJob {
    enum Status: String, Sendable {
        case pending, running, completed, faulted, canceled

        var isFinished: Bool { self == .completed || self == .faulted || self == .canceled }
    }

    /// A page of this job, in the buffer.
    struct JobPage: Sendable {
        var bufferID: Int
        var uid: String
        var info: PageInfo
        var pageNumber: Int
    }

    enum Cursor: Sendable { case info, page }

    nonisolated let uid: String
    /// The Origin header of the request that created the job (nil for local programs).
    nonisolated let origin: String?
    /// The scanner of a scanner job; nil for a camera job.
    nonisolated let scanner: ScannerInfo?
    /// The identity of the job's device (scanner or camera).
    nonisolated let deviceID: String
    nonisolated let adjustments: [String]

    private(set) var status: Status
    private(set) var code = 0
    private(set) var message = "Successful"
    private var source: (any JobPageSource)?
    private let buffer: ImageBuffer
    private let maxPages: Int?
    private let jobTimeout: Duration?
    private let logger: Logger
    private var pages: [JobPage] = []
    private var cursors: [Cursor: Int] = [.info: 0, .page: 0]
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0
    private var scanTask: Task<Void, Never>?
    private var timeoutTask: Task<Void, Never>?
    private var deleted = false
    /// Set by `cancel` while running: the scan's end (or error) then means "canceled".
    private var cancelReason: String?
    /// Called once the job no longer holds its scanner (so the registry can forget the lock).
    private let onRelease: @Sendable (String) async -> Void
    /// Where job state and page events go (`GET /api/events`).
    private let events: EventHub
    /// Pages scanned and the job's duration (`GET /metrics`), timed from creation.
    private let metrics: ServiceMetrics
    private let created = ContinuousClock.now

    init(uid: String, origin: String?, session: ScannerSession, plan: ScanPlan, buffer: ImageBuffer,
         jobTimeout: Int, logger: Logger, events: EventHub = EventHub(), metrics: ServiceMetrics = ServiceMetrics(), onRelease: @escaping @Sendable (String) async -> Void) {
        self.init(uid: uid, origin: origin, source: session, scanner: session.scanner, adjustments: plan.adjustments.map(\.description),
                  maxPages: plan.maxPages, buffer: buffer, jobTimeout: jobTimeout, logger: logger, events: events, metrics: metrics,
                  onRelease: onRelease)
    }

    init(uid: String, origin: String?, source: any JobPageSource, scanner: ScannerInfo?, adjustments: [String], maxPages: Int?,
         buffer: ImageBuffer, jobTimeout: Int, logger: Logger, events: EventHub, metrics: ServiceMetrics,
         onRelease: @escaping @Sendable (String) async -> Void) {
        self.uid = uid
        self.origin = origin
        self.scanner = scanner
        self.deviceID = source.deviceID
        self.adjustments = adjustments
        self.source = source
        self.buffer = buffer
        self.maxPages = maxPages
        self.jobTimeout = jobTimeout > 0 ? .seconds(jobTimeout) : nil
        self.logger = logger
        self.onRelease = onRelease
        self.events = events
        self.metrics = metrics
        self.status = .pending
    }

    /// Publishes the job's state as a `job` event.
    func publishState() {
        events.publish("job", origin: origin, EventPayload.Job(job: uid, status: status.rawValue, code: code, message: message,
                                                               pages: pages.count, scanner: deviceID))
    }

    var pageCount: Int { pages.count }

    /// Buffer ids of the job's pages.
    var pageIDs: [Int] { pages.map(\.bufferID) }

    /// The open session while the job is pending (capabilities and settings are read from it).
    func pendingSession() throws(ScanBridgeError) -> ScannerSession {
        guard status == .pending, let session = source as? ScannerSession else {
            throw ScanBridgeError(code: -1011, message: "Job \(uid) is \(status.rawValue), not pending")
        }
        return session
    }

    // MARK: - Transitions

    /// Starts the timer of a pending job (`jobTimeout`); call once after creation.
    func armTimeout() {
        restartTimeout()
    }

    /// pending → running.
    func start() throws(ScanBridgeError) {
        guard status == .pending, let source else {
            throw ScanBridgeError(code: -1011, message: "Job \(uid) is \(status.rawValue); only a pending job can start")
        }
        status = .running
        timeoutTask?.cancel()
        logger.info("Scan job running", metadata: ["job": "\(uid)", "device": "\(deviceID)"])
        publishState()
        scanTask = Task { await self.run(source) }
    }

    /// pending|running → canceled. Pages scanned so far stay.
    func cancel(reason: String = "Canceled by the client") async throws(ScanBridgeError) {
        switch status {
        case .pending:
            await finish(.canceled, code: 0, message: reason)
        case .running:
            cancelReason = reason
            await source?.cancel()
            scanTask?.cancel()
            await scanTask?.value
        case .completed, .faulted, .canceled:
            throw ScanBridgeError(code: -1011, message: "Job \(uid) is already \(status.rawValue)")
        }
    }

    /// Cancels what runs, frees the job's pages in the buffer and the scanner.
    func delete() async {
        deleted = true
        if status == .pending || status == .running { try? await cancel(reason: "Job deleted") }
        timeoutTask?.cancel()
        try? await buffer.remove(ids: pages.map(\.bufferID))
        pages.removeAll()
        wakeAll()
    }

    private func run(_ source: any JobPageSource) async {
        do {
            // As soon as a page arrives it is encoded to its stored form and reduced for
            // thumbnails on the compute pool while the scanner reads the next ones. Clients that
            // ask for those (documents, the JPEG of a colour page, thumbnails) then get them
            // without another pass over the page.
            let pages = try await source.pages(maxPages: maxPages).scanPipeline { scanned in
                if case .raster(let image) = scanned.content { image } else { nil }
            }
            for try await (scanned, products) in pages {
                try await accept(scanned, products: products)
            }
            if let cancelReason {
                await finish(.canceled, code: 0, message: cancelReason)
            } else {
                await finish(.completed, code: 0, message: "Successful")
            }
        } catch {
            if let cancelReason {
                await finish(.canceled, code: 0, message: cancelReason)
            } else if let error = error as? ScanBridgeError {
                await finish(.faulted, code: error.code, message: error.description)
            } else {
                await finish(.faulted, code: -1001, message: "\(error)")
            }
        }
    }

    private func accept(_ scanned: ScannedPage, products: PageProducts) async throws {
        let page: Page
        var derived = PageDerivatives.none
        switch scanned.content {
        case .raster(let image):
            page = Page(image: image)
            derived = PageDerivatives(storedForm: products.storedForm.map { Page(encoded: $0.bytes, mediaType: $0.format.mimeType, info: page.info) },
                                      thumbnailSource: products.thumbnailSource)
        case .jpeg(let data, let width, let height):
            page = Page(encoded: data, mediaType: ImageFileFormat.jpeg.mimeType,
                        info: PageInfo(width: width, height: height, format: .rgb24, xDPI: scanned.xDPI, yDPI: scanned.yDPI))
        }
        let entry = try await buffer.append(page, derived: derived, tags: ["job:\(uid)"])
        // The job may have been deleted while the buffer stored the page.
        guard !deleted else {
            try? await buffer.remove(id: entry.id)
            return
        }
        pages.append(JobPage(bufferID: entry.id, uid: entry.uid, info: entry.info, pageNumber: scanned.pageNumber))
        metrics.pageScanned(entry.info.format)
        events.publish("page", origin: origin, EventPayload.PageReady(
            job: uid, id: entry.id, uid: entry.uid, pageNumber: scanned.pageNumber, width: entry.info.width, height: entry.info.height,
            thumbnail: PageLocator.bufferThumbnail(id: entry.id).path, url: PageLocator.jobPage(job: uid, page: entry.uid).path))
        events.publish("buffer", origin: origin, EventPayload.Buffer(change: "added", ids: [entry.id], count: nil))
        logger.debug("Page scanned", metadata: ["job": "\(uid)", "page": "\(scanned.pageNumber)", "buffer": "\(entry.id)"])
        wakeAll()
    }

    private func finish(_ final: Status, code: Int, message: String) async {
        guard !status.isFinished else { return }
        status = final
        self.code = code
        self.message = message
        metrics.jobFinished(final, after: .now - created)
        publishState()
        logger.info("Scan job \(final.rawValue)", metadata: ["job": "\(uid)", "pages": "\(pages.count)", "code": "\(code)", "message": "\(message)"])
        if let source {
            self.source = nil
            await source.close()
            await onRelease(uid)
        }
        wakeAll()
        restartTimeout()
    }

    // MARK: - Job timeout

    /// `jobTimeout`: a pending job that is not started in time is canceled (and its scanner
    /// freed); a finished job is deleted that long after it finished.
    private func restartTimeout() {
        timeoutTask?.cancel()
        guard let jobTimeout, status != .running else { return }
        timeoutTask = Task { [weak self] in
            try? await Task.sleep(for: jobTimeout)
            guard !Task.isCancelled, let self else { return }
            await self.timeoutFired()
        }
    }

    private func timeoutFired() async {
        if status == .pending {
            await finish(.canceled, code: -1011, message: "The job timed out before it was started")
        }
    }

    // MARK: - Pages

    /// The next page for `cursor`, waiting until it is scanned; nil when the job has no more.
    /// A client that disconnects (task cancelled) stops waiting.
    func next(_ cursor: Cursor) async throws(ScanBridgeError) -> JobPage? {
        while true {
            // A client that gave up (its request task is cancelled) takes no page: the next
            // request gets it.
            if Task.isCancelled { return nil }
            let index = cursors[cursor, default: 0]
            if index < pages.count {
                cursors[cursor] = index + 1
                return pages[index]
            }
            if status.isFinished || deleted { return nil }
            if status == .pending {
                throw ScanBridgeError(code: -1011, message: "Job \(uid) is pending; start it with PATCH {\"status\": \"running\"}")
            }
            let id = nextWaiter
            nextWaiter += 1
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in waiters[id] = continuation }
            } onCancel: {
                Task { await self.wake(id) }
            }
        }
    }

    /// Every page of the job once it has ended (completed, faulted or canceled), waiting while
    /// it runs; the cursors do not move. A pending job has nothing to wait for: -1011.
    func finishedPages() async throws(ScanBridgeError) -> [JobPage] {
        while true {
            if status.isFinished || deleted { return pages }
            if status == .pending {
                throw ScanBridgeError(code: -1011, message: "Job \(uid) is pending; start it with PATCH {\"status\": \"running\"}")
            }
            if Task.isCancelled { throw ScanBridgeError(code: -1011, message: "The request for job \(uid)'s content was cancelled") }
            let id = nextWaiter
            nextWaiter += 1
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in waiters[id] = continuation }
            } onCancel: {
                Task { await self.wake(id) }
            }
        }
    }

    /// The page with `uid`, if it belongs to this job.
    func page(uid pageUID: String) -> JobPage? {
        pages.first { $0.uid == pageUID }
    }

    private func wake(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume()
    }

    private func wakeAll() {
        let all = waiters
        waiters.removeAll()
        for continuation in all.values { continuation.resume() }
    }
}
