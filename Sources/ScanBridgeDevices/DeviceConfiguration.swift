import ScanBridgeCore

/// DWT's `DeviceConfiguration` (the `config` of `POST /device/scanners/jobs`), as clients send it.
/// Field names are DWT's; fields this type does not know are kept in `unrecognizedFields` so
/// that the mapping can report them instead of dropping them silently.
public struct DeviceConfiguration: Sendable, Equatable, Codable {
    public var showUI: Bool?
    /// 0 BW, 1 Gray, 2 RGB.
    public var pixelType: Int?
    /// Dots per inch.
    public var resolution: Double?
    public var feederEnabled: Bool?
    public var duplexEnabled: Bool?
    /// TWAIN ICAP_SUPPORTEDSIZES code (1 A4, 3 US Letter, 4 US Legal, 5 A5 …; 0 = whole area).
    public var pageSize: Int?
    /// Pages to transfer; -1 (or absent) = all.
    public var transferCount: Int?
    /// -1000…1000 as in TWAIN; mapped linearly onto the device's range.
    public var brightness: Double?
    public var contrast: Double?
    /// ScanBridge extension: bits per sample (1, 8, 16) for Gray/RGB.
    public var bitDepth: Int?
    public var autoDiscardBlankPages: Bool?
    /// Informational flags that change nothing on the device side.
    public var getImageInfo: Bool?
    public var getExtImageInfo: Bool?
    public var closeSourceAfterAcquire: Bool?
    public var disableSourceAfterAcquire: Bool?
    /// Keys of the JSON object this type does not know.
    public var unrecognizedFields: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case showUI = "IfShowUI", pixelType = "PixelType", resolution = "Resolution"
        case feederEnabled = "IfFeederEnabled", duplexEnabled = "IfDuplexEnabled", pageSize = "PageSize"
        case transferCount = "XferCount", brightness = "Brightness", contrast = "Contrast", bitDepth = "BitDepth"
        case autoDiscardBlankPages = "IfAutoDiscardBlankpages", getImageInfo = "IfGetImageInfo"
        case getExtImageInfo = "IfGetExtImageInfo", closeSourceAfterAcquire = "IfCloseSourceAfterAcquire"
        case disableSourceAfterAcquire = "IfDisableSourceAfterAcquire"
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(showUI: Bool? = nil, pixelType: Int? = nil, resolution: Double? = nil, feederEnabled: Bool? = nil,
                duplexEnabled: Bool? = nil, pageSize: Int? = nil, transferCount: Int? = nil, brightness: Double? = nil,
                contrast: Double? = nil, bitDepth: Int? = nil, autoDiscardBlankPages: Bool? = nil) {
        self.showUI = showUI
        self.pixelType = pixelType
        self.resolution = resolution
        self.feederEnabled = feederEnabled
        self.duplexEnabled = duplexEnabled
        self.pageSize = pageSize
        self.transferCount = transferCount
        self.brightness = brightness
        self.contrast = contrast
        self.bitDepth = bitDepth
        self.autoDiscardBlankPages = autoDiscardBlankPages
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        showUI = try container.decodeIfPresent(Bool.self, forKey: .showUI)
        pixelType = try container.decodeIfPresent(Int.self, forKey: .pixelType)
        resolution = try container.decodeIfPresent(Double.self, forKey: .resolution)
        feederEnabled = try container.decodeIfPresent(Bool.self, forKey: .feederEnabled)
        duplexEnabled = try container.decodeIfPresent(Bool.self, forKey: .duplexEnabled)
        pageSize = try container.decodeIfPresent(Int.self, forKey: .pageSize)
        transferCount = try container.decodeIfPresent(Int.self, forKey: .transferCount)
        brightness = try container.decodeIfPresent(Double.self, forKey: .brightness)
        contrast = try container.decodeIfPresent(Double.self, forKey: .contrast)
        bitDepth = try container.decodeIfPresent(Int.self, forKey: .bitDepth)
        autoDiscardBlankPages = try container.decodeIfPresent(Bool.self, forKey: .autoDiscardBlankPages)
        getImageInfo = try container.decodeIfPresent(Bool.self, forKey: .getImageInfo)
        getExtImageInfo = try container.decodeIfPresent(Bool.self, forKey: .getExtImageInfo)
        closeSourceAfterAcquire = try container.decodeIfPresent(Bool.self, forKey: .closeSourceAfterAcquire)
        disableSourceAfterAcquire = try container.decodeIfPresent(Bool.self, forKey: .disableSourceAfterAcquire)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        unrecognizedFields = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            .filter { !known.contains($0) }.sorted()
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(showUI, forKey: .showUI)
        try container.encodeIfPresent(pixelType, forKey: .pixelType)
        try container.encodeIfPresent(resolution, forKey: .resolution)
        try container.encodeIfPresent(feederEnabled, forKey: .feederEnabled)
        try container.encodeIfPresent(duplexEnabled, forKey: .duplexEnabled)
        try container.encodeIfPresent(pageSize, forKey: .pageSize)
        try container.encodeIfPresent(transferCount, forKey: .transferCount)
        try container.encodeIfPresent(brightness, forKey: .brightness)
        try container.encodeIfPresent(contrast, forKey: .contrast)
        try container.encodeIfPresent(bitDepth, forKey: .bitDepth)
        try container.encodeIfPresent(autoDiscardBlankPages, forKey: .autoDiscardBlankPages)
        try container.encodeIfPresent(getImageInfo, forKey: .getImageInfo)
        try container.encodeIfPresent(getExtImageInfo, forKey: .getExtImageInfo)
        try container.encodeIfPresent(closeSourceAfterAcquire, forKey: .closeSourceAfterAcquire)
        try container.encodeIfPresent(disableSourceAfterAcquire, forKey: .disableSourceAfterAcquire)
    }
}

/// TWAIN paper sizes (ICAP_SUPPORTEDSIZES, the DWT `PageSize` values) in millimetres.
public enum PageSize {
    public static let sizes: [Int: (name: String, width: Double, height: Double)] = [
        1: ("A4", 210, 297), 2: ("JIS B5", 182, 257), 3: ("US Letter", 215.9, 279.4),
        4: ("US Legal", 215.9, 355.6), 5: ("A5", 148, 210), 6: ("ISO B4", 250, 353),
        7: ("ISO B6", 125, 176), 9: ("US Ledger", 279.4, 431.8), 10: ("US Executive", 184.15, 266.7),
        11: ("A3", 297, 420), 12: ("ISO B3", 353, 500), 13: ("A6", 105, 148),
        14: ("C4", 229, 324), 15: ("C5", 162, 229), 16: ("C6", 114, 162),
    ]
}

/// One way a requested value was changed to something the device can do (or ignored with a
/// reason). Reported back to the client; never silent.
public struct ConfigurationAdjustment: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The DeviceConfiguration field (DWT spelling).
    public var field: String
    public var requested: String
    public var applied: String
    public var reason: String

    public var description: String { "\(field): requested \(requested), using \(applied) (\(reason))" }
}

/// What to set on the device for one DeviceConfiguration, computed from the capabilities alone.
public struct ScanPlan: Sendable, Equatable {
    public struct Setting: Sendable, Equatable {
        /// SANE option name.
        public var option: String
        public var value: OptionValue
        /// The DeviceConfiguration field it comes from.
        public var field: String
    }

    public var settings: [Setting] = []
    /// Pages to transfer; nil = until the feeder is empty (flatbed: one).
    public var maxPages: Int?
    /// Whether pages come from a document feeder (then `SANE_STATUS_NO_DOCS` after a page ends
    /// the batch normally).
    public var usesFeeder: Bool = false
    public var duplex: Bool = false
    public var adjustments: [ConfigurationAdjustment] = []
}

/// DeviceConfiguration → ScanPlan. Values the device can't take exactly are rounded to the
/// nearest supported one and reported in `adjustments`; values no device could take, or that
/// this device cannot approach at all, are refused with a ScanBridgeError (-1010 value out of
/// range, -1006 capability not supported).
public enum ScanConfigurationMapper {
    public static func plan(_ config: DeviceConfiguration, capabilities caps: ScannerCapabilities) throws -> ScanPlan {
        var plan = ScanPlan()
        func adjust(_ field: String, _ requested: String, _ applied: String, _ reason: String) {
            plan.adjustments.append(.init(field: field, requested: requested, applied: applied, reason: reason))
        }
        func refuse(_ code: Int, _ message: String) -> ScanBridgeError { ScanBridgeError(code: code, message: message) }
        func settable(_ name: String) -> OptionDescriptor? {
            guard let option = caps.option(name), option.isSettable else { return nil }
            return option
        }

        if config.showUI == true {
            adjust("IfShowUI", "true", "false", "SANE devices have no driver dialog; scanning without one")
        }
        if config.autoDiscardBlankPages == true {
            adjust("IfAutoDiscardBlankpages", "true", "not done by the device",
                   "blank pages are detected after the scan, not by the scanner driver")
        }
        for field in config.unrecognizedFields {
            adjust(field, "(set)", "ignored", "not a DeviceConfiguration field ScanBridge knows")
        }

        // Source: feeder / duplex / flatbed.
        let currentSource = caps.values["source"]?.string.map(ScanSource.init(name:))
        var chosenSource = currentSource
        if let feeder = config.feederEnabled {
            if feeder {
                guard caps.hasFeeder else {
                    throw refuse(DeviceErrorCode.capabilityNotSupported,
                                 "IfFeederEnabled: the scanner has no document feeder (sources: \(caps.sources.map(\.name).joined(separator: ", ")))")
                }
                let duplex = config.duplexEnabled == true ? caps.sources.first { $0.kind == .feederDuplex } : nil
                chosenSource = duplex ?? caps.sources.first { $0.kind == .feeder } ?? caps.sources.first { $0.isFeeder }
            } else if let flatbed = caps.sources.first(where: { $0.kind == .flatbed }) {
                chosenSource = flatbed
            } else if !caps.sources.isEmpty, let first = caps.sources.first {
                chosenSource = first
                adjust("IfFeederEnabled", "false", first.name, "the scanner has no flatbed")
            }
        } else if config.duplexEnabled == true, let duplex = caps.sources.first(where: { $0.kind == .feederDuplex }) {
            chosenSource = duplex
        }
        if config.duplexEnabled == true && chosenSource?.kind != .feederDuplex {
            adjust("IfDuplexEnabled", "true", "false",
                   caps.hasDuplex ? "duplex needs the document feeder" : "the scanner does not scan both sides")
        }
        if let chosenSource, settable("source") != nil, chosenSource != currentSource {
            plan.settings.append(.init(option: "source", value: .string(chosenSource.name), field: "IfFeederEnabled"))
        }
        plan.usesFeeder = chosenSource?.isFeeder ?? false
        plan.duplex = chosenSource?.kind == .feederDuplex

        // Pixel type → mode and depth.
        var depth: Int? = nil
        if let rawType = config.pixelType {
            guard let pixelType = PixelType(rawValue: rawType) else {
                throw refuse(DeviceErrorCode.capabilityNotSupported,
                             "PixelType \(rawType) is not supported (0 BW, 1 Gray, 2 RGB)")
            }
            guard let (mode, modeDepth) = caps.mode(for: pixelType) else {
                throw refuse(DeviceErrorCode.capabilityNotSupported,
                             "PixelType \(rawType) (\(pixelType)) is not offered by the scanner (modes: \(caps.modes.joined(separator: ", ")))")
            }
            if settable("mode") != nil {
                plan.settings.append(.init(option: "mode", value: .string(mode), field: "PixelType"))
            }
            depth = modeDepth
            if let requested = config.bitDepth {
                if pixelType == .blackWhite {
                    if requested != 1 { adjust("BitDepth", String(requested), "1", "black-and-white pages have one bit per pixel") }
                } else if caps.bitDepths.contains(requested) {
                    depth = requested
                } else if let nearest = caps.bitDepths.min(by: { abs($0 - requested) < abs($1 - requested) }) {
                    depth = nearest
                    adjust("BitDepth", String(requested), String(nearest), "nearest bit depth the scanner offers")
                }
            }
        } else if let requested = config.bitDepth {
            if caps.bitDepths.contains(requested) {
                depth = requested
            } else if let nearest = caps.bitDepths.min(by: { abs($0 - requested) < abs($1 - requested) }) {
                depth = nearest
                adjust("BitDepth", String(requested), String(nearest), "nearest bit depth the scanner offers")
            }
        }
        if let depth, settable("depth") != nil {
            plan.settings.append(.init(option: "depth", value: .number(Double(depth)), field: "PixelType"))
        }

        // Resolution.
        if let resolution = config.resolution {
            guard resolution > 0, resolution.isFinite else {
                throw refuse(DeviceErrorCode.valueOutOfRange, "Resolution \(resolution) must be a positive number of dpi")
            }
            if let support = caps.resolutions, let option = settable("resolution") ?? settable("x-resolution") {
                var applied = support.nearest(resolution)
                if option.type == .int { applied = applied.rounded() }
                if applied != resolution {
                    adjust("Resolution", formatNumber(resolution), formatNumber(applied), "nearest resolution the scanner offers")
                }
                plan.settings.append(.init(option: option.name, value: .number(applied), field: "Resolution"))
                if option.name == "x-resolution", settable("y-resolution") != nil {
                    plan.settings.append(.init(option: "y-resolution", value: .number(applied), field: "Resolution"))
                }
            } else {
                adjust("Resolution", formatNumber(resolution), "the scanner's fixed resolution", "the scanner has no resolution option")
            }
        }

        // Page size → scan area, clipped to what the device reaches.
        if let code = config.pageSize {
            let width = caps.areaWidth, height = caps.areaHeight
            if code == 0 {
                if let width, let height, let tlx = settable("tl-x"), let tly = settable("tl-y") {
                    plan.settings += [
                        .init(option: tlx.name, value: .number(width.min), field: "PageSize"),
                        .init(option: tly.name, value: .number(height.min), field: "PageSize"),
                        .init(option: "br-x", value: .number(width.max), field: "PageSize"),
                        .init(option: "br-y", value: .number(height.max), field: "PageSize"),
                    ]
                }
            } else {
                guard let size = PageSize.sizes[code] else {
                    throw refuse(DeviceErrorCode.valueOutOfRange,
                                 "PageSize \(code) is not a paper size ScanBridge knows (1 A4, 3 US Letter, 4 US Legal, 5 A5, …)")
                }
                if let width, let height, settable("br-x") != nil, settable("br-y") != nil,
                   caps.option("br-x")?.unit == .mm {
                    let left = settable("tl-x") != nil ? width.min : 0
                    let top = settable("tl-y") != nil ? height.min : 0
                    let right = min(left + size.width, width.max)
                    let bottom = min(top + size.height, height.max)
                    let brx = caps.option("br-x")!.nearestAllowed(right)
                    let bry = caps.option("br-y")!.nearestAllowed(bottom)
                    if brx - left < size.width - 0.5 || bry - top < size.height - 0.5 {
                        adjust("PageSize", "\(code) (\(size.name), \(formatNumber(size.width))×\(formatNumber(size.height)) mm)",
                               "\(formatNumber(brx - left))×\(formatNumber(bry - top)) mm",
                               "clipped to the largest area the scanner reaches")
                    }
                    if settable("tl-x") != nil { plan.settings.append(.init(option: "tl-x", value: .number(left), field: "PageSize")) }
                    if settable("tl-y") != nil { plan.settings.append(.init(option: "tl-y", value: .number(top), field: "PageSize")) }
                    plan.settings.append(.init(option: "br-x", value: .number(brx), field: "PageSize"))
                    plan.settings.append(.init(option: "br-y", value: .number(bry), field: "PageSize"))
                } else {
                    adjust("PageSize", "\(code) (\(size.name))", "the scanner's own area", "the scanner has no scan-area options in mm")
                }
            }
        }

        // Brightness / contrast: TWAIN -1000…1000 onto the device's range.
        for (field, requested, range, option) in [("Brightness", config.brightness, caps.brightness, "brightness"),
                                                  ("Contrast", config.contrast, caps.contrast, "contrast")] {
            guard let requested else { continue }
            guard (-1000...1000).contains(requested) else {
                throw refuse(DeviceErrorCode.valueOutOfRange, "\(field) \(formatNumber(requested)) is outside -1000…1000")
            }
            guard let range, let descriptor = settable(option) else {
                if requested != 0 {
                    adjust(field, formatNumber(requested), "ignored", "the scanner has no \(option) option")
                }
                continue
            }
            let scaled = range.min + (requested + 1000) / 2000 * (range.max - range.min)
            let applied = descriptor.nearestAllowed(scaled)
            plan.settings.append(.init(option: option, value: .number(applied), field: field))
        }

        // Transfer count.
        if let count = config.transferCount, count > 0 {
            plan.maxPages = count
            if !plan.usesFeeder && count > 1 {
                plan.maxPages = 1
                adjust("XferCount", String(count), "1", "the flatbed holds one page")
            }
        } else if let count = config.transferCount, count < -1 || count == 0 {
            throw refuse(DeviceErrorCode.valueOutOfRange, "XferCount \(count) must be -1 (all pages) or a positive count")
        }
        if !plan.usesFeeder && plan.maxPages == nil { plan.maxPages = 1 }
        return plan
    }
}
