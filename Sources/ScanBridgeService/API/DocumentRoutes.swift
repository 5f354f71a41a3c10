import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// `/api/storage/documents…`: persistent documents, their pages and content.
enum DocumentRoutes {
    static let maxPasswordLength = 32

    static func register(on router: inout Router, service: ScanningService, folder: ServiceFolder) {
        router.post("/api/storage/documents") { request in
            let options = try await request.decodeJSON(CreateDocumentOptions.self)
            if let password = options.password, password.count > maxPasswordLength {
                throw DWTErrors.invalidParameter("password is longer than \(maxPasswordLength) characters")
            }
            let info = try await service.documents.create(password: options.password?.isEmpty == true ? nil : options.password)
            return .json(raw: DocumentInfoResponse(info).json, status: .created)
        }

        router.get("/api/storage/documents/{uid}") { request in
            let info = try await service.documents.info(uid: try request.parameters.require("uid"), password: request.documentPassword)
            return .json(raw: DocumentInfoResponse(info).json)
        }

        router.delete("/api/storage/documents/{uid}") { request in
            try await service.documents.delete(uid: try request.parameters.require("uid"), password: request.documentPassword)
            return .noContent
        }

        router.get("/api/storage/documents/{uid}/content") { request in
            let wanted = try DocumentRequest(query: request.query)
            return try await DocumentRenderer(documents: service.documents, uid: try request.parameters.require("uid"),
                                              password: request.documentPassword, request: wanted).response()
        }

        router.post("/api/storage/documents/{uid}/pages") { request in
            let uid = try request.parameters.require("uid")
            let options = try await request.decodeJSON(InsertPageOptions.self, allowEmpty: false)
            let password = request.documentPassword ?? options.password
            let page = try await PageSources.page(options.source, service: service, origin: request.origin, password: password,
                                                  preferStoredForm: true)
            let stored = [try await PageRendering.storedForm(page)]
            let info = try await service.documents.insertPages(stored, into: uid, at: try position(options.insertPos), password: password)
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

        // ScanBridge extension, like DWT's LoadImage: the body is an image file (JPEG, PNG, BMP,
        // or TIFF, every page of a multi-page TIFF); pages are inserted at `insertPos` (default: end).
        router.post("/api/storage/documents/{uid}/import") { request in
            let uid = try request.parameters.require("uid")
            let bytes = try await request.body.collect(upTo: 512 << 20)
            guard !bytes.isEmpty else { throw DWTErrors.invalidParameter("The body must be an image file (JPEG, PNG, TIFF or BMP)") }
            let images: [Image]
            do {
                images = try await PageRendering.pool.run { try ImageDecoder.decodePages(bytes) }
            } catch {
                throw DWTErrors.invalidParameter("The body is not a JPEG, PNG, TIFF or BMP file this service can read: \(error)")
            }
            var pages: [Page] = []
            for image in images { pages.append(try await PageRendering.storedForm(Page(image: image))) }
            let insertPos = try request.query["insertPos"].map { text throws(ScanBridgeError) -> Int in
                guard let value = Int(text) else { throw DWTErrors.invalidParameter("insertPos must be a number") }
                return value
            }
            let info = try await service.documents.insertPages(pages, into: uid, at: try position(insertPos), password: request.documentPassword)
            return .json(raw: DocumentInfoResponse(info).json)
        }
    }

    /// `insertPos`: absent or -1 appends; otherwise a 0-based position.
    static func position(_ value: Int?) throws(ScanBridgeError) -> Int? {
        guard let value, value != -1 else { return nil }
        guard value >= 0 else { throw DWTErrors.invalidParameter("insertPos must be -1 (end) or a 0-based position, got \(value)") }
        return value
    }
}

/// `/api/process/…`: blank-page detection and barcode reading on a page URL.
enum ProcessRoutes {
    static func register(on router: inout Router, service: ScanningService) {
        router.post("/api/process/check-blank") { request in
            let body = try await request.decodeJSON(CheckBlankRequest.self, allowEmpty: false)
            let page = try await PageSources.page(body.source, service: service, origin: request.origin, password: request.documentPassword)
            let image = try await PageRendering.image(of: page)
            // minBlockHeight: the smallest mark (in pixels) that makes a page not blank.
            let analysis = try await PageRendering.pool.run { image.blankPageAnalysis() }
            return try .json(OperationResult(result: analysis.isBlank))
        }

        router.post("/api/process/read-barcode") { request in
            if !service.productKeys.isEmpty {
                guard let key = request.productKey, service.productKeys.contains(key) else { throw DWTErrors.invalidProductKey }
            }
            let body = try await request.decodeJSON(ReadBarcodeRequest.self, allowEmpty: false)
            let page = try await PageSources.page(body.source, service: service, origin: request.origin, password: request.documentPassword)
            let image = try await PageRendering.image(of: page)
            let barcodes = try await PageRendering.pool.run { try BarcodeReader.read(image) }
            return try .json(barcodes.map(BarcodeResult.init))
        }
    }

    /// A barcode in the shape of DWT's BarcodeResult (the fields clients read).
    struct BarcodeResult: Encodable {
        var barcodeFormatString: String
        var barcodeText: String
        var barcodeBytes: [UInt8]
        var localizationResult: Localization

        struct Localization: Encodable {
            var ResultPoints: [String]
            var x1: Int, y1: Int, x2: Int, y2: Int, x3: Int, y3: Int, x4: Int, y4: Int
        }

        init(_ barcode: Barcode) {
            barcodeFormatString = barcode.format
            barcodeText = barcode.text
            barcodeBytes = barcode.bytes
            let xs = barcode.points.map(\.x), ys = barcode.points.map(\.y)
            let left = xs.min() ?? 0, right = xs.max() ?? 0, top = ys.min() ?? 0, bottom = ys.max() ?? 0
            localizationResult = Localization(ResultPoints: ["\(left), \(top)", "\(right), \(top)", "\(right), \(bottom)", "\(left), \(bottom)"],
                                              x1: left, y1: top, x2: right, y2: top, x3: right, y3: bottom, x4: left, y4: bottom)
        }
    }
}
