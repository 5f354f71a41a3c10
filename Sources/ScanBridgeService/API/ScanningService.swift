import Foundation
import Logging
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeStorage
import ScanBridgeUpload

/// The state behind the DWT REST API: the image buffer, the persistent documents and the scan
/// jobs, opened from the service folder and the configuration.
public final class ScanningService: Sendable {
    let buffer: ImageBuffer
    let documents: DocumentStore
    let jobs: JobRegistry
    let sane: SANEContext
    let uploader: Uploader
    /// What `GET /metrics` reports; jobs, uploads and the core router record into it.
    let metrics: ServiceMetrics
    /// Empty: any product key (or none) may create jobs.
    let productKeys: Set<String>
    /// Where cameras are looked for (`CameraDeviceFolder`).
    let cameraFolder: String
    /// What imports may hold: request bodies in memory at once, pixels per imported file.
    let imports: ImportLimits

    struct ImportLimits: Sendable {
        var bodies: BodyBudget
        var maxPixels: Int
    }

    init(buffer: ImageBuffer, documents: DocumentStore, jobs: JobRegistry, sane: SANEContext, uploader: Uploader,
         metrics: ServiceMetrics, productKeys: Set<String>, imports: ImportLimits,
         cameraFolder: String = CameraDiscovery.defaultDirectory) {
        self.imports = imports
        self.cameraFolder = cameraFolder
        self.uploader = uploader
        self.metrics = metrics
        self.buffer = buffer
        self.documents = documents
        self.jobs = jobs
        self.sane = sane
        self.productKeys = productKeys
    }

    public static func open(folder: ServiceFolder, configuration: LoadedConfiguration, metrics: ServiceMetrics = ServiceMetrics(),
                            logger: Logger = Logger(label: "scanbridge.service")) async throws(ScanBridgeError) -> ScanningService {
        func value(_ name: String) -> String? { configuration.values.first { $0.key.name == name }?.value }
        let limits = BufferLimits(memoryBytes: configuration.settings.bufferMemoryLimitBytes,
                                  maxPages: configuration.settings.bufferMaxPages)
        let buffer = try await ImageBuffer.open(cacheFolder: folder.cache, limits: limits)
        let documents = try await DocumentStore.open(folder: folder.storage)
        let keys = (value("ProductKeys") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !documents.recovery.unreadableDocuments.isEmpty {
            logger.error("Stored documents that could not be read were left in place", metadata: [
                "documents": "\(documents.recovery.unreadableDocuments.joined(separator: ", "))"])
        }
        // Documents rendered for a response or an upload that a crash left behind.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.upload)) ?? []
        where name.hasPrefix("content-") && name.hasSuffix(".tmp") {
            unlink((folder.upload as NSString).appendingPathComponent(name))
        }
        let uploader = Uploader(stagingFolder: folder.upload)
        let recovered = await uploader.recoverStaged()
        if !recovered.isEmpty {
            logger.info("Uploads kept from an earlier run can be retried", metadata: ["count": "\(recovered.count)"])
        }
        var journal: PageJournal?
        var journaledJobs: [RecoveredJob] = []
        if value("PageJournal") != "false" {
            (journal, journaledJobs) = try await PageJournal.open(folder: folder.journal)
        }
        let ttlMinutes = Int(value("InterruptedJobTTLMinutes") ?? "") ?? 1440
        let jobs = JobRegistry(buffer: buffer, metrics: metrics, journal: journal, interruptedJobTTL: .seconds(ttlMinutes * 60))
        let restored = await jobs.restore(journaledJobs)
        if restored.jobs > 0 {
            logger.info("Scan jobs restored from the page journal", metadata: ["jobs": "\(restored.jobs)", "pages": "\(restored.pages)"])
        }
        return ScanningService(buffer: buffer, documents: documents, jobs: jobs,
                               sane: .shared, uploader: uploader, metrics: metrics, productKeys: Set(keys),
                               imports: ImportLimits(bodies: BodyBudget(limitBytes: configuration.settings.maxBodyBytesInFlight),
                                                     maxPixels: configuration.settings.importMaxPixels),
                               cameraFolder: value("CameraDeviceFolder") ?? CameraDiscovery.defaultDirectory)
    }

    /// Stops the jobs (journaled ones keep their journals), removes the buffer's cache files and
    /// closes the documents.
    public func close() async {
        await jobs.stopAll()
        await uploader.shutdown()
        await buffer.close()
        await documents.close()
    }
}
