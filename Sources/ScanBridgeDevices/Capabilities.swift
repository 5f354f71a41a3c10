/// DWT's PixelType values (TWAIN ICAP_PIXELTYPE).
public enum PixelType: Int, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case blackWhite = 0
    case gray = 1
    case rgb = 2

    public var description: String {
        switch self {
        case .blackWhite: "bw"
        case .gray: "gray"
        case .rgb: "color"
        }
    }
}

/// A paper source of a scanner, classified from its SANE name.
public struct ScanSource: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case flatbed
        /// Document feeder, front side.
        case feeder
        /// Document feeder, both sides.
        case feederDuplex
        /// Document feeder, back side only.
        case feederBack
        case other
    }

    public var name: String
    public var kind: Kind

    public var isFeeder: Bool { kind == .feeder || kind == .feederDuplex || kind == .feederBack }

    public init(name: String) {
        self.name = name
        let lower = name.lowercased()
        if lower.contains("duplex") {
            kind = .feederDuplex
        } else if lower.contains("adf") || lower.contains("feeder") || lower.contains("automatic document") {
            kind = lower.contains("back") || lower.contains("rear") ? .feederBack : .feeder
        } else if lower.contains("flatbed") || lower.contains("platen") || lower == "normal" || lower == "document table" {
            kind = .flatbed
        } else {
            kind = .other
        }
    }
}

/// Resolutions a device offers.
public enum ResolutionSupport: Sendable, Equatable, Codable {
    case range(min: Double, max: Double, step: Double)
    case list([Double])

    public func nearest(_ value: Double) -> Double {
        switch self {
        case .range(let low, let high, let step):
            var result = min(max(value, low), high)
            if step > 0 {
                result = low + ((result - low) / step).rounded() * step
                if result > high { result -= step }
            }
            return result
        case .list(let values):
            return values.min { abs($0 - value) < abs($1 - value) } ?? value
        }
    }
}

/// A numeric range a device offers (geometry in mm, brightness, contrast).
public struct NumericRange: Sendable, Equatable, Codable {
    public var min: Double
    public var max: Double
    public var step: Double

    public init(min: Double, max: Double, step: Double) {
        self.min = min
        self.max = max
        self.step = step
    }
}

/// What a scanner offers, read from its SANE options. Pure data, built by
/// `init(options:values:)` so that it can be tested without a device.
public struct ScannerCapabilities: Sendable, Equatable, Codable {
    /// The SANE mode names, as the device spells them.
    public var modes: [String]
    /// The pixel types reachable (black-and-white may be a lineart mode or gray at depth 1).
    public var pixelTypes: [PixelType]
    public var bitDepths: [Int]
    public var resolutions: ResolutionSupport?
    public var sources: [ScanSource]
    /// Top-left x / y and bottom-right x / y limits in millimetres, when offered.
    public var areaWidth: NumericRange?
    public var areaHeight: NumericRange?
    public var brightness: NumericRange?
    public var contrast: NumericRange?
    /// Every option as the device describes it, with its current value.
    public var options: [OptionDescriptor]
    public var values: [String: OptionValue]

    public var hasFeeder: Bool { sources.contains { $0.isFeeder } }
    public var hasDuplex: Bool { sources.contains { $0.kind == .feederDuplex } }

    public func option(_ name: String) -> OptionDescriptor? { options.first { $0.name == name } }

    /// The SANE mode name for `pixelType`, and the depth to use with it (nil: leave depth alone).
    public func mode(for pixelType: PixelType) -> (mode: String, depth: Int?)? {
        let kinds = modes.map { (name: $0, kind: Self.classify(mode: $0)) }
        switch pixelType {
        case .blackWhite:
            if let lineart = kinds.first(where: { $0.kind == .blackWhite }) {
                return (lineart.name, bitDepths.contains(1) ? 1 : nil)
            }
            if let gray = kinds.first(where: { $0.kind == .gray }), bitDepths.contains(1) { return (gray.name, 1) }
            return nil
        case .gray, .rgb:
            guard let match = kinds.first(where: { $0.kind == pixelType }) else { return nil }
            return (match.name, bitDepths.isEmpty ? nil : (bitDepths.contains(8) ? 8 : bitDepths.max()))
        }
    }

    static func classify(mode: String) -> PixelType? {
        let lower = mode.lowercased()
        if lower.contains("lineart") || lower.contains("binary") || lower.contains("black") || lower == "bw" {
            return .blackWhite
        }
        if lower.contains("gray") || lower.contains("grey") { return .gray }
        if lower.contains("color") || lower.contains("colour") || lower.contains("rgb") { return .rgb }
        return nil
    }

    public init(options: [OptionDescriptor], values: [String: OptionValue]) {
        self.options = options
        self.values = values
        let named: (String) -> OptionDescriptor? = { name in options.first { $0.name == name && $0.type != .group } }
        if let mode = named("mode"), case .strings(let list) = mode.constraint {
            modes = list
        } else if let mode = values["mode"]?.string {
            modes = [mode]
        } else {
            modes = []
        }
        if let depth = named("depth") {
            switch depth.constraint {
            case .numbers(let list): bitDepths = list.map { Int($0) }
            case .range(let low, let high, _): bitDepths = [1, 8, 16].filter { Double($0) >= low && Double($0) <= high }
            default: bitDepths = values["depth"]?.number.map { [Int($0)] } ?? []
            }
        } else {
            bitDepths = []
        }
        if let resolution = named("resolution") ?? named("x-resolution") {
            switch resolution.constraint {
            case .range(let low, let high, let quant): resolutions = .range(min: low, max: high, step: quant)
            case .numbers(let list): resolutions = .list(list)
            default: resolutions = values[resolution.name]?.number.map { .list([$0]) }
            }
        } else {
            resolutions = nil
        }
        if let source = named("source"), case .strings(let list) = source.constraint {
            sources = list.map(ScanSource.init(name:))
        } else {
            sources = []
        }
        let range: (String) -> NumericRange? = { name in
            guard let option = named(name), option.isActive, case .range(let low, let high, let quant) = option.constraint else { return nil }
            return NumericRange(min: low, max: high, step: quant)
        }
        areaWidth = range("br-x")
        areaHeight = range("br-y")
        brightness = range("brightness")
        contrast = range("contrast")
        pixelTypes = []
        pixelTypes = PixelType.allCases.filter { mode(for: $0) != nil }
    }
}
