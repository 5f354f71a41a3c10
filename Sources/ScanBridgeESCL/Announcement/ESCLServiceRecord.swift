/// What the eSCL listener announces over DNS-SD: the service type, the port and the TXT keys
/// that eSCL clients read (sane-airscan takes `rs` as the path of the eSCL root, `ty` as the
/// model and `uuid` to recognise a scanner it saw before; the others follow the Mopria/Apple
/// eSCL announcement).
public struct ESCLServiceRecord: Sendable, Equatable {
    /// `_uscans._tcp` for an HTTPS listener, `_uscan._tcp` for plain HTTP.
    public var type: String
    public var port: Int
    /// `key=value` strings, in the order they are published.
    public var txt: [String]

    public init(scanner: ESCLScannerDescription, port: Int, tls: Bool) {
        type = tls ? "_uscans._tcp" : "_uscan._tcp"
        self.port = port
        let model = scanner.makeAndModel.isEmpty ? "ScanBridge scanner" : scanner.makeAndModel
        let sources = [scanner.hasPlaten ? "platen" : nil, scanner.hasFeeder ? "adf" : nil].compactMap { $0 }
        txt = [
            "txtvers=1",
            "vers=\(CapabilitiesDocument.version)",
            "rs=eSCL",
            "ty=\(model)",
            "uuid=\(scanner.uuid)",
            "pdl=\(ESCLScanSettings.DocumentFormat.allCases.map(\.rawValue).joined(separator: ","))",
            "cs=\(scanner.colorModes.map(Self.colorSpace).joined(separator: ","))",
            "is=\(sources.joined(separator: ","))",
            "duplex=\(scanner.hasDuplex ? "T" : "F")",
        ].map(Self.fitted)
    }

    /// The TXT key for a colour mode.
    static func colorSpace(_ mode: ESCLScanSettings.ColorMode) -> String {
        switch mode {
        case .rgb24: "color"
        case .grayscale8: "grayscale"
        case .blackAndWhite1: "binary"
        }
    }

    /// A DNS TXT string holds at most 255 bytes; a longer one (a very long model name) is cut at
    /// a character boundary rather than refused by Avahi.
    static func fitted(_ entry: String) -> String {
        var entry = entry
        while entry.utf8.count > 255 { entry.removeLast() }
        return entry
    }
}
