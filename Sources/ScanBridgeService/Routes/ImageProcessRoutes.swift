import ScanBridgeCore
import HTTPTypes
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// `/api/process/rotate` and `/api/process/calculate-skew-angle` (DWT), `/api/process/deskew`
/// (ScanBridge). Like the other processing operations they read one page URL (`source`) and
/// answer with a result; the source page itself is never changed.
extension ProcessRoutes {
    /// `settings` of rotate: `rotation` in degrees clockwise; `keepSize` keeps the page's size
    /// (corners cut off) instead of growing it to hold the whole rotated page.
    struct RotateOptions: Decodable, Sendable {
        struct Settings: Decodable, Sendable {
            var rotation: Double
            var keepSize: Bool?
        }
        var source: String
        var settings: Settings
    }

    struct SourceOnly: Decodable, Sendable { var source: String }

    /// The skew of a page in degrees, clockwise positive (rotating by `-result` straightens it).
    struct SkewAngle: Encodable, Sendable { var result: Double }

    /// Skew is searched within this many degrees either way: beyond it a page was fed sideways,
    /// a job for rotate.
    static let maxSkewAngle = 10.0

    func registerImageOperations(on router: inout Router) {
        router.post("/api/process/rotate") { request in
            let format = try PageRendering.requestedImageType(request.query["type"])
            let body = try await request.decodeJSON(RotateOptions.self, allowEmpty: false)
            guard body.settings.rotation.isFinite, abs(body.settings.rotation) <= 360 else {
                throw DWTErrors.invalidParameter("settings.rotation must be a number of degrees within ±360")
            }
            let image = try await sourceImage(body.source, request: request)
            let keepSize = body.settings.keepSize ?? false
            let rotated = try await PageRendering.pool.run { image.rotated(degrees: body.settings.rotation, expand: !keepSize) }
            return .binary(try await PageRendering.encode(Page(image: rotated), as: format), contentType: format.mimeType)
        }

        router.post("/api/process/calculate-skew-angle") { request in
            let body = try await request.decodeJSON(SourceOnly.self, allowEmpty: false)
            let image = try await sourceImage(body.source, request: request)
            let angle = try await PageRendering.pool.run { image.estimatedSkewAngle(maxAngle: Self.maxSkewAngle) }
            return try .json(SkewAngle(result: angle))
        }

        // The page straightened: rotated by the opposite of its skew at its own size; the angle
        // found is in `X-Skew-Angle`.
        router.post("/api/process/deskew") { request in
            let format = try PageRendering.requestedImageType(request.query["type"])
            let body = try await request.decodeJSON(SourceOnly.self, allowEmpty: false)
            let image = try await sourceImage(body.source, request: request)
            let (angle, straightened) = try await PageRendering.pool.run { image.deskewed(maxAngle: Self.maxSkewAngle) }
            var response = Response.binary(try await PageRendering.encode(Page(image: straightened), as: format), contentType: format.mimeType)
            response.headerFields[Self.skewAngleField] = String(angle)
            return response
        }
    }

    static let skewAngleField = HTTPField.Name("X-Skew-Angle")!

    private func sourceImage(_ source: String, request: Request) async throws -> Image {
        let page = try await PageSources.page(source, service: service, origin: request.origin, password: request.documentPassword)
        return try await PageRendering.image(of: page)
    }
}
