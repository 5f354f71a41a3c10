/// What an eSCL client asks a scan job for (`POST /eSCL/ScanJobs`, body `scan:ScanSettings`).
/// Elements are matched by local name, since clients put them in either namespace.
public struct ESCLScanSettings: Sendable, Equatable {
    public enum InputSource: String, Sendable, CaseIterable {
        case platen = "Platen", feeder = "Feeder"
    }

    public enum ColorMode: String, Sendable, CaseIterable {
        case rgb24 = "RGB24", grayscale8 = "Grayscale8", blackAndWhite1 = "BlackAndWhite1"
    }

    public enum DocumentFormat: String, Sendable, CaseIterable {
        case jpeg = "image/jpeg", png = "image/png", pdf = "application/pdf"

        /// PDF is one document for the whole job; images are one document a page.
        public var isMultiPage: Bool { self == .pdf }
    }

    /// A scan region in three-hundredths of an inch, as the protocol counts.
    public struct Region: Sendable, Equatable {
        public var xOffset: Int, yOffset: Int, width: Int, height: Int
    }

    public var inputSource: InputSource = .platen
    public var colorMode: ColorMode = .rgb24
    /// Dots per inch; nil leaves the scanner's resolution.
    public var xResolution: Int?
    public var yResolution: Int?
    public var region: Region?
    public var documentFormat: DocumentFormat = .jpeg
    public var duplex = false

    public init() {}

    /// A request the service understood but cannot honour: 409 Conflict, as eSCL answers
    /// settings the scanner does not support.
    public struct Unsupported: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses a ScanSettings document.
    /// - Throws: `ESCLRequestError` (400) when the body is not well-formed XML, not a
    ///   ScanSettings document, or has a value that is not a value of its kind;
    ///   `Unsupported` (409) for a source, colour mode or format this service does not offer.
    public static func parse(_ body: [UInt8]) throws -> ESCLScanSettings {
        let root: ESCLElement
        do {
            root = try XMLTree.parse(body)
        } catch {
            throw ESCLRequestError("ScanSettings is not well-formed XML: \(error)")
        }
        guard root.localName == "ScanSettings" else {
            throw ESCLRequestError("the body is a \(root.name) document; expected scan:ScanSettings")
        }
        var settings = ESCLScanSettings()
        if let source = root.value("InputSource") {
            guard let parsed = InputSource(rawValue: source) else {
                throw source == "Camera" ? Unsupported(description: "InputSource Camera is not offered; use Platen or Feeder")
                    : ESCLRequestError("InputSource \"\(source)\" is not Platen, Feeder or Camera")
            }
            settings.inputSource = parsed
        }
        if let mode = root.value("ColorMode") {
            guard let parsed = ColorMode(rawValue: mode) else {
                throw Unsupported(description: "ColorMode \"\(mode)\" is not offered (RGB24, Grayscale8, BlackAndWhite1)")
            }
            settings.colorMode = parsed
        }
        settings.xResolution = try positive(root, "XResolution")
        settings.yResolution = try positive(root, "YResolution")
        // DocumentFormatExt, when present, is the one a client means (DocumentFormat may name a
        // generic type for older scanners).
        if let format = root.value("DocumentFormatExt") ?? root.value("DocumentFormat") {
            guard let parsed = DocumentFormat(rawValue: format.lowercased()) else {
                throw Unsupported(description: "document format \"\(format)\" is not offered (image/jpeg, image/png, application/pdf)")
            }
            settings.documentFormat = parsed
        }
        if let duplex = root.value("Duplex") {
            switch duplex.lowercased() {
            case "true", "1": settings.duplex = true
            case "false", "0": settings.duplex = false
            default: throw ESCLRequestError("Duplex \"\(duplex)\" is not true or false")
            }
        }
        if let region = root.child("ScanRegions")?.child("ScanRegion") {
            if let units = region.value("ContentRegionUnits"), !units.hasSuffix("ThreeHundredthsOfInches") {
                throw Unsupported(description: "ContentRegionUnits \(units) is not offered; use escl:ThreeHundredthsOfInches")
            }
            let width = try positive(region, "Width"), height = try positive(region, "Height")
            guard let width, let height else { throw ESCLRequestError("ScanRegion needs Width and Height") }
            settings.region = Region(xOffset: try nonNegative(region, "XOffset") ?? 0, yOffset: try nonNegative(region, "YOffset") ?? 0,
                                     width: width, height: height)
        }
        if settings.inputSource == .platen && settings.duplex {
            throw Unsupported(description: "Duplex needs InputSource Feeder")
        }
        return settings
    }

    private static func positive(_ element: ESCLElement, _ name: String) throws -> Int? {
        guard let value = try nonNegative(element, name) else { return nil }
        guard value > 0 else { throw ESCLRequestError("\(name) must be positive, got 0") }
        return value
    }

    private static func nonNegative(_ element: ESCLElement, _ name: String) throws -> Int? {
        guard let text = element.value(name) else { return nil }
        guard let value = Int(text), value >= 0, value <= 1_000_000 else {
            throw ESCLRequestError("\(name) \"\(text)\" is not a whole number from 0 to 1000000")
        }
        return value
    }
}

/// A request the eSCL routes refuse as malformed: 400 with the message as plain text.
public struct ESCLRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
