import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage
import ScanBridgeUpload

/// ScanBridge's own routes for the browser SDK, next to (never inside) the DWT REST paths:
///
/// - `GET /api/events`: server-sent events (see `EventRoutes`);
/// - `GET /api/cameras`: V4L2 cameras;
/// - `GET /api/buffer/{id}/thumbnail?size=N`: a JPEG thumbnail of a buffered page (longest side N, default 240);
/// - `POST /api/buffer/{id}/rotate` `{"degrees": 90|180|270|-90}`: rotates a buffered page in place;
/// - `DELETE /api/buffer/{id}`: removes a buffered page;
/// - `POST /api/buffer/reorder` `{"ids": [...]}`: puts these pages in this order, in the slots they occupy;
/// - `POST /api/storage/documents/{uid}/order` `{"pages": [pageUid...]}`: reorders a document's pages;
/// - `POST /api/storage/documents/{uid}/pages/{page}/rotate` `{"degrees": …}`: rotates a stored page;
/// - `POST /api/storage/documents/{uid}/upload` `{"url", "method", "type", …}`: the service uploads
///   the document (progress as `upload` events); its status is `GET /api/uploads/{id}` (UploadRoutes).
///
/// Buffered pages belong to the job that scanned them, and so to the origin that created the
/// job: a page of another origin's job is answered 403 like the job itself.
final class BrowserRoutes: Sendable {
    let service: ScanningService
    let events: EventHub
    let uploader: Uploader
    let stagingFolder: String

    init(service: ScanningService, folder: ServiceFolder) {
        self.service = service
        self.events = service.jobs.events
        self.stagingFolder = folder.upload
        // The service's one uploader: its concurrency limit and staging cover every upload.
        self.uploader = service.uploader
    }

    func close() async {
        events.finishAll()
    }

    struct RotateRequest: Decodable { var degrees: Int }
    struct ReorderBuffer: Decodable { var ids: [Int] }
    struct ReorderDocument: Decodable { var pages: [String] }

    struct BufferEntry: Encodable {
        var id: Int
        var uid: String
        var index: Int
        var width: Int
        var height: Int
        var job: String?
        var thumbnail: String
    }

    struct CameraEntry: Encodable {
        var id: String
        var name: String
        var driver: String
    }

    func register(on router: inout Router) {
        EventRoutes.register(on: &router, events: events)

        router.get("/api/cameras") { _ in
            let cameras = await CameraDiscovery.cameras()
            return try .json(cameras.map { CameraEntry(id: $0.id, name: $0.name, driver: $0.driver) })
        }

        router.get("/api/buffer") { [self] request in
            var visible: [BufferEntry] = []
            for page in await service.buffer.pages() {
                guard let job = Self.job(of: page), (try? await service.jobs.job(job, origin: request.origin)) != nil else { continue }
                visible.append(BufferEntry(id: page.id, uid: page.uid, index: page.index, width: page.info.width,
                                           height: page.info.height, job: job, thumbnail: PageLocator.bufferThumbnail(id: page.id).path))
            }
            return try .json(visible)
        }

        router.get("/api/buffer/{id}/thumbnail") { [self] request in
            let page = try await ownedPage(request)
            let size = Int(request.query["size"] ?? "") ?? 240
            guard (16...2048).contains(size) else { throw DWTErrors.invalidParameter("size must be 16…2048 pixels") }
            let thumbnail = try await PageRendering.thumbnail(bufferPage: page.id, in: service.buffer, maxWidth: size, maxHeight: size)
            let bytes = try await PageRendering.pool.run {
                try PageRendering.encode(PageRendering.eightBit(thumbnail), as: .jpeg, quality: 80)
            }
            return .binary(bytes, contentType: "image/jpeg", headerFields: [.cacheControl: "no-cache"])
        }

        router.post("/api/buffer/{id}/rotate") { [self] request in
            let page = try await ownedPage(request)
            let turns = try Self.quarterTurns(try await request.decodeJSON(RotateRequest.self, allowEmpty: false).degrees)
            let content = try await service.buffer.content(id: page.id)
            let image = try await PageRendering.image(of: content)
            let rotated = try await PageRendering.pool.run { image.rotated(quarterTurns: turns) }
            let entry = try await service.buffer.replace(id: page.id, with: Page(image: rotated))
            events.publish("buffer", origin: request.origin, EventPayload.Buffer(change: "rotated", ids: [page.id], count: nil))
            return try .json(BufferEntry(id: entry.id, uid: entry.uid, index: entry.index, width: entry.info.width, height: entry.info.height,
                                         job: Self.job(of: entry), thumbnail: PageLocator.bufferThumbnail(id: entry.id).path))
        }

        router.delete("/api/buffer/{id}") { [self] request in
            let page = try await ownedPage(request)
            try await service.buffer.remove(id: page.id)
            events.publish("buffer", origin: request.origin, EventPayload.Buffer(change: "removed", ids: [page.id], count: nil))
            return .noContent
        }

        router.post("/api/buffer/reorder") { [self] request in
            let wanted = try await request.decodeJSON(ReorderBuffer.self, allowEmpty: false).ids
            guard Set(wanted).count == wanted.count else { throw DWTErrors.invalidParameter("ids must not repeat") }
            for id in wanted { _ = try await ownedPage(id: id, origin: request.origin) }
            let order = await service.buffer.pages().map(\.id)
            // The slots these pages occupy now, filled in the order asked for.
            var target = order
            let slots = order.indices.filter { wanted.contains(order[$0]) }
            for (slot, id) in zip(slots, wanted) { target[slot] = id }
            var current = order
            for index in target.indices where current[index] != target[index] {
                guard let from = current.firstIndex(of: target[index]) else { continue }
                try await service.buffer.move(from: from, to: index)
                current.insert(current.remove(at: from), at: index)
            }
            events.publish("buffer", origin: request.origin, EventPayload.Buffer(change: "moved", ids: wanted, count: nil))
            return .noContent
        }

        router.post("/api/storage/documents/{uid}/order") { [self] request in
            let uid = try request.parameters.require("uid")
            let pages = try await request.decodeJSON(ReorderDocument.self, allowEmpty: false).pages
            let info = try await service.documents.reorder(uid, pageUIDs: pages, password: request.documentPassword)
            return .json(raw: DocumentInfoResponse(info).json)
        }

        router.post("/api/storage/documents/{uid}/pages/{page}/rotate") { [self] request in
            let uid = try request.parameters.require("uid")
            let reference = PageReference(pathSegment: try request.parameters.require("page"))
            let turns = try Self.quarterTurns(try await request.decodeJSON(RotateRequest.self, allowEmpty: false).degrees)
            let password = request.documentPassword
            let before = try await service.documents.info(uid: uid, password: password)
            let index: Int
            switch reference {
            case .index(let value): index = value
            case .uid(let pageUID):
                guard let found = before.pages.firstIndex(where: { $0.uid == pageUID }) else {
                    throw DWTErrors.pageNotFound("Document \(uid) has no page \(pageUID)")
                }
                index = found
            }
            guard before.pages.indices.contains(index) else {
                throw DWTErrors.indexOutOfRange("Page index \(index) is out of range: the document has \(before.pages.count) page(s)")
            }
            let page = try await service.documents.readPage(.index(index), of: uid, password: password)
            let image = try await PageRendering.image(of: page)
            let rotated = try await PageRendering.pool.run { image.rotated(quarterTurns: turns) }
            // Insert the rotated page first, then drop the old one: a failure loses nothing.
            _ = try await service.documents.insertPages([try await PageRendering.storedForm(Page(image: rotated))], into: uid, at: index,
                                                        password: password)
            let info = try await service.documents.deletePage(.index(index + 1), from: uid, password: password)
            return .json(raw: DocumentInfoResponse(info).json)
        }
    }

    // MARK: - Helpers

    static func job(of page: BufferPage) -> String? {
        page.tags.first { $0.hasPrefix("job:") }.map { String($0.dropFirst(4)) }
    }

    /// The buffered page `{id}`, if the requesting origin owns the job that scanned it.
    private func ownedPage(_ request: Request) async throws -> BufferPage {
        guard let id = Int(try request.parameters.require("id")) else { throw DWTErrors.invalidParameter("the page id must be a number") }
        return try await ownedPage(id: id, origin: request.origin)
    }

    private func ownedPage(id: Int, origin: String?) async throws -> BufferPage {
        let page = try await service.buffer.page(id: id)
        guard let job = Self.job(of: page) else { throw DWTErrors.foreignOrigin("Image \(id)") }
        _ = try await service.jobs.job(job, origin: origin)
        return page
    }

    static func quarterTurns(_ degrees: Int) throws(ScanBridgeError) -> Int {
        guard degrees % 90 == 0 else { throw DWTErrors.invalidParameter("degrees must be a multiple of 90, got \(degrees)") }
        return ((degrees / 90) % 4 + 4) % 4
    }
}
