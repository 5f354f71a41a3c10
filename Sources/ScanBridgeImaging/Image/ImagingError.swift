import ScanBridgeCore

/// Errors of the imaging module are `ScanBridgeError`s with the DWT code for "parameter not
/// valid" (-2113): bad image data and unsupported parameters are the caller's input.
enum ImagingError {
    static let code = -2113

    static func invalid(_ message: String, cause: ScanBridgeError.Cause? = nil) -> ScanBridgeError {
        ScanBridgeError(code: code, message: message, cause: cause)
    }

    static func library(_ name: String, _ message: String, code: Int = -1) -> ScanBridgeError {
        ScanBridgeError(code: Self.code, message: "\(name) failed", cause: .init(code: code, message: message))
    }
}
