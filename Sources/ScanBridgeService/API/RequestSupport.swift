import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP

extension HTTPField.Name {
    static let origin = HTTPField.Name("Origin")!
    static let productKey = HTTPField.Name("DWT-PRODUCT-KEY")!
    static let legacyProductKey = HTTPField.Name("X-DICS-LICENSE-KEY")!
    static let documentPassword = HTTPField.Name("DWT-DOC-PASSWORD")!
    static let legacyDocumentPassword = HTTPField.Name("X-DICS-DOC-PASSWORD")!
}

extension Request {
    /// The origin of the page that made the request; nil for local programs.
    ///
    /// Browsers leave `Origin` out of same-origin GET and HEAD requests (the service's own
    /// demo on the core port), but say `Sec-Fetch-Site: same-origin`, which no page can forge:
    /// such a request comes from this listener's own origin, the one its POSTs carry.
    var origin: String? {
        if let origin = headerFields[.origin] { return origin }
        if headerFields[.secFetchSite] == "same-origin" { return baseURL }
        return nil
    }

    /// The product key from either header DWT clients send.
    var productKey: String? { headerFields[.productKey] ?? headerFields[.legacyProductKey] }

    /// The document password from either header.
    var documentPassword: String? {
        let value = headerFields[.documentPassword] ?? headerFields[.legacyDocumentPassword]
        return value?.isEmpty == false ? value : nil
    }

    /// The JSON body decoded as `T`; an absent body decodes as `{}` when `T` allows it.
    /// Bad JSON is a 400 (-2113) that says what was wrong.
    func decodeJSON<T: Decodable>(_ type: T.Type, maxBytes: Int = 1 << 20, allowEmpty: Bool = true) async throws -> T {
        var bytes = try await body.collect(upTo: maxBytes)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard allowEmpty else { throw DWTErrors.invalidParameter("A JSON body is required") }
            bytes = Array("{}".utf8)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw DWTErrors.invalidParameter("The body lacks the field \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw DWTErrors.invalidParameter("The field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw DWTErrors.invalidParameter("The body is not valid JSON for this request")
        }
    }

    /// `scheme://host:port` of this request as the client addressed it (for absolute page URLs).
    var baseURL: String {
        let scheme = connection.isSecure ? "https" : "http"
        let host = headerFields[.hostField] ?? "127.0.0.1:\(connection.localPort)"
        return "\(scheme)://\(host)"
    }
}

/// The body of rotate requests.
struct RotateRequest: Decodable { var degrees: Int }

/// `degrees` of a rotate request as clockwise quarter turns (0…3).
func quarterTurns(_ degrees: Int) throws(ScanBridgeError) -> Int {
    guard degrees % 90 == 0 else { throw DWTErrors.invalidParameter("degrees must be a multiple of 90, got \(degrees)") }
    return ((degrees / 90) % 4 + 4) % 4
}
