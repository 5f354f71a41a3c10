import Foundation
import ScanBridgeStorage

/// Every page URL the API hands out, as one value: built for responses and events, parsed from
/// the `source` of document and processing requests. A locator names a page this service holds;
/// it is looked up locally, never fetched, so a source can't make the service request other hosts.
///
/// Forms (parsed with any scheme, host and port, or none):
/// - `…/api/device/scanners/jobs/{jobuid}/next-page?page={imageuid}`: a page of a scan job (the
///   `url` of next-page-info);
/// - `…/api/storage/documents/{documentuid}/pages/{page}`: a stored page, `{page}` its uid or
///   0-based index (ScanBridge extension);
/// - `/api/buffer/{id}/thumbnail`: the thumbnail of a buffered page (ScanBridge extension).
enum PageLocator: Sendable, Equatable {
    case jobPage(job: String, page: String)
    case storedPage(document: String, page: PageReference)
    case bufferThumbnail(id: Int)

    /// The locator as a path (with its query), relative to the service's root.
    var path: String {
        switch self {
        case .jobPage(let job, let page):
            "/api/device/scanners/jobs/\(Self.segment(job))/next-page?page=\(Self.queryValue(page))"
        case .storedPage(let document, let page):
            "/api/storage/documents/\(Self.segment(document))/pages/\(Self.segment(page.pathSegment))"
        case .bufferThumbnail(let id):
            "/api/buffer/\(id)/thumbnail"
        }
    }

    /// The locator as an absolute URL under `base` (`scheme://host:port`, no trailing slash).
    func url(base: String) -> String { base + path }

    /// Reads a locator from an absolute or relative URL; nil for anything that is not one of
    /// the forms above.
    init?(parsing text: String) {
        guard let components = URLComponents(string: text), components.percentEncodedPath.hasPrefix("/") else { return nil }
        let encoded = components.percentEncodedPath.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        let segments = encoded.compactMap { $0.removingPercentEncoding }
        guard segments.count == encoded.count, !segments.contains(""), segments.count >= 4, segments[0] == "api" else { return nil }
        switch segments {
        case let s where s.count == 6 && s[1] == "device" && s[2] == "scanners" && s[3] == "jobs" && s[5] == "next-page":
            guard let page = components.queryItems?.first(where: { $0.name == "page" })?.value, !page.isEmpty else { return nil }
            self = .jobPage(job: s[4], page: page)
        case let s where s.count == 6 && s[1] == "storage" && s[2] == "documents" && s[4] == "pages":
            self = .storedPage(document: s[3], page: PageReference(pathSegment: s[5]))
        case let s where s.count == 4 && s[1] == "buffer" && s[3] == "thumbnail":
            guard let id = Int(s[2]), id >= 0, String(id) == s[2] else { return nil }
            self = .bufferThumbnail(id: id)
        default:
            return nil
        }
    }

    private static let segmentCharacters = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))
    private static let queryValueCharacters = CharacterSet.urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+#"))

    /// Identifiers the service makes need no escaping; anything else is escaped so that the
    /// locator parses back to the same value.
    private static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: segmentCharacters) ?? text
    }

    private static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: queryValueCharacters) ?? text
    }
}

extension PageReference {
    /// The REST path segment that names this page (`init(pathSegment:)` reads it back).
    var pathSegment: String {
        switch self {
        case .uid(let uid): uid
        case .index(let index): String(index)
        }
    }
}
