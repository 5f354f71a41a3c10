import HTTPTypes
import Logging
import ScanBridgeCore
import ScanBridgeHTTP

/// Every error answer of the service in the DWT shape
/// `{"code", "message", "statusCode"[, "cause": {"code", "message"}]}`: domain errors
/// (`ScanBridgeError`) with the status of their code (`DWTStatus`), deleted resources 410, the
/// HTTP layer's own answers (400, 404, 405, 408, 413, 431, 503) with their status, anything else 500.
/// Domain errors answered with a server-side status (500 and above: a disk full, a damaged
/// file, a scanner that stopped) are logged too, so that the administrator sees what the client saw.
public struct DWTErrorRenderer: HTTPErrorRenderer {
    private let logger: Logger

    public init(logger: Logger = Logger(label: "scanbridge.errors")) {
        self.logger = logger
    }

    public func response(for error: any Error) -> Response {
        switch error {
        case let error as ScanBridgeError:
            let status = DWTStatus.status(for: error)
            if status.code >= 500 {
                logger.error("Answered \(status.code) \(error.code): \(error)")
            }
            return HTTPError(status, code: error.code, message: error.message, cause: error.cause).response
        case let deleted as DeletedResourceError:
            return HTTPError(.gone, code: deleted.error.code, message: deleted.error.message, cause: deleted.error.cause).response
        case var error as HTTPError:
            if error.code == HTTPError.genericCode, let code = DWTStatus.code(forHTTPStatus: error.status) { error.code = code }
            return error.response
        case let error as any HTTPResponseError:
            return error.response
        default:
            logger.error("Answered 500: internal error \(error)")
            return HTTPError(.internalServerError, message: "Internal error: \(error)").response
        }
    }
}
