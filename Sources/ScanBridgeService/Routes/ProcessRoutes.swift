import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging

/// `/api/process/…`: blank-page detection and barcode reading on a page URL.
struct ProcessRoutes: Sendable {
    let service: ScanningService

    func register(on router: inout Router) {
        registerImageOperations(on: &router)
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

        // Last, and matched only when no literal operation above is: Dynamsoft's document
        // declares `operation` as an enumerated parameter of this one path, so a name outside
        // it is an invalid parameter (400, -2113), not a missing resource.
        router.post("/api/process/{operation}") { request in
            let operation = try request.parameters.require("operation")
            throw DWTErrors.invalidParameter("\(operation) is not a processing operation of this service")
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
