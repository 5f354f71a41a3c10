import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeHTTP
import ScanBridgeStorage

/// `/api/device…`: listing scanners and the whole life of a scan job. A camera job (created by
/// `CameraRoutes`) is a scan job too: its state, pages, content and deletion are served here,
/// under `/api/cameras/jobs/{jobuid}…` as well.
struct DeviceRoutes: Sendable {
    let service: ScanningService

    /// Where the routes common to every job live.
    static let jobPrefixes = ["/api/device/scanners/jobs", "/api/cameras/jobs"]

    func register(on router: inout Router) {
        router.get("/api/device/scanners") { request in
            let mask: Int
            if let text = request.query["type"], !text.isEmpty {
                guard let value = Int(text) ?? (text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : nil), value >= 0 else {
                    throw DWTErrors.invalidParameter("type must be a device-type bit mask such as 256 (SANE)")
                }
                mask = value
            } else {
                mask = ScannerEntry.saneType
            }
            // Only SANE scanners exist here; any mask without the SANE bit lists none.
            guard mask & ScannerEntry.saneType != 0 else { return try .json([ScannerEntry]()) }
            let refresh = request.query["refresh"] == "true"
            let scanners = try await service.sane.scanners(refresh: refresh)
            return try .json(scanners.map(ScannerEntry.init))
        }

        router.post("/api/device/scanners/jobs") { request in
            if !service.productKeys.isEmpty {
                guard let key = request.productKey, service.productKeys.contains(key) else { throw DWTErrors.invalidProductKey }
            }
            var options = try await request.decodeJSON(CreateScanJobOptions.self)
            if let device = options.device, !device.isEmpty {
                options.device = try await scannerID(for: try ScannerDevice.reference(device))
            }
            let job = try await service.jobs.create(options, origin: request.origin)
            let response = ScannerJobResponse(jobuid: job.uid, status: await job.status.rawValue,
                                              scanner: job.scanner.map(ScannerEntry.init), adjustments: job.adjustments)
            return try .json(response, status: .created)
        }

        router.get("/api/device/scanners/jobs/{jobuid}/scanner/capabilities") { request in
            let job = try await service.jobs.job(try request.parameters.require("jobuid"), origin: request.origin)
            let session = try await job.pendingSession()
            let wanted = try Self.capabilityFilter(request.query["caps"])
            let described = CapabilityDescription.describe(await session.capabilities)
            return try .json(wanted.map { filter in described.filter { filter.contains($0.capability) } } ?? described)
        }

        router.get("/api/device/scanners/jobs/{jobuid}/scanner/settings") { request in
            let job = try await service.jobs.job(try request.parameters.require("jobuid"), origin: request.origin)
            let session = try await job.pendingSession()
            return try .json(["settings": await ScannerSettingsBlob.make(from: session)])
        }

        for prefix in Self.jobPrefixes {
            router.get(prefix + "/{jobuid}") { request in
                let job = try await service.jobs.job(try request.parameters.require("jobuid"), origin: request.origin)
                return try .json(JobInfoResponse(status: await job.status.rawValue, code: await job.code, message: await job.message))
            }

            router.patch(prefix + "/{jobuid}") { request in
                let job = try await service.jobs.job(try request.parameters.require("jobuid"), origin: request.origin)
                let patch = try await request.decodeJSON(JobStatusPatch.self, allowEmpty: false)
                switch patch.status {
                case "running": try await job.start()
                case "canceled", "cancelled": try await job.cancel()
                default: throw DWTErrors.invalidParameter("status must be \"running\" or \"canceled\", not \"\(patch.status)\"")
                }
                return try .json(["status": await job.status.rawValue])
            }

            router.delete(prefix + "/{jobuid}") { request in
                try await service.jobs.delete(try request.parameters.require("jobuid"), origin: request.origin)
                return .noContent
            }

            router.get(prefix + "/{jobuid}/next-page-info") { request in
                let uid = try request.parameters.require("jobuid")
                let job = try await service.jobs.job(uid, origin: request.origin)
                guard let page = try await job.next(.info) else { return .noContent }
                return try .json([Self.outputInfo(page, job: uid, base: request.baseURL)])
            }

            router.get(prefix + "/{jobuid}/next-page") { request in
                let uid = try request.parameters.require("jobuid")
                let job = try await service.jobs.job(uid, origin: request.origin)
                let format = try PageRendering.requestedImageType(request.query["type"])
                let page: ScanJob.JobPage
                if let pageUID = request.query["page"] {
                    // The `url` of next-page-info: that very page, without advancing.
                    guard let found = await job.page(uid: pageUID) else {
                        throw DWTErrors.pageNotFound("Job \(uid) has no page \(pageUID)")
                    }
                    page = found
                } else {
                    guard let next = try await job.next(.page) else { return .noContent }
                    page = next
                }
                return .binary(try await PageRendering.encode(bufferPage: page.bufferID, in: service.buffer, as: format), contentType: format.mimeType)
            }

            // The job's pages as one document (the query of document content): waits while the job
            // runs, then renders what it scanned; 204 when it scanned none. The cursors do not move.
            router.get(prefix + "/{jobuid}/content") { request in
                let uid = try request.parameters.require("jobuid")
                let job = try await service.jobs.job(uid, origin: request.origin)
                let wanted = try DocumentRequest(query: request.query)
                let pages = try await job.finishedPages()
                guard !pages.isEmpty else { return .noContent }
                return try await DocumentRenderer(source: Self.renderSource(job: uid, pages: pages, buffer: service.buffer), request: wanted).response()
            }
        }
    }

    /// A finished job's pages as a render source: by uid or 0-based index, each read from the
    /// buffer (its stored form when it has one, as documents keep pages).
    static func renderSource(job: String, pages: [ScanJob.JobPage], buffer: ImageBuffer) -> RenderSource {
        RenderSource(name: "Job \(job)",
                     contents: { RenderSource.Contents(pageUIDs: pages.map(\.uid), metadata: DocumentMetadata()) },
                     read: { reference in
                         let page: ScanJob.JobPage
                         switch reference {
                         case .index(let index):
                             guard pages.indices.contains(index) else {
                                 throw DWTErrors.indexOutOfRange("Page index \(index) is out of range: job \(job) has \(pages.count) page(s)")
                             }
                             page = pages[index]
                         case .uid(let pageUID):
                             guard let found = pages.first(where: { $0.uid == pageUID }) else {
                                 throw DWTErrors.pageNotFound("Job \(job) has no page \(pageUID)")
                             }
                             page = found
                         }
                         if let stored = try await buffer.storedForm(id: page.bufferID) { return stored }
                         return try await buffer.content(id: page.bufferID)
                     })
    }

    /// The identity a job opens: an id as is; a name (a device string without an id) by the
    /// scanner list's display names, else as a SANE name, which opening resolves or refuses.
    private func scannerID(for reference: ScannerDevice.Reference) async throws -> String {
        switch reference {
        case .id(let id):
            return id
        case .name(let name):
            return try await service.sane.scanners().first { $0.displayName == name }?.id ?? name
        }
    }

    private static func capabilityFilter(_ text: String?) throws(ScanBridgeError) -> Set<Int>? {
        guard let text, !text.isEmpty else { return nil }
        var result = Set<Int>()
        for item in text.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard let value = Int(trimmed) ?? (trimmed.hasPrefix("0x") ? Int(trimmed.dropFirst(2), radix: 16) : nil) else {
                throw DWTErrors.invalidParameter("caps must be comma-separated capability numbers, got \(trimmed)")
            }
            result.insert(value)
        }
        return result
    }

    static func outputInfo(_ page: ScanJob.JobPage, job: String, base: String) -> OutputInfo {
        let info = page.info
        let pixelType = switch info.format {
        case .bw1: 0
        case .gray8, .gray16: 1
        case .rgb24, .rgb48: 2
        }
        var bitsPerSample = Array(repeating: info.bitsPerSample, count: info.samplesPerPixel)
        bitsPerSample += Array(repeating: 0, count: 8 - bitsPerSample.count)
        let widthInches = info.xDPI > 0 ? Double(info.width) / info.xDPI : 0
        let heightInches = info.yDPI > 0 ? Double(info.height) / info.yDPI : 0
        return OutputInfo(
            imageId: page.bufferID, imageuid: page.uid,
            imageInfo: .init(ImageWidth: info.width, ImageLength: info.height, BitsPerPixel: info.bitsPerPixel,
                             BitsPerSample: bitsPerSample, SamplesPerPixel: info.samplesPerPixel, PixelType: pixelType,
                             XResolution: info.xDPI, YResolution: info.yDPI, Compression: 0, Planar: false,
                             ImageLayout: .init(PageNumber: page.pageNumber, DocumentNumber: 1, FrameNumber: 0,
                                                Frame: .init(Left: 0, Top: 0, Right: widthInches, Bottom: heightInches))),
            extendedImageInfo: [:],
            url: PageLocator.jobPage(job: job, page: page.uid).url(base: base))
    }
}
