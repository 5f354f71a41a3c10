import ScanBridgeCore

/// What a new document password must be so that a client can send it back: passwords travel in
/// the `DWT-DOC-PASSWORD` header, and HTTP trims spaces and tabs around a header value and has
/// no way to carry control characters, so a password with either could be set but never given
/// again, locking its document for good.
enum PasswordRules {
    /// Throws -2113 for a password that cannot travel in a header value.
    static func checkSendable(_ password: String) throws(ScanBridgeError) {
        if let first = password.unicodeScalars.first, let last = password.unicodeScalars.last,
           isTrimmed(first) || isTrimmed(last) {
            throw ScanBridgeError(code: StorageErrorCode.passwordNotSendable,
                                  message: "The password must not begin or end with a space or tab: HTTP trims them from the DWT-DOC-PASSWORD header, so it could never be sent back.")
        }
        if password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ScanBridgeError(code: StorageErrorCode.passwordNotSendable,
                                  message: "The password must not contain control characters (NUL, line breaks, tabs…): an HTTP header cannot carry them, so it could never be sent back.")
        }
    }

    private static func isTrimmed(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" }
}
