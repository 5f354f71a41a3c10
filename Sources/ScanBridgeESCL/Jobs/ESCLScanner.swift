import Foundation
import Logging
import ScanBridgeCore
import ScanBridgeDevices

/// The scanner the eSCL server offers and its jobs. It opens the scanner with
/// `ScannerSession.open`, the same call the DWT API uses, so the two share one lock per
/// scanner: while a DWT job holds it, a new eSCL job is refused (503), and while an eSCL job
/// scans, a DWT job gets "busy" (-1004).
public actor ESCLScanner {
    /// Which scanner: its identity or SANE name, or nil for the first one SANE lists.
    private let device: String?
    private let sane: SANEContext
    private let logger: Logger
    private var jobs: [String: ESCLJob] = [:]
    private var order: [String] = []
    private var cached: ESCLScannerDescription?
    /// The reading of `cached` under way, if any.
    private var reading: Task<ESCLScannerDescription, any Error>?
    /// Seconds a SANE call may take before the scan fails (as a DWT job's default).
    let scannerFailureTimeout: Double = 15
    /// Finished jobs are forgotten this long after they end (their untaken pages with them).
    let retention: Duration = .seconds(300)
    /// At most this many jobs are remembered (ScannerStatus lists them).
    let maxJobs = 16

    public init(device: String?, sane: SANEContext = .shared, logger: Logger = Logger(label: "scanbridge.escl")) {
        self.device = device.flatMap { $0.isEmpty ? nil : $0 }
        self.sane = sane
        self.logger = logger
    }

    private func scannerInfo() async throws -> ScannerInfo {
        if let device { return try await sane.scanner(device, timeout: scannerFailureTimeout) }
        guard let first = try await sane.scanners().first else {
            throw ScanBridgeError(code: DeviceErrorCode.deviceNotFound, message: "No scanner is available; check `scanbridge devices`")
        }
        return first
    }

    /// What the scanner offers. Read once by opening it (then cached: an open scanner cannot be
    /// asked while another client holds it). Callers that arrive while it is being read share
    /// that reading: a second open would be refused as busy by the first.
    /// - Throws: the device's error (-1004 while another client holds it and nothing is cached).
    public func description() async throws -> ESCLScannerDescription {
        if let cached { return cached }
        if let reading { return try await reading.value }
        let task = Task { try await self.readDescription() }
        reading = task
        defer { reading = nil }
        let description = try await task.value
        cached = description
        return description
    }

    private func readDescription() async throws -> ESCLScannerDescription {
        let info = try await scannerInfo()
        let session = try await ScannerSession.open(info.id, context: sane, scannerFailureTimeout: scannerFailureTimeout)
        let capabilities = await session.capabilities
        await session.close()
        return ESCLScannerDescription(scanner: info, capabilities: capabilities)
    }

    /// Opens the scanner, applies `settings` and starts scanning.
    func createJob(_ settings: ESCLScanSettings) async throws -> ESCLJob {
        await prune()
        let scanner = try await description()
        switch settings.inputSource {
        case .feeder where !scanner.hasFeeder:
            throw ESCLScanSettings.Unsupported(description: "InputSource Feeder: the scanner has no document feeder")
        case .platen where !scanner.hasPlaten:
            throw ESCLScanSettings.Unsupported(description: "InputSource Platen: the scanner has no flatbed")
        default: break
        }
        if settings.duplex && !scanner.hasDuplex {
            throw ESCLScanSettings.Unsupported(description: "Duplex: the scanner does not scan both sides")
        }
        guard scanner.colorModes.contains(settings.colorMode) else {
            throw ESCLScanSettings.Unsupported(description: "ColorMode \(settings.colorMode.rawValue) is not offered by the scanner")
        }
        let info = try await scannerInfo()
        let session = try await ScannerSession.open(info.id, context: sane, scannerFailureTimeout: scannerFailureTimeout)
        do {
            let plan = try await session.configure(ESCLDeviceMapping.configuration(for: settings))
            if let region = settings.region {
                for (option, value) in ESCLDeviceMapping.area(region, capabilities: await session.capabilities) {
                    try await session.setOption(option, to: .number(value))
                }
            }
            let uuid = UUID().uuidString.lowercased()
            let job = ESCLJob(uuid: uuid, settings: settings)
            await job.start(session: session, pages: try await session.scan())
            jobs[uuid] = job
            order.append(uuid)
            logger.info("eSCL scan job started", metadata: [
                "job": "\(uuid)", "scanner": "\(info.id)", "source": "\(settings.inputSource.rawValue)",
                "mode": "\(settings.colorMode.rawValue)", "format": "\(settings.documentFormat.rawValue)",
                "adjustments": "\(plan.adjustments.map(\.description).joined(separator: "; "))"])
            return job
        } catch {
            await session.close()
            throw error
        }
    }

    func job(_ uuid: String) async -> ESCLJob? {
        await prune()
        return jobs[uuid]
    }

    /// Cancels the job and forgets it; false when there is no such job.
    func delete(_ uuid: String) async -> Bool {
        guard let job = jobs.removeValue(forKey: uuid) else { return false }
        order.removeAll { $0 == uuid }
        await job.cancel()
        logger.info("eSCL scan job deleted", metadata: ["job": "\(uuid)"])
        return true
    }

    /// Jobs, oldest first (ScannerStatus).
    func allJobs() async -> [ESCLJob] {
        await prune()
        return order.compactMap { jobs[$0] }
    }

    /// Cancels every job (shutdown).
    public func cancelAll() async {
        for uuid in order { await jobs[uuid]?.cancel() }
        jobs.removeAll()
        order.removeAll()
    }

    private func prune() async {
        let now = ContinuousClock.now
        var finished: [String] = []
        for uuid in order {
            guard let job = jobs[uuid] else { continue }
            if let end = await job.finishedAt {
                if now - end > retention { jobs.removeValue(forKey: uuid) } else { finished.append(uuid) }
            }
        }
        // Over the limit, the oldest finished jobs go; a job still scanning is never dropped.
        var excess = jobs.count - maxJobs
        for uuid in finished where excess > 0 {
            jobs.removeValue(forKey: uuid)
            excess -= 1
        }
        order.removeAll { jobs[$0] == nil }
    }
}
