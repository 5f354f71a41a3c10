import HTTPTypes
import ScanBridgeCore
import ScanBridgeUpload

/// The one table from DWT error codes to the HTTP statuses that answer them
/// (docs/API.md, "Errors"), and back for the answers the HTTP layer makes itself.
enum DWTStatus {
    /// The HTTP status each DWT error code of the public reference is answered with.
    static func status(forCode code: Int) -> HTTPResponse.Status {
        switch code {
        case -2112: .methodNotAllowed
        // Parameter not valid; capability or value the device cannot take; index out of
        // range; password too long.
        case -2113, -1006, -1010, -2352, -2849: .badRequest
        // Product key; document password; another origin's job.
        case -2800, -1043, -2801: .forbidden
        case -1004: HTTPResponse.Status(code: 423, reasonPhrase: "Locked")
        // Too many wrong passwords for a document in a row (the back-off).
        case -1044: .tooManyRequests
        // Job, document, device, page or image unknown.
        case -1034, -1040, -1003, -2847, -2399: .notFound
        case -1011: .conflict
        // The buffer is full (page-count limit).
        case -1002: insufficientStorage
        // The scanner stopped answering; request bodies in memory at their limit.
        case -1023, DWTErrors.bodiesInFlightCode: .serviceUnavailable
        // Uploads: unknown upload; the target refused or failed; the target timed out.
        case UploadErrorCode.unknownUpload: .notFound
        case UploadErrorCode.transferFailed, UploadErrorCode.rejected: .badGateway
        case UploadErrorCode.timedOut: .gatewayTimeout
        default: .internalServerError
        }
    }

    /// The status of `error`: its code's, except that a write that failed for want of space
    /// (-1022 caused by ENOSPC, EDQUOT or EFBIG: disk full, quota, file size limit) is 507.
    static func status(for error: ScanBridgeError) -> HTTPResponse.Status {
        if error.code == -1022, let cause = error.cause, noSpaceErrnos.contains(cause.code) { return insufficientStorage }
        return status(forCode: error.code)
    }

    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
    /// ENOSPC, EFBIG and EDQUOT on Linux.
    private static let noSpaceErrnos: Set<Int> = [28, 27, 122]

    /// The DWT code of an answer the HTTP layer made without one: a wrong method is DWT's
    /// -2112; everything else keeps the generic code.
    static func code(forHTTPStatus status: HTTPResponse.Status) -> Int? {
        status == .methodNotAllowed ? -2112 : nil
    }
}
