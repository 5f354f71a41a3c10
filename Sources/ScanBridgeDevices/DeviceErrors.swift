import ScanBridgeCore

/// The DWT error codes ScanBridgeDevices reports in `ScanBridgeError.code`.
///
/// DWT numbers scanner errors as `-(1000 + TWAIN condition code)` (the "Error List" of the DWT
/// API appendix); the same numbers are used here so that the REST layer can pass them through.
/// The underlying SANE status (or errno) is always kept in `ScanBridgeError.cause`.
///
/// | code | meaning | raised for |
/// |---|---|---|
/// | -1001 | general failure | SANE_STATUS_INVAL/UNSUPPORTED/ACCESS_DENIED…, V4L2 failures |
/// | -1002 | not enough memory | SANE_STATUS_NO_MEM |
/// | -1003 | source not found | unknown device identity, sane_open on a vanished device |
/// | -1004 | source busy (HTTP 423) | device already open in this process, SANE_STATUS_DEVICE_BUSY |
/// | -1006 | capability not supported | a DeviceConfiguration field the device cannot honour at all |
/// | -1010 | value out of range | a DeviceConfiguration value outside what DWT allows |
/// | -1011 | out of sequence (HTTP 409) | configure/scan while a scan runs, use after close |
/// | -1020 | feeder jammed | SANE_STATUS_JAMMED |
/// | -1023 | device offline | SANE_STATUS_IO_ERROR, `scannerFailureTimeout` expired, discovery timeout |
/// | -1024 | cover open | SANE_STATUS_COVER_OPEN |
/// | -1029 | no media | SANE_STATUS_NO_DOCS before the first page of a batch |
public enum DeviceErrorCode {
    public static let generalFailure = -1001
    public static let outOfMemory = -1002
    public static let deviceNotFound = -1003
    public static let busy = -1004
    public static let capabilityNotSupported = -1006
    public static let valueOutOfRange = -1010
    public static let outOfSequence = -1011
    public static let paperJam = -1020
    public static let deviceOffline = -1023
    public static let coverOpen = -1024
    public static let noMedia = -1029
}

extension ScanBridgeError {
    static func busy(_ device: String, cause: Cause? = nil) -> ScanBridgeError {
        ScanBridgeError(code: DeviceErrorCode.busy,
                        message: "The scanner \(device) is busy: another client is using it", cause: cause)
    }

    static func outOfSequence(_ message: String) -> ScanBridgeError {
        ScanBridgeError(code: DeviceErrorCode.outOfSequence, message: message)
    }

    static func deviceNotFound(_ device: String) -> ScanBridgeError {
        ScanBridgeError(code: DeviceErrorCode.deviceNotFound, message: "No device \(device) was found")
    }

    static func scannerTimeout(_ device: String, seconds: Double) -> ScanBridgeError {
        ScanBridgeError(code: DeviceErrorCode.deviceOffline,
                        message: "The scanner \(device) did not answer within \(formatSeconds(seconds)) s (scannerFailureTimeout)")
    }
}

func formatSeconds(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(value)
}
