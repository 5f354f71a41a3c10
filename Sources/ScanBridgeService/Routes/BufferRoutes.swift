import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// `/api/buffer…` (ScanBridge extensions for the browser SDK): the pages scanned jobs left in
/// the image buffer.
///
/// - `GET /api/buffer`: the pages of this origin's jobs, with their thumbnail URLs;
/// - `GET /api/buffer/{id}/thumbnail?size=N`: a JPEG thumbnail of a buffered page (longest side N, default 240);
/// - `POST /api/buffer/{id}/rotate` `{"degrees": 90|180|270|-90}`: rotates a buffered page in place;
/// - `DELETE /api/buffer/{id}`: removes a buffered page;
/// - `POST /api/buffer/reorder` `{"ids": [...]}`: puts these pages in this order, in the slots they occupy;
/// - `POST /api/buffer/import?insertPos=&password=&dpi=`: the body, an image file or a PDF
///   (`ImportedFile`, as `…/documents/{uid}/import` takes it), as new pages at `insertPos` of this
///   origin's pages (default: the end), all of them or none; 201 with their entries.
///
/// Buffered pages belong to the job that scanned them, and so to the origin that created the
/// job: a page of another origin's job is answered 403 like the job itself. Imported pages
/// belong to a job of their own (`JobRegistry.importJob`), created by the importing origin.
struct BufferRoutes: Sendable {
    let service: ScanningService
    var events: EventHub { service.jobs.events }

    struct ReorderBuffer: Decodable { var ids: [Int] }

    struct BufferEntry: Encodable {
        var id: Int
        var uid: String
        var index: Int
        var width: Int
        var height: Int
        var job: String?
        var thumbnail: String
        /// The page's URL as a `source` of documents and processing (its job's `next-page?page=`).
        var url: String?

        init(_ page: BufferPage) {
            let job = BufferRoutes.job(of: page)
            id = page.id
            uid = page.uid
            index = page.index
            width = page.info.width
            height = page.info.height
            self.job = job
            thumbnail = PageLocator.bufferThumbnail(id: page.id).path
            url = job.map { PageLocator.jobPage(job: $0, page: page.uid).path }
        }
    }

    func register(on router: inout Router) {
        router.get("/api/buffer") { [self] request in
            try .json(await visiblePages(origin: request.origin).map(BufferEntry.init))
        }

        router.post("/api/buffer/import") { [self] request in
            let position = try ImportedFile.insertPosition(request.query)
            let pages = try await ImportedFile.pages(of: request, limits: service.imports)
            let index = try await bufferIndex(of: position, origin: request.origin)
            let job = try await service.jobs.importJob(pages, at: index, origin: request.origin)
            let added = Set(await job.pageIDs)
            let entries = await service.buffer.pages().filter { added.contains($0.id) }.map(BufferEntry.init)
            return try .json(entries, status: .created)
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
            let turns = try quarterTurns(try await request.decodeJSON(RotateRequest.self, allowEmpty: false).degrees)
            let content = try await service.buffer.content(id: page.id)
            let image = try await PageRendering.image(of: content)
            let rotated = try await PageRendering.pool.run { image.rotated(quarterTurns: turns) }
            let entry = try await service.buffer.replace(id: page.id, with: Page(image: rotated))
            events.publish("buffer", origin: request.origin, EventPayload.Buffer(change: "rotated", ids: [page.id], count: nil))
            return try .json(BufferEntry(entry))
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
    }

    // MARK: - Helpers

    static func job(of page: BufferPage) -> String? {
        page.tags.first { $0.hasPrefix("job:") }.map { String($0.dropFirst(4)) }
    }

    /// The buffered pages of `origin`'s jobs, in buffer order.
    private func visiblePages(origin: String?) async -> [BufferPage] {
        var visible: [BufferPage] = []
        for page in await service.buffer.pages() {
            guard let job = Self.job(of: page), (try? await service.jobs.job(job, origin: origin)) != nil else { continue }
            visible.append(page)
        }
        return visible
    }

    /// The buffer index at which pages go to stand at `position` among `origin`'s pages (before
    /// the page there); nil for the end.
    private func bufferIndex(of position: Int?, origin: String?) async throws(ScanBridgeError) -> Int? {
        guard let position else { return nil }
        let visible = await visiblePages(origin: origin)
        guard position <= visible.count else {
            throw DWTErrors.invalidParameter("insertPos must be -1 (end) or 0…\(visible.count): this origin has \(visible.count) buffered page(s)")
        }
        return position < visible.count ? visible[position].index : nil
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

}
