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

/// Decoders refuse images above this many pixels (a 1200 dpi A3 scan is ~280 MP), so that a
/// hostile header cannot make them allocate without bound.
public let maximumDecodedPixels = 1 << 29

func checkDecodable(_ width: Int, _ height: Int, _ what: String) throws {
    guard width > 0, height > 0, width.multipliedReportingOverflow(by: height).partialValue <= maximumDecodedPixels,
          !width.multipliedReportingOverflow(by: height).overflow else {
        throw ImagingError.invalid("\(what) of \(width)×\(height) pixels is larger than the \(maximumDecodedPixels) pixels accepted")
    }
}
