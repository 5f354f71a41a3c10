import ScanBridgeDevices

/// The eSCL view of one SANE scanner: which of Platen and Adf it has, the colour modes, the
/// resolutions and the largest area, in the protocol's units (1/300 inch).
public struct ESCLScannerDescription: Sendable, Equatable {
    public var makeAndModel: String
    public var manufacturer: String
    public var serialNumber: String
    /// A stable UUID of the scanner (derived from its identity).
    public var uuid: String
    public var hasPlaten: Bool
    public var hasFeeder: Bool
    public var hasDuplex: Bool
    public var colorModes: [ESCLScanSettings.ColorMode]
    public var resolutions: [Int]
    public var maxWidth: Int
    public var maxHeight: Int
    public var minWidth: Int
    public var minHeight: Int

    /// Resolutions eSCL clients offer their users; each one the scanner reaches is listed.
    static let commonResolutions = [75, 100, 150, 200, 300, 400, 600, 1200]

    /// A4 at 1/300 inch: the area when the scanner does not say (no geometry options in mm).
    static let fallbackArea = (width: 2480, height: 3508)

    public init(scanner: ScannerInfo, capabilities caps: ScannerCapabilities) {
        makeAndModel = [scanner.vendor, scanner.model].filter { !$0.isEmpty }.joined(separator: " ")
        manufacturer = scanner.vendor
        serialNumber = scanner.id
        uuid = Self.uuid(for: scanner.id)
        hasFeeder = caps.hasFeeder
        hasDuplex = caps.hasDuplex
        hasPlaten = caps.sources.isEmpty || caps.sources.contains { $0.kind == .flatbed || $0.kind == .other }
        colorModes = caps.pixelTypes.reversed().map { type -> ESCLScanSettings.ColorMode in
            switch type {
            case .rgb: .rgb24
            case .gray: .grayscale8
            case .blackWhite: .blackAndWhite1
            }
        }
        switch caps.resolutions {
        case .range(let low, let high, let step)?:
            resolutions = Self.commonResolutions.filter { value in
                let number = Double(value)
                guard number >= low, number <= high else { return false }
                return step <= 0 || abs(((number - low) / step).rounded() * step + low - number) < 0.01
            }
            if resolutions.isEmpty { resolutions = [Int(low.rounded())] }
        case .list(let values)?:
            resolutions = values.map { Int($0.rounded()) }.filter { $0 > 0 }.sorted()
        case nil:
            resolutions = [300]
        }
        if let width = caps.areaWidth, let height = caps.areaHeight, caps.option("br-x")?.unit == .mm {
            maxWidth = Self.threeHundredths(ofMillimetres: width.max - width.min)
            maxHeight = Self.threeHundredths(ofMillimetres: height.max - height.min)
            minWidth = max(1, Self.threeHundredths(ofMillimetres: max(width.step, 1)))
            minHeight = max(1, Self.threeHundredths(ofMillimetres: max(height.step, 1)))
        } else {
            (maxWidth, maxHeight) = Self.fallbackArea
            (minWidth, minHeight) = (1, 1)
        }
    }

    static func threeHundredths(ofMillimetres value: Double) -> Int { Int((value / 25.4 * 300).rounded(.down)) }

    /// A name-based UUID (version 5 layout over FNV-1a hashes) so the same scanner keeps its
    /// UUID across restarts, which clients use to recognise a scanner they saw before.
    static func uuid(for identity: String) -> String {
        var bytes: [UInt8] = []
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for round in 0..<2 {
            for byte in Array("scanbridge-escl:\(round):\(identity)".utf8) {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            withUnsafeBytes(of: hash.bigEndian) { bytes += $0 }
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// `GET /eSCL/ScannerCapabilities`.
enum CapabilitiesDocument {
    static let version = "2.63"

    static func render(_ scanner: ESCLScannerDescription) -> [UInt8] {
        var xml = XMLWriter()
        xml.group("scan:ScannerCapabilities", ESCLNamespace.attributes) { xml in
            xml.element("pwg:Version", version)
            xml.element("pwg:MakeAndModel", scanner.makeAndModel.isEmpty ? "ScanBridge scanner" : scanner.makeAndModel)
            xml.element("pwg:SerialNumber", scanner.serialNumber)
            if !scanner.manufacturer.isEmpty { xml.element("scan:Manufacturer", scanner.manufacturer) }
            xml.element("scan:UUID", scanner.uuid)
            if scanner.hasPlaten {
                xml.group("scan:Platen") { xml in
                    xml.group("scan:PlatenInputCaps") { inputCaps(&$0, scanner) }
                }
            }
            if scanner.hasFeeder {
                xml.group("scan:Adf") { xml in
                    xml.group("scan:AdfSimplexInputCaps") { inputCaps(&$0, scanner) }
                    if scanner.hasDuplex {
                        xml.group("scan:AdfDuplexInputCaps") { inputCaps(&$0, scanner) }
                        xml.group("scan:AdfOptions") { $0.element("scan:AdfOption", "Duplex") }
                    }
                }
            }
        }
        return xml.bytes
    }

    private static func inputCaps(_ xml: inout XMLWriter, _ scanner: ESCLScannerDescription) {
        xml.element("scan:MinWidth", scanner.minWidth)
        xml.element("scan:MaxWidth", scanner.maxWidth)
        xml.element("scan:MinHeight", scanner.minHeight)
        xml.element("scan:MaxHeight", scanner.maxHeight)
        xml.element("scan:MaxScanRegions", 1)
        xml.group("scan:SettingProfiles") { xml in
            xml.group("scan:SettingProfile") { xml in
                xml.group("scan:ColorModes") { xml in
                    for mode in scanner.colorModes { xml.element("scan:ColorMode", mode.rawValue) }
                }
                xml.group("scan:DocumentFormats") { xml in
                    for format in ESCLScanSettings.DocumentFormat.allCases { xml.element("pwg:DocumentFormat", format.rawValue) }
                    for format in ESCLScanSettings.DocumentFormat.allCases { xml.element("scan:DocumentFormatExt", format.rawValue) }
                }
                xml.group("scan:SupportedResolutions") { xml in
                    xml.group("scan:DiscreteResolutions") { xml in
                        for resolution in scanner.resolutions {
                            xml.group("scan:DiscreteResolution") { xml in
                                xml.element("scan:XResolution", resolution)
                                xml.element("scan:YResolution", resolution)
                            }
                        }
                    }
                }
                xml.group("scan:ColorSpaces") { $0.element("scan:ColorSpace", "sRGB") }
            }
        }
        xml.group("scan:SupportedIntents") { xml in
            for intent in ["Document", "TextAndGraphic", "Photo", "Preview"] { xml.element("scan:Intent", intent) }
        }
        if let best = scanner.resolutions.last {
            xml.element("scan:MaxOpticalXResolution", best)
            xml.element("scan:MaxOpticalYResolution", best)
        }
    }
}
