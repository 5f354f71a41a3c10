import Foundation
import ScanBridgeStorage

/// Resolves the `source` of document and processing requests: a job page or a stored page
/// (see `PageLocator`), looked up locally.
///
/// `preferStoredForm`: a scanned page's stored form (encoded when it was scanned) when the
/// buffer still holds one, for callers that keep pages in that form (documents); otherwise the
/// page's own content.
enum PageSources {
    static func page(_ source: String, service: ScanningService, origin: String?, password: String?,
                     preferStoredForm: Bool = false) async throws -> Page {
        guard URLComponents(string: source) != nil else { throw DWTErrors.invalidParameter("source is not a URL: \(source)") }
        switch PageLocator(parsing: source) {
        case .jobPage(let jobUID, let pageUID)?:
            let job = try await service.jobs.job(jobUID, origin: origin)
            guard let page = await job.page(uid: pageUID) else { throw DWTErrors.sourceNotFound(source) }
            if preferStoredForm, let stored = try await service.buffer.storedForm(id: page.bufferID) { return stored }
            return try await service.buffer.content(id: page.bufferID)
        case .storedPage(let document, let page)?:
            return try await service.documents.readPage(page, of: document, password: password)
        case .bufferThumbnail?, nil:
            throw DWTErrors.invalidParameter("source must be a page URL of this service (the url from next-page-info), got \(source)")
        }
    }
}
