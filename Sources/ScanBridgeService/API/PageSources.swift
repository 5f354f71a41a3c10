import Foundation
import ScanBridgeHTTP
import ScanBridgeStorage

/// Resolves the `source` of document and processing requests: a page URL this service handed
/// out. Sources are looked up locally, never fetched, so a source can't make the service
/// request other hosts.
///
/// Accepted forms (any scheme, host and port):
/// - `…/api/device/scanners/jobs/{jobuid}/next-page?page={imageuid}` (the `url` of next-page-info);
/// - `…/api/storage/documents/{documentuid}/pages/{pageuid}` (a stored page; ScanBridge extension).
///
/// `preferStoredForm`: a scanned page's stored form (encoded when it was scanned) when the
/// buffer still holds one, for callers that keep pages in that form (documents); otherwise the
/// page's own content.
enum PageSources {
    static func page(_ source: String, service: ScanningService, origin: String?, password: String?,
                     preferStoredForm: Bool = false) async throws -> Page {
        guard let components = URLComponents(string: source) else { throw DWTErrors.invalidParameter("source is not a URL: \(source)") }
        let segments = components.path.split(separator: "/").map(String.init)
        if segments.count == 6, segments[0] == "api", segments[1] == "device", segments[2] == "scanners",
           segments[3] == "jobs", segments[5] == "next-page",
           let pageUID = components.queryItems?.first(where: { $0.name == "page" })?.value {
            let job = try await service.jobs.job(segments[4], origin: origin)
            guard let page = await job.page(uid: pageUID) else { throw DWTErrors.sourceNotFound(source) }
            if preferStoredForm, let stored = try await service.buffer.storedForm(id: page.bufferID) { return stored }
            return try await service.buffer.content(id: page.bufferID)
        }
        if segments.count == 6, segments[0] == "api", segments[1] == "storage", segments[2] == "documents", segments[4] == "pages" {
            return try await service.documents.readPage(PageReference(pathSegment: segments[5]), of: segments[3], password: password)
        }
        throw DWTErrors.invalidParameter("source must be a page URL of this service (the url from next-page-info), got \(source)")
    }
}
