import ScanBridgeCore

/// The DWT REST errors the service raises, with the codes of the public reference
/// (docs/API.md, "Errors"). They are domain errors: `DWTStatus` says which HTTP status
/// answers each code, `DWTErrorRenderer` writes the response.
enum DWTErrors {
    static func invalidParameter(_ message: String) -> ScanBridgeError { ScanBridgeError(code: -2113, message: message) }

    static func jobNotFound(_ uid: String) -> ScanBridgeError {
        ScanBridgeError(code: -1034, message: "The provided job UID is invalid: \(uid)")
    }

    /// A job that existed and was deleted: the same code as an unknown one, answered 410.
    static func jobDeleted(_ uid: String) -> DeletedResourceError {
        DeletedResourceError(error: ScanBridgeError(code: -1034, message: "Job \(uid) was deleted."))
    }

    static var invalidProductKey: ScanBridgeError {
        ScanBridgeError(code: -2800, message: "The current product key is empty or invalid. Please contact the site administrator.")
    }

    static func foreignOrigin(_ what: String) -> ScanBridgeError {
        ScanBridgeError(code: -2801, message: "\(what) belongs to another origin; only the page that created it may use it")
    }

    static func sourceNotFound(_ source: String) -> ScanBridgeError {
        ScanBridgeError(code: -2847, message: "The source \(source) does not name a page this service holds")
    }

    static func pageNotFound(_ message: String) -> ScanBridgeError { ScanBridgeError(code: -2847, message: message) }

    static func indexOutOfRange(_ message: String) -> ScanBridgeError { ScanBridgeError(code: -2352, message: message) }

    static func noScanner(_ message: String) -> ScanBridgeError { ScanBridgeError(code: -1003, message: message) }

    static func unknownUpload(_ id: String) -> ScanBridgeError { ScanBridgeError(code: -2400, message: "No upload \(id) exists") }

    /// ScanBridge's own: request bodies held at once reached `MaxBodyBytesInFlightMB` (503).
    static let bodiesInFlightCode = -2116
}

/// A resource that existed and was deleted: its error, answered 410 (Gone) rather than the
/// status of its code.
struct DeletedResourceError: Error, Sendable, Equatable {
    var error: ScanBridgeError
}
