import Foundation
import ScanBridgeCore
import ScanBridgeStorage
import ScanBridgeUpload

/// The one way a stored document is uploaded, for `POST /api/uploads` and
/// `POST /api/storage/documents/{uid}/upload` alike: the document is rendered into a file in
/// `upload/`, the uploader stages that file by renaming it, and the upload's progress is
/// published as `upload` events to the origin that asked. A password-protected document is
/// rendered into memory instead and handed to the uploader as memory-only content: its clear
/// text never reaches the disk, where the document itself is encrypted.
struct DocumentUpload: Sendable {
    var document: String
    var password: String?
    var request: DocumentRequest
    /// Default: `{document}.{pdf|tif|jpg|png}`.
    var fileName: String?
    var target: UploadTarget
    var options = UploadOptions()

    /// Renders, stages and starts the upload; returns its id once the document is staged.
    func start(service: ScanningService, stagingFolder: String, origin: String?) async throws -> UploadID {
        let renderer = DocumentRenderer(documents: service.documents, uid: document, password: password, request: request)
        let name = fileName ?? "\(document).\(request.format.fileExtension)"
        let id: UploadID
        if try await service.documents.info(uid: document, password: password).isEncrypted {
            let upload = UploadDocument(content: .memoryOnly(try await renderer.data()), fileName: name,
                                        contentType: request.format.mimeType)
            id = try await service.uploader.start(upload, to: target, options: options)
        } else {
            let path = (stagingFolder as NSString).appendingPathComponent("content-\(UUID().uuidString).tmp")
            try await renderer.write(toFile: path)
            let upload = UploadDocument(file: path, fileName: name, contentType: request.format.mimeType)
            do {
                id = try await service.uploader.start(upload, to: target, options: options)
            } catch {
                unlink(path)
                throw error
            }
        }
        await publishEvents(of: id, uploader: service.uploader, events: service.jobs.events, metrics: service.metrics, origin: origin)
        return id
    }

    /// `upload` events for the upload's life: queued now, then as the uploader reports; how it
    /// ended is counted in `metrics`.
    private func publishEvents(of id: UploadID, uploader: Uploader, events: EventHub, metrics: ServiceMetrics, origin: String?) async {
        let stream = await uploader.events(id)
        let total = await uploader.status(id)?.byteCount ?? 0
        let document = self.document
        events.publish("upload", origin: origin, EventPayload.Upload(upload: id.description, document: document, state: "queued",
                                                                     sent: 0, total: total, message: nil))
        guard let stream else { return }
        Task {
            for await event in stream {
                let payload: EventPayload.Upload
                switch event {
                case .queued: continue
                case .started: payload = .init(upload: id.description, document: document, state: "uploading", sent: 0, total: total)
                case .progress(let progress):
                    payload = .init(upload: id.description, document: document, state: "uploading", sent: progress.sent, total: progress.total)
                case .retrying(_, _, let reason):
                    payload = .init(upload: id.description, document: document, state: "retrying", sent: 0, total: total, message: reason)
                case .succeeded(let response):
                    metrics.uploadEnded(.succeeded)
                    payload = .init(upload: id.description, document: document, state: "succeeded", sent: total, total: total,
                                    message: "HTTP \(response.statusCode)")
                case .failed(let error):
                    metrics.uploadEnded(.failed)
                    payload = .init(upload: id.description, document: document, state: "failed", sent: 0, total: total, message: error.message)
                case .canceled:
                    metrics.uploadEnded(.canceled)
                    payload = .init(upload: id.description, document: document, state: "canceled", sent: 0, total: total)
                }
                events.publish("upload", origin: origin, payload)
            }
        }
    }
}
