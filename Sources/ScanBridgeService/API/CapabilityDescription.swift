import ScanBridgeDevices

/// `GET …/scanner/capabilities`: what the device offers, as DWT capability numbers.
enum CapabilityDescription {
    struct Entry: Encodable, Sendable {
        var capability: Int
        var name: String
        var curValue: String?
        var values: [String]?
        var range: Range?
    }

    struct Range: Encodable, Sendable {
        var min: Double, max: Double, step: Double
    }

    static func describe(_ caps: ScannerCapabilities) -> [Entry] {
        func current(_ option: String) -> String? { caps.values[option]?.description }
        var entries: [Entry] = [
            Entry(capability: CapabilityMapping.pixelType, name: "ICAP_PIXELTYPE", curValue: current("mode"),
                  values: caps.pixelTypes.map { String($0.rawValue) }),
            Entry(capability: CapabilityMapping.bitDepth, name: "ICAP_BITDEPTH", curValue: current("depth"),
                  values: caps.bitDepths.map(String.init)),
            Entry(capability: CapabilityMapping.feederEnabled, name: "CAP_FEEDERENABLED", curValue: nil,
                  values: caps.hasFeeder ? ["false", "true"] : ["false"]),
            Entry(capability: CapabilityMapping.duplexEnabled, name: "CAP_DUPLEXENABLED", curValue: nil,
                  values: caps.hasDuplex ? ["false", "true"] : ["false"]),
            Entry(capability: 0x1146, name: "ScanBridge.sources", curValue: current("source"),
                  values: caps.sources.map(\.name)),
        ]
        switch caps.resolutions {
        case .list(let values)?:
            entries.append(Entry(capability: CapabilityMapping.resolutionX, name: "ICAP_XRESOLUTION", curValue: current("resolution"),
                                 values: values.map { String(Int($0)) }))
        case .range(let min, let max, let step)?:
            entries.append(Entry(capability: CapabilityMapping.resolutionX, name: "ICAP_XRESOLUTION", curValue: current("resolution"),
                                 range: Range(min: min, max: max, step: step)))
        case nil:
            break
        }
        if let brightness = caps.brightness {
            entries.append(Entry(capability: CapabilityMapping.brightness, name: "ICAP_BRIGHTNESS", curValue: current("brightness"),
                                 range: Range(min: brightness.min, max: brightness.max, step: brightness.step)))
        }
        if let contrast = caps.contrast {
            entries.append(Entry(capability: CapabilityMapping.contrast, name: "ICAP_CONTRAST", curValue: current("contrast"),
                                 range: Range(min: contrast.min, max: contrast.max, step: contrast.step)))
        }
        if let width = caps.areaWidth, let height = caps.areaHeight {
            entries.append(Entry(capability: 0x1152, name: "ICAP_PHYSICALWIDTH", curValue: nil,
                                 range: Range(min: width.min, max: width.max, step: width.step)))
            entries.append(Entry(capability: 0x1153, name: "ICAP_PHYSICALHEIGHT", curValue: nil,
                                 range: Range(min: height.min, max: height.max, step: height.step)))
        }
        return entries
    }
}
