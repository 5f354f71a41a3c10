import Foundation
import Logging
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeImaging
import ScanBridgeStorage

/// One DWT scan job: owns its page source (a scanner session, or a camera for camera jobs) while
/// it is pending or running, puts every page into the service's image buffer as it arrives (so a
/// slow or absent client never stalls the device), and hands pages out to clients through two
/// independent cursors: `next-page-info` and `next-page`. Pages imported into the buffer from a
/// file belong to a job too, one that has no source and is completed from the start, so that
/// they are owned, read, put into documents and deleted like scanned pages.
///
/// Transitions: pending → running → completed | faulted | canceled (and pending → canceled).
/// Pages scanned before a fault or a cancel stay available until the job is deleted.
///
/// With a page journal, each page is journaled (durable) before it is announced, and a job the
/// service stopped while it ran comes back after the restart as `interrupted`: its journaled
/// pages are served, and `start()` resumes it on the same scanner (interrupted → running).
actor ScanJob {
    enum Status: String, Sendable {
        case pending, running, completed, faulted, canceled, interrupted

        var isFinished: Bool { self == .completed || self == .faulted || self == .canceled }
        /// No page comes until the job is started (or resumed) again.
        var isIdle: Bool { isFinished || self == .interrupted }
    }

    /// Where a journaled job writes, and what its first record says about it.
    struct Journaling: Sendable {
        var journal: PageJournal
        var details: JournaledJobDetails
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
    private var maxPages: Int?
    private let jobTimeout: Duration?
    private let journaling: Journaling?
    /// The job's journal file, once the job has started (nil without journaling).
    private var journal: JobJournal?
    /// Page numbers of a resumed job continue after the pages journaled before.
    private var pageNumberBase = 0
    /// Set while the service shuts down: the job stops without an end record, so that it comes
    /// back `interrupted`.
    private var suspending = false
    private var resuming = false
    /// Set while `start` creates the job's journal.
    private var starting = false
    private let sane: SANEContext
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
         jobTimeout: Int, logger: Logger, events: EventHub = EventHub(), metrics: ServiceMetrics = ServiceMetrics(),
         journaling: Journaling? = nil, sane: SANEContext = .shared, onRelease: @escaping @Sendable (String) async -> Void) {
        self.init(uid: uid, origin: origin, source: session, scanner: session.scanner, adjustments: plan.adjustments.map(\.description),
                  maxPages: plan.maxPages, buffer: buffer, jobTimeout: jobTimeout, logger: logger, events: events, metrics: metrics,
                  journaling: journaling, sane: sane, onRelease: onRelease)
    }

    /// A job on any page source; camera jobs are not journaled (`journaling` nil).
    init(uid: String, origin: String?, source: any JobPageSource, scanner: ScannerInfo?, adjustments: [String], maxPages: Int?,
         buffer: ImageBuffer, jobTimeout: Int, logger: Logger, events: EventHub, metrics: ServiceMetrics,
         journaling: Journaling? = nil, sane: SANEContext = .shared, onRelease: @escaping @Sendable (String) async -> Void) {
        self.init(uid: uid, origin: origin, scanner: scanner, deviceID: source.deviceID, adjustments: adjustments, source: source,
                  maxPages: maxPages, jobTimeout: jobTimeout > 0 ? .seconds(jobTimeout) : nil, buffer: buffer,
                  journaling: journaling, journal: nil, pages: [], status: .pending,
                  logger: logger, events: events, metrics: metrics, sane: sane, onRelease: onRelease)
    }

    /// A job found in the page journal at start-up, with its pages (already back in the buffer):
    /// `interrupted` when it had not ended, else the status it ended with.
    init(recovered: RecoveredJob, details: JournaledJobDetails, pages: [JobPage], journal: PageJournal, buffer: ImageBuffer,
         logger: Logger, events: EventHub, metrics: ServiceMetrics, sane: SANEContext = .shared,
         onRelease: @escaping @Sendable (String) async -> Void) {
        var status = Status.interrupted, code = 0
        var message = "Interrupted: the service stopped while the job ran; its \(pages.count) journaled page(s) are kept. "
            + "PATCH {\"status\": \"running\"} resumes it on the same scanner."
        if let end = recovered.end, let final = Status(rawValue: end.status), final.isFinished {
            (status, code, message) = (final, end.code, end.message)
        }
        self.init(uid: recovered.uid, origin: details.origin, scanner: details.scanner, deviceID: details.scanner.id,
                  adjustments: details.adjustments, source: nil, maxPages: details.maxPages, jobTimeout: nil, buffer: buffer,
                  journaling: Journaling(journal: journal, details: details), journal: journal.reopen(job: recovered.uid),
                  pages: pages, status: status, code: code, message: message,
                  logger: logger, events: events, metrics: metrics, sane: sane, onRelease: onRelease)
    }

    /// A job whose pages were imported from a file (`JobRegistry.importJob`) and are in the
    /// buffer already: completed from the start, with no device, no timeout and no journal.
    init(uid: String, origin: String?, imported pages: [JobPage], buffer: ImageBuffer, logger: Logger, events: EventHub,
         metrics: ServiceMetrics) {
        self.init(uid: uid, origin: origin, scanner: nil, deviceID: Self.importDeviceID, adjustments: [], source: nil,
                  maxPages: nil, jobTimeout: nil, buffer: buffer, journaling: nil, journal: nil, pages: pages, status: .completed,
                  logger: logger, events: events, metrics: metrics, sane: .shared, onRelease: { _ in })
    }

    /// Every job's state at its start, whichever way it came about.
    private init(uid: String, origin: String?, scanner: ScannerInfo?, deviceID: String, adjustments: [String],
                 source: (any JobPageSource)?, maxPages: Int?, jobTimeout: Duration?, buffer: ImageBuffer,
                 journaling: Journaling?, journal: JobJournal?, pages: [JobPage], status: Status, code: Int = 0,
                 message: String = "Successful", logger: Logger, events: EventHub, metrics: ServiceMetrics, sane: SANEContext,
                 onRelease: @escaping @Sendable (String) async -> Void) {
        self.uid = uid
        self.origin = origin
        self.scanner = scanner
        self.deviceID = deviceID
        self.adjustments = adjustments
        self.source = source
        self.maxPages = maxPages
        self.jobTimeout = jobTimeout
        self.buffer = buffer
        self.journaling = journaling
        self.journal = journal
        self.pages = pages
        self.status = status
        self.code = code
        self.message = message
        self.logger = logger
        self.events = events
        self.metrics = metrics
        self.sane = sane
        self.onRelease = onRelease
    }

    /// The `deviceID` of jobs whose pages were imported from a file.
    static let importDeviceID = "import"

    /// Announces the pages of an imported job as a scan announces each page it adds (`page` and
    /// `buffer` events), then the job's state.
    func announceImported() {
        for page in pages { announce(page) }
        publishState()
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

    /// pending → running, or interrupted → running (resumed on the same scanner).
    func start() async throws {
        if status == .interrupted { return try await resume() }
        guard status == .pending, source != nil else {
            throw ScanBridgeError(code: -1011, message: "Job \(uid) is \(status.rawValue); only a pending or interrupted job can start")
        }
        // A second start while the first creates the journal would create it again and, failing,
        // remove the first one's file.
        guard !starting else { throw ScanBridgeError(code: -1011, message: "Job \(uid) is already starting") }
        if let journaling, journal == nil {
            starting = true
            defer { starting = false }
            let opened = try await journaling.journal.begin(job: uid, details: journaling.details.encoded())
            journal = opened
            // Canceled or deleted while the journal was created.
            guard status == .pending, !deleted, let source else {
                if deleted { await journaling.journal.remove(job: uid) } else { await recordEnd() }
                throw ScanBridgeError(code: -1011, message: "Job \(uid) is \(status.rawValue); only a pending or interrupted job can start")
            }
            run(source)
        } else if let source {
            run(source)
        }
    }

    private func run(_ source: any JobPageSource) {
        status = .running
        timeoutTask?.cancel()
        logger.info("Scan job running", metadata: ["job": "\(uid)", "device": "\(deviceID)"])
        publishState()
        scanTask = Task { await self.scan(source) }
    }

    /// interrupted → running: opens the scanner again with the job's settings and scans the
    /// pages it had not transferred yet, numbering them after the journaled ones.
    private func resume() async throws {
        guard let journaling, !resuming else {
            throw ScanBridgeError(code: -1011, message: "Job \(uid) is being resumed")
        }
        resuming = true
        defer { resuming = false }
        let details = journaling.details
        let session = try await ScannerSession.open(details.scanner.id, context: sane, scannerFailureTimeout: details.scannerFailureTimeout)
        do {
            if let settings = details.settings, !settings.isEmpty { try await ScannerSettingsBlob.apply(settings, to: session) }
            _ = try await session.configure(details.configuration)
        } catch {
            await session.close()
            throw error
        }
        guard status == .interrupted, !deleted else {
            await session.close()
            throw ScanBridgeError(code: -1011, message: "Job \(uid) is \(status.rawValue); only a pending or interrupted job can start")
        }
        pageNumberBase = pages.map(\.pageNumber).max() ?? 0
        if let total = details.maxPages {
            maxPages = total - pages.count
        }
        self.source = session
        code = 0
        message = "Successful"
        logger.info("Scan job resumed", metadata: ["job": "\(uid)", "pages": "\(pages.count)"])
        if let remaining = maxPages, remaining <= 0 {
            status = .running
            await finish(.completed, code: 0, message: "Successful")
            return
        }
        run(session)
    }

    /// pending|running → canceled. Pages scanned so far stay.
    func cancel(reason: String = "Canceled by the client") async throws(ScanBridgeError) {
        switch status {
        case .pending, .interrupted:
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

    /// Cancels what runs, frees the job's pages in the buffer, its journal and the scanner.
    /// Returns the buffer ids of the pages it removed.
    @discardableResult
    func delete() async -> [Int] {
        deleted = true
        if status == .pending || status == .running { try? await cancel(reason: "Job deleted") }
        timeoutTask?.cancel()
        // Taken now: no page is added once `deleted` is set.
        let removed = pages
        pages.removeAll()
        // One by one: a page a client removed from the buffer already must not keep the others.
        for page in removed { try? await buffer.remove(id: page.bufferID) }
        if let journaling { await journaling.journal.remove(job: uid) }
        wakeAll()
        return removed.map(\.bufferID)
    }

    /// Stops the job for a service shutdown and keeps its journal: a running job comes back
    /// `interrupted` after the restart, a finished one as it ended.
    func suspend() async {
        suspending = true
        timeoutTask?.cancel()
        if status == .pending || status == .running { try? await cancel(reason: "The service stopped") }
        wakeAll()
    }

    private func scan(_ source: any JobPageSource) async {
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
                if suspending { break }
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
        let pageNumber = pageNumberBase + scanned.pageNumber
        // The page is durable before anyone hears of it: its stored form (what documents and
        // the JPEG of a colour page are made of), or the page itself when it has none.
        if let journal, !deleted {
            do {
                try await journal.append(page: derived.storedForm ?? page, id: entry.id, uid: entry.uid, pageNumber: pageNumber)
            } catch {
                try? await buffer.remove(id: entry.id)
                logger.error("Page \(pageNumber) could not be journaled; the job stops with every earlier page kept: \(error)",
                             metadata: ["job": "\(uid)"])
                throw error
            }
        }
        // The job may have been deleted while the buffer stored the page.
        guard !deleted else {
            try? await buffer.remove(id: entry.id)
            return
        }
        let added = JobPage(bufferID: entry.id, uid: entry.uid, info: entry.info, pageNumber: pageNumber)
        pages.append(added)
        metrics.pageScanned(entry.info.format)
        announce(added)
        logger.debug("Page scanned", metadata: ["job": "\(uid)", "page": "\(pageNumber)", "buffer": "\(entry.id)"])
        wakeAll()
    }

    /// Tells clients that `page` is in the buffer and ready: a `page` event, then a `buffer` event.
    private func announce(_ page: JobPage) {
        events.publish("page", origin: origin, EventPayload.PageReady(
            job: uid, id: page.bufferID, uid: page.uid, pageNumber: page.pageNumber, width: page.info.width, height: page.info.height,
            thumbnail: PageLocator.bufferThumbnail(id: page.bufferID).path, url: PageLocator.jobPage(job: uid, page: page.uid).path))
        events.publish("buffer", origin: origin, EventPayload.Buffer(change: "added", ids: [page.bufferID], count: nil))
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
        // After the scanner is free: a client that saw the job end may start the next one at once.
        if !suspending { await recordEnd() }
        wakeAll()
        restartTimeout()
    }

    /// Writes the job's end record; a failure leaves the job `interrupted` after a restart
    /// (its pages kept), so it is logged, not thrown.
    private func recordEnd() async {
        guard let journal, !deleted else { return }
        do {
            try await journal.end(JournaledJobEnd(status: status.rawValue, code: code, message: message))
        } catch {
            logger.error("The end of the job could not be journaled: \(error)", metadata: ["job": "\(uid)"])
        }
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
            if status.isIdle || deleted { return nil }
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
            if status.isIdle || deleted { return pages }
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
