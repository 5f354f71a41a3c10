// ScanBridgeUpload's public entry point: start, observe, cancel and retry uploads of encoded
// documents to HTTP(S), FTP(S) and S3-compatible targets.
import Foundation
import Logging
import ScanBridgeCore

/// Owns the upload thread (libcurl's multi interface), the staging folder and every upload's
/// record. One per service; the API routes call it.
///
/// Life of an upload: `start` writes the document to `upload/<id>.data` (off the cooperative
/// pool) and returns its id; the upload then waits for a slot (`maxConcurrentUploads`), sends
/// with retries inside `totalTimeout`, and ends `succeeded` (staged copy removed), `failed`
/// (kept; `retry` sends it again) or `canceled` (kept).
public actor Uploader {
    private struct Record {
        var status: UploadStatus
        var target: UploadTarget?
        var options: UploadOptions
        var contentType: String
        /// The document's bytes when they are kept in memory only (never staged on disk).
        var memory: Data?
        let monitor: UploadMonitor
        var task: Task<Void, Never>?
        var waiters: [CheckedContinuation<UploadStatus, Never>] = []
    }

    private let staging: StagingArea
    private let engine: CurlMultiThread
    private let limiter: AsyncLimiter
    private let logger: Logger
    private var records: [UploadID: Record] = [:]
    /// Uploads whose staged copy is being deleted by `discard` or `remove`: `retry` refuses them,
    /// so no run starts on a copy that is going away, and their record goes once it is gone.
    private var removing: Set<UploadID> = []
    private var isShutDown = false

    /// - Parameters:
    ///   - stagingFolder: the service folder's `upload/` (created when missing).
    ///   - maxConcurrentUploads: uploads on the wire at once; the rest wait, in order (default 4).
    public init(stagingFolder: String, maxConcurrentUploads: Int = 4, logger: Logger = Logger(label: "scanbridge.upload")) {
        staging = StagingArea(folder: stagingFolder)
        engine = CurlMultiThread(name: "sb-upload")
        limiter = AsyncLimiter(limit: maxConcurrentUploads)
        self.logger = logger
    }

    deinit {
        // Without `shutdown()` the upload thread would outlive its uploader.
        engine.requestStop()
    }

    // MARK: starting

    /// Stages `document` and starts sending it to `target`. Returns once the bytes are safe in
    /// `upload/` (a document in a file is moved there); follow it with `status`, `events` or
    /// `wait`. When it throws, a document file is left where it was.
    /// Throws -2113 for a target that is not valid, -2405 when staging fails.
    public func start(_ document: UploadDocument, to target: UploadTarget,
                      options: UploadOptions = UploadOptions()) async throws(ScanBridgeError) -> UploadID {
        guard !isShutDown else { throw ScanBridgeError(code: UploadErrorCode.wrongState, message: "the uploader is shut down") }
        try target.validate()
        try Self.validate(document)
        let id = UploadID.make()
        let now = Date()
        let memory: Data? = if case .memoryOnly(let data) = document.content { data } else { nil }
        var staged = StagedRecord(id: id, fileName: document.fileName, contentType: document.contentType,
                                  byteCount: 0, target: target.redactedDescription, created: now)
        staged.byteCount = try await staging.stage(document.content, record: staged)
        let monitor = UploadMonitor()
        monitor.reset(total: staged.byteCount)
        let status = UploadStatus(id: id, state: .queued, target: staged.target, fileName: document.fileName,
                                  byteCount: staged.byteCount, attempt: 0, progress: UploadProgress(sent: 0, total: staged.byteCount),
                                  stagedFile: memory == nil ? staging.dataPath(id) : nil, created: now)
        records[id] = Record(status: status, target: target, options: options, contentType: document.contentType,
                             memory: memory, monitor: monitor)
        logger.info("upload staged", metadata: ["upload": "\(id)", "target": "\(staged.target)", "bytes": "\(staged.byteCount)"])
        launch(id)
        return id
    }

    /// Stages, sends and waits: the server's response, or the error of the final failure.
    /// Cancelling the calling task cancels the upload (its staged copy is kept).
    public func upload(_ document: UploadDocument, to target: UploadTarget,
                       options: UploadOptions = UploadOptions()) async throws(ScanBridgeError) -> UploadResponse {
        let id = try await start(document, to: target, options: options)
        let final = try await wait(id)
        if let error = final.error { throw error }
        return final.response ?? UploadResponse(statusCode: 0, body: Data())
    }

    /// Sends a failed or canceled upload again from its staged copy. `target` is required for
    /// uploads recovered from a previous run (credentials are never stored); otherwise it
    /// replaces the previous target when given. Throws -1011 unless the upload is failed or canceled,
    /// -2400 for an unknown id or one that `discard` or `remove` is deleting.
    public func retry(_ id: UploadID, target: UploadTarget? = nil, options: UploadOptions? = nil) async throws(ScanBridgeError) {
        guard var record = records[id], !removing.contains(id) else { throw Self.unknown(id) }
        guard [.failed, .canceled].contains(record.status.state), record.task == nil else {
            throw ScanBridgeError(code: UploadErrorCode.wrongState, message: "upload \(id) is \(record.status.state.rawValue); only failed or canceled uploads can be retried")
        }
        if let target {
            try target.validate()
            record.target = target
        }
        guard let chosen = record.target else {
            throw ScanBridgeError(code: UploadErrorCode.invalidParameter, message: "upload \(id) was staged by an earlier run: give its target again")
        }
        let stagedSize: Int64? = if let memory = record.memory { Int64(memory.count) } else { await staging.size(id) }
        guard let size = stagedSize else {
            throw ScanBridgeError(code: UploadErrorCode.stagingFailed, message: "the staged copy of upload \(id) is gone")
        }
        guard !removing.contains(id) else { throw Self.unknown(id) }
        guard var current = records[id], current.task == nil, [.failed, .canceled].contains(current.status.state) else {
            throw ScanBridgeError(code: UploadErrorCode.wrongState, message: "upload \(id) changed state meanwhile")
        }
        current.target = chosen
        if let options { current.options = options }
        current.status.target = chosen.redactedDescription
        current.status.byteCount = size
        current.status.state = .queued
        current.status.error = nil
        current.status.response = nil
        current.status.finished = nil
        current.monitor.reset(total: size)
        records[id] = current
        logger.info("upload retried", metadata: ["upload": "\(id)", "target": "\(current.status.target)"])
        launch(id)
    }

    // MARK: observing

    /// The upload's current status, nil for an unknown id.
    public func status(_ id: UploadID) -> UploadStatus? {
        guard let record = records[id] else { return nil }
        return Self.merge(record)
    }

    /// Every upload this uploader knows, oldest first.
    public func list() -> [UploadStatus] {
        records.values.map(Self.merge).sorted { $0.created < $1.created }
    }

    /// The upload's events from now on: state changes, progress (bytes sent/total, at most every
    /// 50 ms) and one final event, after which the sequence ends. For a finished upload it
    /// yields the final event only. Nil for an unknown id.
    public func events(_ id: UploadID) -> AsyncStream<UploadEvent>? {
        records[id]?.monitor.subscribe()
    }

    /// Waits for the upload to end and returns its final status. Cancelling the calling task
    /// cancels the upload. Throws -2400 for an unknown id.
    public func wait(_ id: UploadID) async throws(ScanBridgeError) -> UploadStatus {
        guard let record = records[id] else { throw Self.unknown(id) }
        if record.task == nil, record.status.state.isFinal { return Self.merge(record) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                records[id]?.waiters.append(continuation)
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    // MARK: ending

    /// Cancels a queued or running upload (its staged copy is kept for `retry`). Returns false
    /// when the upload is unknown or already finished.
    @discardableResult
    public func cancel(_ id: UploadID) -> Bool {
        guard let task = records[id]?.task else { return false }
        logger.info("upload cancel requested", metadata: ["upload": "\(id)"])
        task.cancel()
        return true
    }

    /// Removes a finished upload: its staged copy (if kept) and its record. Throws -1011 while
    /// it runs, -2400 for an unknown id or one another caller is already removing.
    public func discard(_ id: UploadID) async throws(ScanBridgeError) {
        guard let record = records[id] else { throw Self.unknown(id) }
        guard record.task == nil else {
            throw ScanBridgeError(code: UploadErrorCode.wrongState, message: "upload \(id) is still running; cancel it first")
        }
        try await drop(id)
    }

    /// Cancels the upload if it is queued or running, waits for it to end, then removes it like
    /// `discard`: its staged copy (file or memory) and its record. Returns its final status.
    /// Throws -2400 for an unknown id, -1011 when a `retry` started it again meanwhile.
    public func remove(_ id: UploadID) async throws(ScanBridgeError) -> UploadStatus {
        guard records[id] != nil else { throw Self.unknown(id) }
        cancel(id)
        var final = try await wait(id)
        // Another caller may have removed it while this one waited.
        guard records[id] != nil else { throw Self.unknown(id) }
        try await drop(id)
        final.stagedFile = nil
        return final
    }

    /// Deletes a finished upload's staged copy, then its record. An upload another caller is
    /// already removing counts as gone (-2400); one a `retry` started again is refused (-1011).
    private func drop(_ id: UploadID) async throws(ScanBridgeError) {
        guard records[id]?.task == nil else {
            throw ScanBridgeError(code: UploadErrorCode.wrongState, message: "upload \(id) is running again; cancel it first")
        }
        guard removing.insert(id).inserted else { throw Self.unknown(id) }
        defer { removing.remove(id) }
        try await staging.remove(id)
        records[id] = nil
    }

    /// Registers documents left in `upload/` by an earlier run as failed uploads, so that they
    /// can be listed and sent again with `retry(id, target:)`. Returns them.
    public func recoverStaged() async -> [UploadStatus] {
        var recovered: [UploadStatus] = []
        for staged in await staging.list() where records[staged.id] == nil {
            let monitor = UploadMonitor()
            monitor.emit(.failed(ScanBridgeError(code: UploadErrorCode.transferFailed, message: staged.lastError ?? "staged by an earlier run")))
            let status = UploadStatus(id: staged.id, state: .failed, target: staged.target, fileName: staged.fileName,
                                      byteCount: staged.byteCount, attempt: 0, progress: UploadProgress(sent: 0, total: staged.byteCount),
                                      error: ScanBridgeError(code: UploadErrorCode.transferFailed, message: staged.lastError ?? "staged by an earlier run"),
                                      stagedFile: staging.dataPath(staged.id), created: staged.created)
            records[staged.id] = Record(status: status, target: nil, options: UploadOptions(), contentType: staged.contentType, monitor: monitor)
            recovered.append(status)
        }
        return recovered
    }

    /// Cancels every upload, waits for them to end and stops the upload thread.
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        let tasks = records.values.compactMap(\.task)
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        await engine.shutdown()
        for record in records.values { record.monitor.finishAll() }
    }

    // MARK: running

    private func launch(_ id: UploadID) {
        guard let record = records[id], let target = record.target else { return }
        let job = UploadJob(id: id, target: target, options: record.options,
                            document: StagedDocument(path: staging.dataPath(id), byteCount: record.status.byteCount,
                                                     fileName: record.status.fileName, contentType: record.contentType,
                                                     memory: record.memory),
                            engine: engine, limiter: limiter, monitor: record.monitor, logger: logger)
        records[id]?.task = Task.detached { [weak self] in
            let result = await job.run()
            await self?.finish(id, result)
        }
    }

    private func finish(_ id: UploadID, _ result: Result<UploadResponse, UploadFailure>) async {
        guard let running = records[id] else { return }
        // The staging folder is brought up to date first. While that is awaited the actor serves
        // other calls (a `wait` adds its waiter), so the record is read again afterwards: a copy
        // taken before the await would drop those waiters and leave their callers hanging.
        var stagedCopyRemoved = false
        switch result {
        case .success:
            do {
                try await staging.remove(id)
                stagedCopyRemoved = true
            } catch {
                logger.warning("staged copy not removed", metadata: ["upload": "\(id)", "error": "\(error)"])
            }
        case .failure(let failure):
            if running.memory == nil {
                let staged = StagedRecord(id: id, fileName: running.status.fileName, contentType: running.contentType,
                                          byteCount: running.status.byteCount, target: running.status.target,
                                          created: running.status.created, lastError: failure.error.description)
                try? await staging.update(staged)
            }
        }
        guard var record = records[id] else { return }
        let finalEvent: UploadEvent
        switch result {
        case .success(let response):
            record.status.state = .succeeded
            record.status.response = response
            if stagedCopyRemoved { record.status.stagedFile = nil }
            logger.info("upload succeeded", metadata: ["upload": "\(id)", "target": "\(record.status.target)", "status": "\(response.statusCode)"])
            finalEvent = .succeeded(response)
        case .failure(let failure):
            record.status.state = failure.canceled ? .canceled : .failed
            record.status.error = failure.error
            record.status.response = failure.response
            if failure.canceled {
                logger.info("upload canceled", metadata: ["upload": "\(id)", "staged": "\(record.status.stagedFile ?? "memory")"])
                finalEvent = .canceled
            } else {
                logger.warning("upload failed", metadata: ["upload": "\(id)", "error": "\(failure.error)", "staged": "\(record.status.stagedFile ?? "memory")"])
                finalEvent = .failed(failure.error)
            }
        }
        record.status.finished = Date()
        let live = record.monitor.snapshot
        record.status.attempt = live.attempt
        record.status.progress = live.progress
        record.task = nil
        let waiters = record.waiters
        record.waiters = []
        records[id] = record
        record.monitor.emit(finalEvent)
        let final = Self.merge(record)
        for waiter in waiters { waiter.resume(returning: final) }
    }

    private static func merge(_ record: Record) -> UploadStatus {
        var status = record.status
        if record.task != nil {
            let live = record.monitor.snapshot
            status.state = live.state.isFinal ? .uploading : live.state
            status.attempt = live.attempt
            status.progress = live.progress
        }
        return status
    }

    private static func unknown(_ id: UploadID) -> ScanBridgeError {
        ScanBridgeError(code: UploadErrorCode.unknownUpload, message: "no upload with id \(id)")
    }

    private static func validate(_ document: UploadDocument) throws(ScanBridgeError) {
        guard !document.fileName.isEmpty, document.fileName.count <= 255,
              !document.fileName.contains(where: { $0 == "/" || $0 == "\\" || $0 == "\"" || $0.isNewline || $0 == "\0" }),
              document.fileName != ".", document.fileName != ".."
        else { throw Validation.invalid("document file name must be a plain name without '/', quotes or control characters") }
        guard !document.contentType.isEmpty, !document.contentType.contains(where: { $0.isNewline || $0 == "\0" })
        else { throw Validation.invalid("document content type is not valid") }
    }
}
