import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging

/// `/DWTAPI/…`: the REST API of the DWT 18 era, for clients written against it (PyPI
/// `twain-wia-sane-scanner` 1.0, Dynamsoft's older samples). It runs on the same job machinery
/// as `/api/device`, with that API's origin binding and product keys; only the shapes differ.
///
/// Those clients read pages in a loop that ends on 410 alone (anything else but 200 makes them
/// ask again), so every "no next document" of `NextDocument` is a 410: the job has finished
/// and handed out all its pages, was deleted, or never existed.
struct LegacyRoutes: Sendable {
    let service: ScanningService

    func register(on router: inout Router) {
        router.get("/DWTAPI/Scanners") { request in
            let mask = try ScannerEntry.typeMask(request.query["type"])
            // Only SANE scanners exist here; any mask without the SANE bit lists none.
            guard mask & ScannerEntry.saneType != 0 else { return try .json([LegacyScannerEntry]()) }
            return try .json(try await service.sane.scanners().map(LegacyScannerEntry.init))
        }

        router.post("/DWTAPI/ScanJobs") { request in
            // Decoded before the key check: the legacy product key travels in the body.
            let body = try await request.decodeJSON(LegacyScanJobRequest.self)
            if !service.productKeys.isEmpty {
                guard let key = request.productKey ?? body.license, service.productKeys.contains(key) else {
                    throw DWTErrors.invalidProductKey
                }
            }
            var device: String?
            if let reference = body.device ?? body.scanner {
                device = reference.resolve(in: try await service.sane.scanners())
            }
            let job = try await service.jobs.create(body.options(device: device), origin: request.origin)
            return .text(job.uid, status: .created)
        }

        router.get("/DWTAPI/ScanJobs/{jobid}/NextDocument") { request in
            let uid = try request.parameters.require("jobid")
            let format = try Self.documentType(request.query["type"])
            let job: ScanJob
            do {
                job = try await service.jobs.job(uid, origin: request.origin)
            } catch let unknown as ScanBridgeError where unknown.code == DWTErrors.jobNotFound(uid).code {
                throw DeletedResourceError(error: unknown)
            }
            guard let page = try await job.next(.page) else {
                let code = await job.code, message = await job.message
                throw DeletedResourceError(error: ScanBridgeError(code: code, message: "Job \(uid) has no more documents (\(message))"))
            }
            return .binary(try await PageRendering.encode(bufferPage: page.bufferID, in: service.buffer, as: format),
                           contentType: format.mimeType)
        }

        router.delete("/DWTAPI/ScanJobs/{jobid}") { request in
            try await service.jobs.delete(try request.parameters.require("jobid"), origin: request.origin)
            return Response(status: .ok)
        }
    }

    /// The image type of a document: JPEG unless `type` asks for PNG, since legacy clients
    /// store what they get as `.jpg`.
    static func documentType(_ value: String?) throws(ScanBridgeError) -> ImageFileFormat {
        guard let value, !value.isEmpty else { return .jpeg }
        return try PageRendering.requestedImageType(value)
    }
}
