import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeImaging

/// One eSCL scan job. It holds its scanner only while pages come in: the scan runs to the end
/// (the feeder empty, or the flatbed page) without waiting for the client, each page prepared
/// on the compute pool as it arrives, and the scanner is closed as soon as the last page is in.
/// The client takes the documents with `NextDocument`, in order, at its own pace.
actor ESCLJob {
    enum State: String, Sendable {
        case processing = "Processing", completed = "Completed", canceled = "Canceled", aborted = "Aborted"
    }

    /// What `NextDocument` gets.
    enum Next: Sendable {
        case page(PreparedPage)
        /// No more documents: the job ended and every page was taken.
        case end
        /// Nothing yet while the scanner still works (the client should ask again).
        case notReady
    }

    nonisolated let uuid: String
    nonisolated let settings: ESCLScanSettings
    nonisolated let created = ContinuousClock.now
    private(set) var state: State = .processing
    private(set) var finishedAt: ContinuousClock.Instant?
    /// Why the job aborted (shown in the log and the job's state reason).
    private(set) var failure: ScanBridgeError?
    /// Pages scanned and prepared, and pages handed out.
    private(set) var imagesCompleted = 0
    private(set) var imagesTransferred = 0
    /// Whether the PDF of the job has been handed out (it is one document for all pages).
    private(set) var pdfTaken = false
    private var ready: [PreparedPage] = []
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0
    private var session: ScannerSession?
    private var scanTask: Task<Void, Never>?
    private var cancelRequested = false

    init(uuid: String, settings: ESCLScanSettings) {
        self.uuid = uuid
        self.settings = settings
    }

    /// Starts reading `pages` from `session` (which the job now owns and closes).
    func start(session: ScannerSession, pages: AsyncThrowingStream<ScannedPage, Error>) {
        self.session = session
        let format = settings.documentFormat
        scanTask = Task {
            do {
                for try await page in pages.parallelMap({ try PageEncoding.prepare($0, as: format) }) {
                    self.accept(page)
                }
                await self.finish(nil)
            } catch {
                await self.finish(error)
            }
        }
    }

    private func accept(_ page: PreparedPage) {
        ready.append(page)
        imagesCompleted += 1
        wakeAll()
    }

    private func finish(_ error: (any Error)?) async {
        if let session {
            self.session = nil
            await session.close()
        }
        guard state == .processing else { return }
        if cancelRequested || error is CancellationError {
            state = .canceled
        } else if let error {
            failure = error as? ScanBridgeError ?? ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "\(error)")
            // Pages scanned before a fault stay for the client; the job still ends "aborted".
            state = .aborted
        } else {
            state = .completed
        }
        finishedAt = .now
        wakeAll()
    }

    /// Cancels the scan; pages not yet taken are dropped.
    func cancel() async {
        cancelRequested = true
        ready.removeAll()
        await session?.cancel()
        scanTask?.cancel()
        await scanTask?.value
        if state == .processing {
            state = .canceled
            finishedAt = .now
        }
        wakeAll()
    }

    var isScanning: Bool { state == .processing }

    /// The next page, waiting up to `timeout` for the scanner.
    func next(timeout: Duration) async -> Next {
        let deadline = ContinuousClock.now + timeout
        while true {
            if !ready.isEmpty {
                imagesTransferred += 1
                return .page(ready.removeFirst())
            }
            if state != .processing || Task.isCancelled { return .end }
            if ContinuousClock.now >= deadline { return .notReady }
            await wait(until: deadline)
        }
    }

    /// Claims the job's single PDF; false when it was claimed already.
    func claimPDF() -> Bool {
        defer { pdfTaken = true }
        return !pdfTaken
    }

    /// Waits until a page arrives, the job ends, or `deadline`.
    private func wait(until deadline: ContinuousClock.Instant) async {
        let id = nextWaiter
        nextWaiter += 1
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            await self?.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in waiters[id] = continuation }
        } onCancel: {
            Task { await self.wake(id) }
        }
        timer.cancel()
    }

    private func wake(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume()
    }

    private func wakeAll() {
        let all = waiters
        waiters.removeAll()
        for continuation in all.values { continuation.resume() }
    }

    /// Pages the client can still take (for ScannerStatus' ImagesToTransfer).
    var imagesToTransfer: Int { ready.count }
}
