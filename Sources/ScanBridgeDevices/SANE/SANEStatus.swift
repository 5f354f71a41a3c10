import CLibSANE
import ScanBridgeCore

/// A SANE status as a Swift value, and its mapping to ScanBridge's DWT-style error codes.
struct SANEStatus: Equatable, Sendable, CustomStringConvertible {
    var rawValue: UInt32

    init(_ status: SANE_Status) { rawValue = status.rawValue }

    static let good = SANEStatus(SANE_STATUS_GOOD)
    static let unsupported = SANEStatus(SANE_STATUS_UNSUPPORTED)
    static let cancelled = SANEStatus(SANE_STATUS_CANCELLED)
    static let deviceBusy = SANEStatus(SANE_STATUS_DEVICE_BUSY)
    static let invalid = SANEStatus(SANE_STATUS_INVAL)
    static let eof = SANEStatus(SANE_STATUS_EOF)
    static let jammed = SANEStatus(SANE_STATUS_JAMMED)
    static let noDocuments = SANEStatus(SANE_STATUS_NO_DOCS)
    static let coverOpen = SANEStatus(SANE_STATUS_COVER_OPEN)
    static let ioError = SANEStatus(SANE_STATUS_IO_ERROR)
    static let noMemory = SANEStatus(SANE_STATUS_NO_MEM)
    static let accessDenied = SANEStatus(SANE_STATUS_ACCESS_DENIED)

    /// SANE's own text for the status ("Document feeder jammed", …).
    var description: String { String(cString: sane_strstatus(SANE_Status(rawValue: rawValue))) }

    var cause: ScanBridgeError.Cause { .init(code: Int(rawValue), message: "SANE: \(description)") }

    /// The error for a failed SANE call. `during` names what was being done, for the message.
    func error(device: String, during action: String) -> ScanBridgeError {
        let code: Int
        let message: String
        switch self {
        case .deviceBusy:
            return .busy(device, cause: cause)
        case .jammed:
            code = DeviceErrorCode.paperJam
            message = "The document feeder of \(device) is jammed"
        case .coverOpen:
            code = DeviceErrorCode.coverOpen
            message = "The cover of \(device) is open"
        case .noDocuments:
            code = DeviceErrorCode.noMedia
            message = "There are no documents in the feeder of \(device)"
        case .ioError:
            code = DeviceErrorCode.deviceOffline
            message = "Communication with \(device) failed while \(action)"
        case .noMemory:
            code = DeviceErrorCode.outOfMemory
            message = "Not enough memory while \(action) on \(device)"
        default:
            code = DeviceErrorCode.generalFailure
            message = "The scanner \(device) failed while \(action)"
        }
        return ScanBridgeError(code: code, message: message, cause: cause)
    }
}
