import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeUpload

/// `/api/uploads…` (ScanBridge extension): `POST` sends a stored document (or some of its
/// pages) in a chosen format to an HTTP(S), FTP(S) or S3-compatible target through
/// `DocumentUpload`, like `POST /api/storage/documents/{uid}/upload` (StorageRoutes), and answers
/// the upload's status; `GET /api/uploads/{id}` (and `/events`) follow an upload, `DELETE`
/// cancels it and removes its staged copy and its record. Target and option JSON: see Sources/ScanBridgeUpload/Targets/TargetCoding.swift.
struct UploadRoutes: Sendable {
    let service: ScanningService
    let folder: ServiceFolder

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

    /// The body of the document-scoped form.
    struct DocumentUploadRequest: Decodable {
        var url: String
        var method: String?
        var type: String?
        var fileName: String?
        var fieldName: String?
        var formFields: [String: String]?
        var headers: [String: String]?
    }

    func register(on router: inout Router) {
        router.post("/api/uploads") { request in
            let body = try await request.decodeJSON(StartRequest.self, allowEmpty: false)
            if request.origin != nil, body.options?.tls.caFile != nil {
                // A web page must not point the service at files on this machine.
                throw DWTErrors.invalidParameter("caFile can only be set by local programs, not by web pages")
            }
            let upload = try DocumentUpload(document: body.document, password: request.documentPassword ?? body.password,
                                            request: Self.documentRequest(body), fileName: body.fileName, target: body.target,
                                            options: body.options ?? UploadOptions())
            let id = try await upload.start(service: service, stagingFolder: folder.upload, origin: request.origin)
            guard let status = await service.uploader.status(id) else { throw HTTPError(.internalServerError, message: "Upload \(id) vanished") }
            return try .json(status, status: .accepted)
        }

        router.get("/api/uploads") { _ in try .json(await service.uploader.list()) }

        router.get("/api/uploads/{id}") { request in
            try .json(try await Self.status(request, service))
        }

        router.delete("/api/uploads/{id}") { request in
            let current = try await Self.status(request, service)
            return try .json(try await service.uploader.remove(current.id))
        }

        router.get("/api/uploads/{id}/events") { request in
            let id = try await Self.status(request, service).id
            guard let events = await service.uploader.events(id) else { throw Self.unknown(request) }
            return .eventStream { stream in
                for await event in events {
                    let data = try JSONEncoder().encode(event)
                    try await stream.send(ServerSentEvent(event: event.eventName, data: String(decoding: data, as: UTF8.self)))
                }
            }
        }
    }

    static func documentRequest(_ body: StartRequest) throws(ScanBridgeError) -> DocumentRequest {
        try DocumentRequest(format: DocumentRequest.format(body.format), pages: DocumentRequest.pages(body.pages),
                            quality: body.quality.map(DocumentRequest.quality) ?? 80)
    }

    /// The document-scoped form sends PDF (default) or TIFF.
    static func documentRequest(_ body: DocumentUploadRequest) throws(ScanBridgeError) -> DocumentRequest {
        let type = (body.type ?? "application/pdf").lowercased()
        guard type == "application/pdf" || type == "image/tiff" else {
            throw DWTErrors.invalidParameter("type must be application/pdf or image/tiff")
        }
        return DocumentRequest(format: try DocumentRequest.format(type))
    }

    static func target(_ body: DocumentUploadRequest) throws(ScanBridgeError) -> UploadTarget {
        let headers = (body.headers ?? [:]).sorted { $0.key < $1.key }.map { HeaderField($0.key, $0.value) }
        switch (body.method ?? "POST").uppercased() {
        case "POST":
            let fields = (body.formFields ?? [:]).sorted { $0.key < $1.key }.map { NameValue($0.key, $0.value) }
            // The part's file name is the document's (`fileName` or its default).
            return .httpPost(HTTPPostTarget(url: body.url, fieldName: body.fieldName ?? "RemoteFile", fileName: nil,
                                            formFields: fields, headers: headers))
        case "PUT":
            return .httpPut(HTTPPutTarget(url: body.url, headers: headers))
        case let other:
            throw DWTErrors.invalidParameter("method must be POST or PUT, not \(other)")
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
