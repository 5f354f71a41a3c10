import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeUpload

/// ScanBridge extension `/api/uploads…`: send a stored document (or some of its pages) in a
/// chosen format to an HTTP(S), FTP(S) or S3-compatible target from the service, follow it,
/// cancel it. Target and option JSON: see Sources/ScanBridgeUpload/Targets/TargetCoding.swift.
enum UploadRoutes {
    struct StartRequest: Decodable {
        var document: String
        var password: String?
        /// application/pdf (default), image/tiff, image/jpeg or image/png.
        var format: String?
        /// Comma-separated page indices or uids (default: all, or the first for JPEG/PNG).
        var pages: String?
        var quality: Int?
        var fileName: String?
        var target: UploadTarget
        var options: UploadOptions?
    }

    static func register(on router: inout Router, service: ScanningService, folder: ServiceFolder) {
        router.post("/api/uploads") { request in
            let body = try await request.decodeJSON(StartRequest.self, allowEmpty: false)
            if request.origin != nil, body.options?.tls.caFile != nil {
                // A web page must not point the service at files on this machine.
                throw DWTErrors.invalidParameter("caFile can only be set by local programs, not by web pages")
            }
            var items = [URLQueryItem(name: "type", value: body.format ?? "application/pdf")]
            if let pages = body.pages { items.append(URLQueryItem(name: "pages", value: pages)) }
            if let quality = body.quality { items.append(URLQueryItem(name: "quality", value: String(quality))) }
            var components = URLComponents()
            components.queryItems = items
            let content = try DocumentContent.parse(QueryParameters(parsing: Substring(components.percentEncodedQuery ?? "")))
            let rendered = try await DocumentContent.render(uid: body.document, password: request.documentPassword ?? body.password,
                                                            request: content, service: service, stagingFolder: folder.upload)
            let data: Data
            switch rendered {
            case .bytes(let bytes): data = Data(bytes)
            case .file(let path):
                defer { unlink(path) }
                data = try await PageRendering.pool.run { try Data(contentsOf: URL(fileURLWithPath: path)) }
            }
            let extensions = ["application/pdf": "pdf", "image/tiff": "tif", "image/jpeg": "jpg", "image/png": "png"]
            let fileName = body.fileName ?? "\(body.document).\(extensions[content.type] ?? "bin")"
            let id = try await service.uploader.start(UploadDocument(data: data, fileName: fileName, contentType: content.type),
                                                      to: body.target, options: body.options ?? UploadOptions())
            guard let status = await service.uploader.status(id) else { throw HTTPError(.internalServerError, message: "Upload \(id) vanished") }
            return try .json(status, status: .accepted)
        }

        router.get("/api/uploads") { _ in try .json(await service.uploader.list()) }

        router.get("/api/uploads/{id}") { request in
            try .json(try await status(request, service))
        }

        router.delete("/api/uploads/{id}") { request in
            let current = try await status(request, service)
            _ = await service.uploader.cancel(current.id)
            return try .json(try await status(request, service))
        }

        router.get("/api/uploads/{id}/events") { request in
            let id = try await status(request, service).id
            guard let events = await service.uploader.events(id) else { throw unknown(request) }
            return .eventStream { stream in
                for await event in events {
                    let data = try JSONEncoder().encode(event)
                    try await stream.send(ServerSentEvent(event: event.eventName, data: String(decoding: data, as: UTF8.self)))
                }
            }
        }
    }

    private static func status(_ request: Request, _ service: ScanningService) async throws -> UploadStatus {
        guard let id = UploadID(try request.parameters.require("id")), let status = await service.uploader.status(id) else {
            throw unknown(request)
        }
        return status
    }

    private static func unknown(_ request: Request) -> ScanBridgeError {
        DWTErrors.unknownUpload(request.parameters["id"] ?? "")
    }
}
