import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeOCR

/// `/api/server…`: the service's settings (`GET`, `PATCH` of the log level) and version; and
/// `GET /api/openapi.json`, the API's description.
struct ServerRoutes: Sendable {
    let status: ServiceStatus

    struct ServerSettings: Codable {
        var logLevel: Int
        var ioEngine: String
        var version: String
        var uptime: Int
        /// The Tesseract languages installed: the values `ocr=` takes.
        var ocrLanguages: [String]
    }

    struct ServerSettingsPatch: Decodable {
        var logLevel: Int?
    }

    func register(on router: inout Router) {
        let status = self.status
        @Sendable func current() -> ServerSettings {
            ServerSettings(logLevel: status.logLevel.dwt, ioEngine: status.ioEngine, version: ProductVersion.semantic, uptime: status.uptime,
                           ocrLanguages: OCRLanguages.installed)
        }
        router.get("/api/server") { _ in try .json(current()) }
        router.patch("/api/server") { request in
            let body = try await request.body.collect(upTo: 64 * 1024)
            let patch: ServerSettingsPatch
            do {
                patch = try JSONDecoder().decode(ServerSettingsPatch.self, from: Data(body))
            } catch {
                throw DWTErrors.invalidParameter("The body must be a JSON object such as {\"logLevel\": 1}")
            }
            if let level = patch.logLevel {
                guard (0...100).contains(level) else {
                    throw DWTErrors.invalidParameter("logLevel must be 0 (off), 1 (normal) … 30 (verbose); got \(level)")
                }
                status.logLevel.dwt = level
            }
            return try .json(current())
        }
        router.get("/api/server/version") { _ in
            .json(raw: Array(#"{"version":"\#(ProductVersion.apiVersion)","compatible":true}"#.utf8))
        }
        OpenAPIDocument.register(on: &router)
    }
}
