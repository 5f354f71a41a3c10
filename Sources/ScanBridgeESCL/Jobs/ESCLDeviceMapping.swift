import ScanBridgeDevices

/// eSCL settings onto the DWT device mapping (`DeviceConfiguration` → SANE options), so an
/// eSCL job sets mode, resolution and source exactly as a DWT job with the same wishes would.
enum ESCLDeviceMapping {
    static func configuration(for settings: ESCLScanSettings) -> DeviceConfiguration {
        let pixelType: PixelType = switch settings.colorMode {
        case .rgb24: .rgb
        case .grayscale8: .gray
        case .blackAndWhite1: .blackWhite
        }
        // pageSize 0 is the whole area; a ScanRegion then narrows it.
        return DeviceConfiguration(pixelType: pixelType.rawValue,
                                   resolution: (settings.xResolution ?? settings.yResolution).map(Double.init),
                                   feederEnabled: settings.inputSource == .feeder,
                                   duplexEnabled: settings.inputSource == .feeder ? settings.duplex : nil,
                                   pageSize: 0)
    }

    /// The SANE geometry options (tl-x, tl-y, br-x, br-y in mm) for `region` (1/300 inch from
    /// the scanner's top-left corner), clipped to the area the scanner reaches. Empty when the
    /// scanner has no geometry options in mm (it then scans its whole area).
    static func area(_ region: ESCLScanSettings.Region, capabilities caps: ScannerCapabilities) -> [(String, Double)] {
        guard let width = caps.areaWidth, let height = caps.areaHeight,
              let brx = caps.option("br-x"), let bry = caps.option("br-y"), brx.unit == .mm, brx.isSettable, bry.isSettable else {
            return []
        }
        func mm(_ units: Int) -> Double { Double(units) / 300 * 25.4 }
        let left = min(width.min + mm(region.xOffset), width.max)
        let top = min(height.min + mm(region.yOffset), height.max)
        let right = min(left + mm(region.width), width.max)
        let bottom = min(top + mm(region.height), height.max)
        var settings: [(String, Double)] = []
        if let tlx = caps.option("tl-x"), tlx.isSettable { settings.append(("tl-x", tlx.nearestAllowed(left))) }
        if let tly = caps.option("tl-y"), tly.isSettable { settings.append(("tl-y", tly.nearestAllowed(top))) }
        settings.append(("br-x", brx.nearestAllowed(right)))
        settings.append(("br-y", bry.nearestAllowed(bottom)))
        return settings
    }
}
