import Foundation
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// The Dynamsoft Service's own endpoints that DWT pages call, answering with the envelope
/// `{"id": "...", "method": "...", "result": [...], "cmdId": ""}`.
struct SeedRoutes: Sendable {
    let service: ScanningService

    struct Envelope<Result: Encodable>: Encodable {
        var id: String
        var method: String
        var result: Result
        var cmdId: String
    }

    static func envelope<R: Encodable>(_ method: String, _ result: R, request: Request) throws -> Response {
        let id = request.query["id"] ?? String(UInt64.random(in: 1...UInt64(1e12)))
        return try .json(Envelope(id: id, method: method, result: result, cmdId: request.query["cmdId"] ?? ""))
    }

    func register(on router: inout Router) {
        router.get("/fa/VersionInfo") { request in
            try Self.envelope("VersionInfo", [ProductVersion.dwtVersionInfo, "", "64"], request: request)
        }

        router.get("/f/RemoveAllImages") { request in
            await service.buffer.removeAll()
            return try Self.envelope("RemoveAllImages", [true], request: request)
        }

        // /dwt/dwt_<version>/img?id=…&index=…&width=…&height=…&ticks=…: the buffer image at
        // `index` fitted into width × height (never enlarged), JPEG for gray and colour, PNG for BW.
        router.get("/dwt/{version}/img") { request in
            guard try request.parameters.require("version").hasPrefix("dwt_") else {
                throw HTTPError.notFound(request.path)
            }
            func number(_ name: String) throws(ScanBridgeError) -> Int {
                guard let text = request.query[name], let value = Int(text), value >= 0 else {
                    throw DWTErrors.invalidParameter("\(name) must be a non-negative number")
                }
                return value
            }
            let index = try number("index")
            let width = try number("width"), height = try number("height")
            guard width > 0, height > 0 else { throw DWTErrors.invalidParameter("width and height must be positive") }
            let page = try await service.buffer.page(at: index)
            let thumbnail = try await PageRendering.thumbnail(bufferPage: page.id, in: service.buffer, maxWidth: width, maxHeight: height)
            let format: ImageFileFormat = page.info.format == .bw1 ? .png : .jpeg
            let bytes = try await PageRendering.pool.run { try PageRendering.encode(thumbnail, as: format, quality: 80) }
            return .binary(bytes, contentType: format.mimeType)
        }
    }
}
