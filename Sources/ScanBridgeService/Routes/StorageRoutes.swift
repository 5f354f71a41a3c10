import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// `/api/storage/documents…`: persistent documents, their pages and content; ScanBridge
/// extensions: one page as an image, importing image files, reordering, rotating a page, and
/// uploading the document (`DocumentUpload`).
struct StorageRoutes: Sendable {
    let service: ScanningService
    let folder: ServiceFolder

    static let maxPasswordLength = 32
    /// Metadata is PDF Info text, not storage: each field is kept to this many characters.
    static let maxMetadataLength = 1024

    struct ReorderDocument: Decodable { var pages: [String] }

    func register(on router: inout Router) {
        router.post("/api/storage/documents") { request in
            let options = try await request.decodeJSON(CreateDocumentOptions.self)
            if let password = options.password, password.count > Self.maxPasswordLength {
                throw DWTErrors.invalidParameter("password is longer than \(Self.maxPasswordLength) characters")
            }
            let password = options.password?.isEmpty == true ? nil : options.password
            let language = try options.ocr.flatMap { text throws(ScanBridgeError) in text.isEmpty ? nil : try DocumentRequest.ocrLanguage(text) }
            if options.pdfa == true, password != nil {
                throw DWTErrors.invalidParameter("PDF/A forbids encryption: a document with pdfa cannot have a password")
            }
            let info = try await service.documents.create(password: password,
                                                          options: DocumentOptions(ocrLanguage: language, pdfA: options.pdfa ?? false))
            return .json(raw: DocumentInfoResponse(info).json, status: .created)
        }

        router.get("/api/storage/documents/{uid}") { request in
            let info = try await service.documents.info(uid: try request.parameters.require("uid"), password: request.documentPassword)
            return .json(raw: DocumentInfoResponse(info).json)
        }

        // The document's metadata (the PDF Info fields of content requests), kept as the
        // defaults of every PDF made from it; answers the document info with it.
        router.patch("/api/storage/documents/{uid}") { request in
            let uid = try request.parameters.require("uid")
            let change = try await request.decodeJSON(DocumentMetadata.self, allowEmpty: false)
            if let long = DocumentMetadata.fields.first(where: { (change[keyPath: $0.path]?.count ?? 0) > Self.maxMetadataLength }) {
                throw DWTErrors.invalidParameter("\(long.name) is longer than \(Self.maxMetadataLength) characters")
            }
            if let code = change.compression, !code.isEmpty {
                guard let value = Int(code) else { throw DWTErrors.invalidParameter("compression must be a number, got \(code)") }
                _ = try DocumentRenderer.pdfChoice(code: value, quality: DocumentRequest().quality)
            }
            let info = try await service.documents.updateMetadata(uid, with: change, password: request.documentPassword)
            return .json(raw: DocumentInfoResponse(info).json)
        }

        router.delete("/api/storage/documents/{uid}") { request in
            try await service.documents.delete(uid: try request.parameters.require("uid"), password: request.documentPassword)
            return .noContent
        }

        router.get("/api/storage/documents/{uid}/content") { request in
            let wanted = try DocumentRequest(query: request.query)
            return try await DocumentRenderer(documents: service.documents, uid: try request.parameters.require("uid"),
                                              password: request.documentPassword, request: wanted,
                                              events: (service.jobs.events, request.origin)).response()
        }

        router.post("/api/storage/documents/{uid}/pages") { request in
            let uid = try request.parameters.require("uid")
            let options = try await request.decodeJSON(InsertPageOptions.self, allowEmpty: false)
            let password = request.documentPassword ?? options.password
            let page = try await PageSources.page(options.source, service: service, origin: request.origin, password: password,
                                                  preferStoredForm: true)
            let stored = [try await PageRendering.storedForm(page)]
            let position = try Self.position(options.insertPos)
            let info = try await service.documents.insertPages(stored, into: uid, at: position, password: password)
            InsertedPageRecognition.start(info, inserted: stored.count, at: position, documents: service.documents, password: password,
                                          events: service.jobs.events, origin: request.origin)
            return .json(raw: DocumentInfoResponse(info).json)
        }

        router.delete("/api/storage/documents/{uid}/pages/{page}") { request in
            _ = try await service.documents.deletePage(PageReference(pathSegment: try request.parameters.require("page")),
                                                       from: try request.parameters.require("uid"), password: request.documentPassword)
            return .noContent
        }

        // ScanBridge extension: one stored page as an image (`type` image/png default, image/jpeg).
        router.get("/api/storage/documents/{uid}/pages/{page}") { request in
            let format = try PageRendering.requestedImageType(request.query["type"])
            let page = try await service.documents.readPage(PageReference(pathSegment: try request.parameters.require("page")),
                                                            of: try request.parameters.require("uid"), password: request.documentPassword)
            return .binary(try await PageRendering.encode(page, as: format), contentType: format.mimeType)
        }

        // ScanBridge extension, like DWT's LoadImage: the body is an image file or a PDF
        // (`ImportedFile`); pages are inserted at `insertPos` (default: end), all of them or none.
        router.post("/api/storage/documents/{uid}/import") { request in
            let uid = try request.parameters.require("uid")
            let pages = try await ImportedFile.pages(of: request, limits: service.imports)
            let position = try ImportedFile.insertPosition(request.query)
            let info = try await service.documents.insertPages(pages, into: uid, at: position, password: request.documentPassword)
            InsertedPageRecognition.start(info, inserted: pages.count, at: position, documents: service.documents,
                                          password: request.documentPassword, events: service.jobs.events, origin: request.origin)
            return .json(raw: DocumentInfoResponse(info).json)
        }

        router.post("/api/storage/documents/{uid}/order") { request in
            let uid = try request.parameters.require("uid")
            let pages = try await request.decodeJSON(ReorderDocument.self, allowEmpty: false).pages
            let info = try await service.documents.reorder(uid, pageUIDs: pages, password: request.documentPassword)
            return .json(raw: DocumentInfoResponse(info).json)
        }

        router.post("/api/storage/documents/{uid}/pages/{page}/rotate") { request in
            let uid = try request.parameters.require("uid")
            let reference = PageReference(pathSegment: try request.parameters.require("page"))
            let turns = try quarterTurns(try await request.decodeJSON(RotateRequest.self, allowEmpty: false).degrees)
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

        router.post("/api/storage/documents/{uid}/upload") { request in
            let uid = try request.parameters.require("uid")
            let body = try await request.decodeJSON(UploadRoutes.DocumentUploadRequest.self, allowEmpty: false)
            let upload = try DocumentUpload(document: uid, password: request.documentPassword,
                                            request: UploadRoutes.documentRequest(body), fileName: body.fileName,
                                            target: UploadRoutes.target(body))
            let id = try await upload.start(service: service, stagingFolder: folder.upload, origin: request.origin)
            return try .json(["upload": id.description], status: .accepted)
        }
    }

    /// `insertPos`: absent or -1 appends; otherwise a 0-based position.
    static func position(_ value: Int?) throws(ScanBridgeError) -> Int? {
        guard let value, value != -1 else { return nil }
        guard value >= 0 else { throw DWTErrors.invalidParameter("insertPos must be -1 (end) or a 0-based position, got \(value)") }
        return value
    }
}
