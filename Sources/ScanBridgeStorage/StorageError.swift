import ScanBridgeCore

/// The DWT error codes storage answers with (see docs/API.md and the DWT error list), and the
/// HTTP status the API layer should map each to.
public enum StorageErrorCode {
    /// -1040, 404: the document uid is malformed or names no document.
    public static let documentNotFound = -1040
    /// -1043, 403: the document's password is missing or wrong.
    public static let wrongPassword = -1043
    /// -2849, 400: a document password longer than 32 characters.
    public static let passwordTooLong = -2849
    /// -2113, 400: a new document password that an HTTP header cannot carry back.
    public static let passwordNotSendable = -2113
    /// -1044, 429: too many wrong passwords for the document in a row; try again later.
    public static let tooManyPasswordAttempts = -1044
    /// -2847, 404: a page uid is malformed or names no page of the document.
    public static let pageNotFound = -2847
    /// -2399, 404: no buffer page has this image id or uid.
    public static let imageNotFound = -2399
    /// -2352, 400: an index or position outside the buffer or document.
    public static let indexOutOfRange = -2352
    /// -1002, 507: the buffer's page-count limit is reached.
    public static let bufferFull = -1002
    /// -1022, 507 when the disk is full or the file too large (cause ENOSPC/EFBIG/EDQUOT), 500
    /// otherwise: a file could not be written. Nothing already stored is lost.
    public static let writeFailed = -1022
    /// -1016, 500: the folder is not writable (cause EACCES/EPERM/EROFS).
    public static let accessDenied = -1016
    /// -1036, 500: a stored file could not be read or is damaged.
    public static let readFailed = -1036
    /// -1011, 409: the buffer or store was closed.
    public static let closed = -1011
}

extension ScanBridgeError {
    static func storage(_ code: Int, _ message: String, cause: Cause? = nil) -> ScanBridgeError {
        ScanBridgeError(code: code, message: message, cause: cause)
    }

    /// A failed file operation: `accessDenied` for permission problems, `writeFailed` for
    /// everything else while writing (disk full, file too large, I/O error), `readFailed` when reading.
    static func file(_ error: SystemCallError, writing: Bool, what: String) -> ScanBridgeError {
        let cause = Cause(code: Int(error.errno), message: "\(error.call) \(error.path): \(Posix.errorText(error.errno))")
        switch error.errno {
        case EACCES, EPERM, EROFS:
            return .storage(StorageErrorCode.accessDenied, "Cannot \(writing ? "write" : "read") \(what): the folder is not writable by the service.", cause: cause)
        case ENOSPC, EDQUOT, EFBIG:
            return .storage(StorageErrorCode.writeFailed, "Cannot write \(what): no space left (disk full or file size limit reached); nothing stored before was lost.", cause: cause)
        default:
            return writing
                ? .storage(StorageErrorCode.writeFailed, "Cannot write \(what).", cause: cause)
                : .storage(StorageErrorCode.readFailed, "Cannot read \(what).", cause: cause)
        }
    }

    static func container(_ failure: Container.Failure, writing: Bool, what: String) -> ScanBridgeError {
        switch failure {
        case .system(let error): return .file(error, writing: writing, what: what)
        case .crypto(let error):
            return .storage(writing ? StorageErrorCode.writeFailed : StorageErrorCode.readFailed,
                            "Encryption failed for \(what).", cause: Cause(code: 0, message: error.operation))
        case .container(let error):
            return .storage(StorageErrorCode.readFailed,
                            error.kind == .authenticationFailed ? "\(what) does not authenticate: it is damaged or was written with another key."
                                                                 : "\(what) is damaged (truncated or not a ScanBridge page file).",
                            cause: Cause(code: 0, message: error.path))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
