import Foundation
import Logging
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeStorage

/// Every scan job of the running service, by uid, and the rules around them: the scanner each
/// job holds, the origin it is bound to, and the memory of deleted jobs (410, not 404).
///
/// With a page journal, jobs found in it at start-up are restored (`restore`); those nobody
/// touches are deleted `interruptedJobTTL` after the start-up that found them or the last
/// request that named them, whichever is later, never sooner.
actor JobRegistry {
    private var jobs: [String: ScanJob] = [:]
    private var deleted: Set<String> = []
    /// The scanner of the last job, used when a job names none (DWT: "last used or default").
    private var lastDevice: String?
    private let buffer: ImageBuffer
    private let sane: SANEContext
    private let logger = Logger(label: "scanbridge.jobs")
    private let metrics: ServiceMetrics
    /// Job state and page events (`GET /api/events`).
    let events: EventHub
    /// nil when `PageJournal` is off.
    private let journal: PageJournal?
    private let interruptedJobTTL: Duration
    /// Restored jobs that are not running, by the moment of their last use.
    private var idleSince: [String: ContinuousClock.Instant] = [:]
    private var sweeper: Task<Void, Never>?

    init(buffer: ImageBuffer, sane: SANEContext = .shared, events: EventHub = EventHub(), metrics: ServiceMetrics = ServiceMetrics(),
         journal: PageJournal? = nil, interruptedJobTTL: Duration = .seconds(1440 * 60)) {
        self.buffer = buffer
        self.metrics = metrics
        self.sane = sane
        self.events = events
        self.journal = journal
        self.interruptedJobTTL = interruptedJobTTL
    }

    /// Puts the jobs found in the journal back: their pages into the buffer under the ids they
    /// were announced with, the jobs themselves `interrupted` (or as they ended). Returns how
    /// many jobs and pages came back.
    @discardableResult
    func restore(_ recovered: [RecoveredJob]) async -> (jobs: Int, pages: Int) {
        guard let journal else { return (0, 0) }
        var pageCount = 0
        for found in recovered {
            guard let details = JournaledJobDetails.decode(found.details) else {
                logger.error("A journaled job's record could not be read; its journal is left in place", metadata: ["job": "\(found.uid)"])
                continue
            }
            let added: [BufferPage]
            do { added = try await buffer.restore(found.pages, tags: ["job:\(found.uid)"]) } catch {
                logger.error("Journaled pages could not be restored: \(error)", metadata: ["job": "\(found.uid)"])
                continue
            }
            let numbers = Dictionary(found.pages.map { ($0.meta.id, $0.meta.pageNumber) }, uniquingKeysWith: { first, _ in first })
            let pages = added.map { ScanJob.JobPage(bufferID: $0.id, uid: $0.uid, info: $0.info, pageNumber: numbers[$0.id] ?? 0) }
            let job = ScanJob(recovered: found, details: details, pages: pages, journal: journal, buffer: buffer, logger: logger,
                              events: events, metrics: metrics, sane: sane, onRelease: { [weak self] uid in await self?.released(uid) })
            jobs[found.uid] = job
            idleSince[found.uid] = .now
            pageCount += pages.count
            let status = await job.status.rawValue
            logger.info("Scan job restored from the journal", metadata: ["job": "\(found.uid)", "status": "\(status)", "pages": "\(pages.count)"])
        }
        if !idleSince.isEmpty { startSweeper() }
        return (idleSince.count, pageCount)
    }

    /// Deletes restored jobs left untouched for `interruptedJobTTL` (checked at least every minute).
    private func startSweeper() {
        guard sweeper == nil else { return }
        let period = min(interruptedJobTTL, .seconds(60))
        sweeper = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: period)
                guard let self, !Task.isCancelled else { return }
                await self.sweep()
            }
        }
    }

    private func sweep() async {
        for (uid, since) in idleSince where ContinuousClock.now - since >= interruptedJobTTL {
            guard let job = jobs[uid] else { idleSince.removeValue(forKey: uid); continue }
            // A resumed job is in use; it is looked at again once it stops.
            guard await job.status.isIdle else { idleSince[uid] = .now; continue }
            guard let current = idleSince[uid], ContinuousClock.now - current >= interruptedJobTTL else { continue }
            idleSince.removeValue(forKey: uid)
            logger.info("Restored scan job removed: untouched for InterruptedJobTTLMinutes", metadata: ["job": "\(uid)"])
            try? await delete(uid, origin: job.origin)
        }
    }

    /// Creates a job: opens the scanner (423 when another job or program holds it), applies
    /// `settings`, then `caps`, then `config`, and starts it unless `autoRun` is false.
    func create(_ options: CreateScanJobOptions, origin: String?) async throws -> ScanJob {
        let device = try await chooseDevice(options.device)
        let timeout = Double(options.scannerFailureTimeout ?? 15)
        guard timeout > 0 else { throw DWTErrors.invalidParameter("scannerFailureTimeout must be positive") }
        guard (options.jobTimeout ?? 0) >= 0 else { throw DWTErrors.invalidParameter("jobTimeout must be 0 (none) or positive") }
        let session = try await ScannerSession.open(device, context: sane, scannerFailureTimeout: timeout)
        var registered: String?
        do {
            var configuration = options.config ?? DeviceConfiguration()
            var notes: [String] = []
            if let settings = options.settings, !settings.isEmpty {
                try await ScannerSettingsBlob.apply(settings, to: session)
            }
            if let caps = options.caps {
                notes += try CapabilityMapping.merge(caps, into: &configuration)
            }
            let plan = try await session.configure(configuration)
            let uid = UUID().uuidString.lowercased()
            let journaling = journal.map {
                ScanJob.Journaling(journal: $0, details: JournaledJobDetails(
                    origin: origin, scanner: session.scanner, adjustments: plan.adjustments.map(\.description) + notes,
                    configuration: configuration, settings: options.settings, scannerFailureTimeout: timeout, maxPages: plan.maxPages))
            }
            let job = ScanJob(uid: uid, origin: origin, session: session, plan: plan, buffer: buffer,
                              jobTimeout: options.jobTimeout ?? 0, logger: logger, events: events, metrics: metrics,
                              journaling: journaling, sane: sane, onRelease: { [weak self] uid in await self?.released(uid) })
            jobs[uid] = job
            registered = uid
            lastDevice = session.scanner.id
            logger.info("Scan job created", metadata: ["job": "\(uid)", "scanner": "\(session.scanner.id)",
                                                      "adjustments": "\((plan.adjustments.map(\.description) + notes).joined(separator: "; "))"])
            await job.publishState()
            if options.autoRun ?? true {
                try await job.start()
            } else {
                await job.armTimeout()
            }
            return job
        } catch {
            // A job whose start failed is not left behind as pending: its creator got the error,
            // not its uid.
            if let registered { jobs.removeValue(forKey: registered) }
            await session.close()
            throw error
        }
    }

    /// Creates a running job whose pages come from `source` (a camera): at most `maxPages`
    /// (nil: until it is canceled or deleted). It has no scanner and never becomes the default
    /// device of scanner jobs.
    func create(source: any JobPageSource, maxPages: Int?, adjustments: [String], origin: String?) async throws -> ScanJob {
        let uid = UUID().uuidString.lowercased()
        let job = ScanJob(uid: uid, origin: origin, source: source, scanner: nil, adjustments: adjustments, maxPages: maxPages,
                          buffer: buffer, jobTimeout: 0, logger: logger, events: events, metrics: metrics,
                          onRelease: { [weak self] uid in await self?.released(uid) })
        jobs[uid] = job
        logger.info("Camera job created", metadata: ["job": "\(uid)", "camera": "\(source.deviceID)"])
        await job.publishState()
        try await job.start()
        return job
    }

    /// Creates a job holding `pages` imported from a file (`POST /api/buffer/import`): they go
    /// into the buffer at `index` on (nil: at the end), all of them or none, tagged with the job
    /// like scanned pages, so they belong to `origin`; they are announced like scanned pages. The
    /// job is completed from the start and is not journaled; deleting it frees its pages.
    func importJob(_ pages: [Page], at index: Int?, origin: String?) async throws -> ScanJob {
        let uid = UUID().uuidString.lowercased()
        var added: [BufferPage] = []
        do {
            for (offset, page) in pages.enumerated() {
                if let index {
                    added.append(try await buffer.insert(page, at: index + offset, tags: ["job:\(uid)"]))
                } else {
                    added.append(try await buffer.append(page, tags: ["job:\(uid)"]))
                }
            }
        } catch {
            for entry in added { try? await buffer.remove(id: entry.id) }
            throw error
        }
        let jobPages = added.enumerated().map { offset, entry in
            ScanJob.JobPage(bufferID: entry.id, uid: entry.uid, info: entry.info, pageNumber: offset + 1)
        }
        let job = ScanJob(uid: uid, origin: origin, imported: jobPages, buffer: buffer, logger: logger, events: events, metrics: metrics)
        jobs[uid] = job
        logger.info("Import job created", metadata: ["job": "\(uid)", "pages": "\(jobPages.count)"])
        await job.announceImported()
        return job
    }

    /// The job `uid` for a request from `origin`: unknown, deleted (`DeletedResourceError`), or
    /// another origin's are errors. A request naming a restored job restarts its clean-up clock
    /// (`touching`).
    func job(_ uid: String, origin: String?, touching: Bool = true) throws -> ScanJob {
        guard let job = jobs[uid] else {
            throw deleted.contains(uid) ? DWTErrors.jobDeleted(uid) : DWTErrors.jobNotFound(uid)
        }
        guard job.origin == origin else { throw DWTErrors.foreignOrigin("Job \(uid)") }
        if touching, idleSince[uid] != nil { idleSince[uid] = .now }
        return job
    }

    /// Deletes the job: cancels it if needed and frees its pages and scanner.
    func delete(_ uid: String, origin: String?) async throws {
        let job = try job(uid, origin: origin)
        jobs.removeValue(forKey: uid)
        idleSince.removeValue(forKey: uid)
        deleted.insert(uid)
        let removed = await job.delete()
        events.publish("job", origin: job.origin, EventPayload.Job(job: uid, status: "deleted", code: 0, message: "Job deleted",
                                                                   pages: 0, scanner: job.deviceID))
        if !removed.isEmpty { events.publish("buffer", origin: job.origin, EventPayload.Buffer(change: "removed", ids: removed, count: nil)) }
        logger.info("Scan job deleted", metadata: ["job": "\(uid)"])
    }

    /// Every job, for shutdown: with a journal, jobs stop and keep their journals (a running
    /// job comes back `interrupted`); without, they are deleted.
    func stopAll() async {
        sweeper?.cancel()
        for (uid, job) in jobs {
            deleted.insert(uid)
            if journal != nil { await job.suspend() } else { await job.delete() }
        }
        jobs.removeAll()
    }

    private func released(_ uid: String) {
        logger.debug("Scanner released", metadata: ["job": "\(uid)"])
    }

    private func chooseDevice(_ requested: String?) async throws -> String {
        if let requested, !requested.isEmpty { return requested }
        if let lastDevice { return lastDevice }
        guard let first = try await sane.scanners().first else {
            throw DWTErrors.noScanner("No scanner is available; check `scanbridge devices`")
        }
        return first.id
    }
}

/// `settings` of a job: an opaque blob this service hands out (`GET …/scanner/settings`) and
/// accepts back. For SANE it is base64 of a JSON object of option name → value text.
enum ScannerSettingsBlob {
    static func make(from session: ScannerSession) async -> String {
        let values = await session.capabilities.values
        var object: [String: String] = [:]
        for (name, value) in values { object[name] = value.description }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return data.base64EncodedString()
    }

    static func apply(_ blob: String, to session: ScannerSession) async throws {
        guard let data = Data(base64Encoded: blob),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] else {
            throw DWTErrors.invalidParameter("settings is not a blob this service produced (GET …/scanner/settings)")
        }
        let capabilities = await session.capabilities
        for (name, text) in object.sorted(by: { $0.key < $1.key }) {
            // Read-only and inactive options are part of the snapshot but cannot be set.
            guard let option = capabilities.option(name), option.isSettable, option.isActive else { continue }
            do {
                _ = try await session.setOption(name, text: text)
            } catch {
                throw DWTErrors.invalidParameter("settings: option \(name) = \(text) was refused: \(error)")
            }
        }
    }
}

/// TWAIN capability numbers of `caps` that map onto DeviceConfiguration fields.
enum CapabilityMapping {
    static let pixelType = 0x0101, resolutionX = 0x1118, resolutionY = 0x1119
    static let feederEnabled = 0x1002, duplexEnabled = 0x1013, transferCount = 0x0001
    static let brightness = 0x1101, contrast = 0x1103, bitDepth = 0x112B, supportedSizes = 0x1122

    /// Copies each known capability into `configuration` (config, applied later, still wins);
    /// returns notes for the ones ignored, or throws when `exception` is "fail".
    static func merge(_ caps: CapabilitySettings, into configuration: inout DeviceConfiguration) throws -> [String] {
        var notes: [String] = []
        let original = configuration
        for setting in caps.capabilities {
            let value = setting.curValue.number
            switch setting.capability {
            case pixelType: configuration.pixelType = original.pixelType ?? Int(value)
            case resolutionX, resolutionY: configuration.resolution = original.resolution ?? value
            case feederEnabled: configuration.feederEnabled = original.feederEnabled ?? (value != 0)
            case duplexEnabled: configuration.duplexEnabled = original.duplexEnabled ?? (value != 0)
            case transferCount: configuration.transferCount = original.transferCount ?? Int(value)
            case brightness: configuration.brightness = original.brightness ?? value
            case contrast: configuration.contrast = original.contrast ?? value
            case bitDepth: configuration.bitDepth = original.bitDepth ?? Int(value)
            case supportedSizes: configuration.pageSize = original.pageSize ?? Int(value)
            default:
                let note = "capability \(setting.capability) (0x\(String(setting.capability, radix: 16))) is not supported by SANE devices"
                if caps.exception?.lowercased() == "fail" { throw DWTErrors.invalidParameter(note) }
                notes.append(note + "; ignored")
            }
        }
        return notes
    }
}
