import HTTPTypes
import ScanBridgeHTTP

/// The DWT REST errors the routes answer with, with the codes and statuses of the public
/// reference (../shared/API.md, "Errors").
enum DWTErrors {
    static func invalidParameter(_ message: String) -> HTTPError { .invalidParameter(message) }

    static func jobNotFound(_ uid: String) -> HTTPError {
        HTTPError(.notFound, code: -1034, message: "The provided job UID is invalid: \(uid)")
    }

    static func jobDeleted(_ uid: String) -> HTTPError {
        HTTPError(.gone, code: -1034, message: "Job \(uid) was deleted.")
    }

    static func outOfSequence(_ message: String) -> HTTPError {
        HTTPError(.conflict, code: -1011, message: message)
    }

    static var invalidProductKey: HTTPError {
        HTTPError(.forbidden, code: -2800,
                  message: "The current product key is empty or invalid. Please contact the site administrator.")
    }

    static func foreignOrigin(_ what: String) -> HTTPError {
        HTTPError(.forbidden, code: -2801, message: "\(what) belongs to another origin; only the page that created it may use it")
    }

    static func sourceNotFound(_ source: String) -> HTTPError {
        HTTPError(.notFound, code: -2847, message: "The source \(source) does not name a page this service holds")
    }
}
