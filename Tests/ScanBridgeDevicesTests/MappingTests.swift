import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import Testing

/// DeviceConfiguration → ScanPlan, synchronously, on capability models built from descriptors.
@Suite("Configuration mapping")
struct MappingTests {
    static func option(_ name: String, _ type: OptionDescriptor.ValueType, _ unit: OptionDescriptor.Unit = .none,
                       _ constraint: OptionDescriptor.Constraint) -> OptionDescriptor {
        OptionDescriptor(index: 0, name: name, title: name, summary: "", type: type, unit: unit, count: 1, size: 4,
                         isActive: true, isSettable: true, isAdvanced: false, constraint: constraint)
    }

    /// A typical duplex office scanner: Lineart/Gray/Color, list of resolutions, A4-wide area,
    /// brightness and contrast.
    static let office = ScannerCapabilities(options: [
        option("mode", .string, .none, .strings(["Lineart", "Gray", "Color"])),
        option("depth", .int, .bit, .numbers([8, 16])),
        option("resolution", .int, .dpi, .numbers([75, 150, 300, 600])),
        option("source", .string, .none, .strings(["Flatbed", "ADF Front", "ADF Duplex"])),
        option("tl-x", .fixed, .mm, .range(min: 0, max: 215.9, quant: 0)),
        option("tl-y", .fixed, .mm, .range(min: 0, max: 355.6, quant: 0)),
        option("br-x", .fixed, .mm, .range(min: 0, max: 215.9, quant: 0)),
        option("br-y", .fixed, .mm, .range(min: 0, max: 355.6, quant: 0)),
        option("brightness", .int, .none, .range(min: -100, max: 100, quant: 1)),
        option("contrast", .int, .none, .range(min: -100, max: 100, quant: 1)),
    ], values: ["source": .string("Flatbed"), "mode": .string("Color")])

    /// Flatbed-only colour scanner without depth or area options.
    static let simple = ScannerCapabilities(options: [
        option("mode", .string, .none, .strings(["Color"])),
        option("resolution", .fixed, .dpi, .range(min: 50, max: 1200, quant: 50)),
    ], values: [:])

    func setting(_ plan: ScanPlan, _ name: String) -> OptionValue? { plan.settings.last { $0.option == name }?.value }

    @Test func capabilityModel() {
        let caps = Self.office
        #expect(caps.pixelTypes == [.blackWhite, .gray, .rgb])
        #expect(caps.hasFeeder && caps.hasDuplex)
        #expect(caps.sources.map(\.kind) == [.flatbed, .feeder, .feederDuplex])
        #expect(caps.resolutions == .list([75, 150, 300, 600]))
        #expect(caps.brightness == NumericRange(min: -100, max: 100, step: 1))
        #expect(Self.simple.pixelTypes == [.rgb])
    }

    @Test func fullRequestMapsWithoutAdjustments() throws {
        let plan = try ScanConfigurationMapper.plan(
            DeviceConfiguration(pixelType: 2, resolution: 300, feederEnabled: true, duplexEnabled: true, pageSize: 1,
                                transferCount: 20, brightness: 500, contrast: -1000),
            capabilities: Self.office)
        #expect(plan.adjustments.isEmpty)
        #expect(setting(plan, "source") == .string("ADF Duplex") && plan.usesFeeder && plan.duplex)
        #expect(setting(plan, "mode") == .string("Color") && setting(plan, "depth") == .number(8))
        #expect(setting(plan, "resolution") == .number(300))
        #expect(setting(plan, "br-x") == .number(210) && setting(plan, "br-y") == .number(297))
        #expect(setting(plan, "brightness") == .number(50) && setting(plan, "contrast") == .number(-100))
        #expect(plan.maxPages == 20)
        // Source first, then mode before depth and resolution (mode can change their constraints).
        #expect(plan.settings.map(\.option).prefix(3) == ["source", "mode", "depth"])
    }

    @Test func resolutionRoundsToNearestOfferedAndIsReported() throws {
        let plan = try ScanConfigurationMapper.plan(DeviceConfiguration(resolution: 200), capabilities: Self.office)
        #expect(setting(plan, "resolution") == .number(150))
        #expect(plan.adjustments.map(\.field) == ["Resolution"])
        #expect(plan.adjustments[0].requested == "200" && plan.adjustments[0].applied == "150")
        let ranged = try ScanConfigurationMapper.plan(DeviceConfiguration(resolution: 2400), capabilities: Self.simple)
        #expect(setting(ranged, "resolution") == .number(1200) && ranged.adjustments.count == 1)
        let quantised = try ScanConfigurationMapper.plan(DeviceConfiguration(resolution: 310), capabilities: Self.simple)
        #expect(setting(quantised, "resolution") == .number(300))
    }

    @Test func blackAndWhitePrefersLineart() throws {
        let plan = try ScanConfigurationMapper.plan(DeviceConfiguration(pixelType: 0), capabilities: Self.office)
        #expect(setting(plan, "mode") == .string("Lineart") && setting(plan, "depth") == nil)
    }

    @Test func refusals() {
        let cases: [(DeviceConfiguration, ScannerCapabilities, Int)] = [
            (DeviceConfiguration(pixelType: 0), Self.simple, DeviceErrorCode.capabilityNotSupported),
            (DeviceConfiguration(pixelType: 7), Self.office, DeviceErrorCode.capabilityNotSupported),
            (DeviceConfiguration(feederEnabled: true), Self.simple, DeviceErrorCode.capabilityNotSupported),
            (DeviceConfiguration(resolution: -5), Self.office, DeviceErrorCode.valueOutOfRange),
            (DeviceConfiguration(pageSize: 999), Self.office, DeviceErrorCode.valueOutOfRange),
            (DeviceConfiguration(brightness: 5000), Self.office, DeviceErrorCode.valueOutOfRange),
            (DeviceConfiguration(transferCount: -7), Self.office, DeviceErrorCode.valueOutOfRange),
        ]
        for (config, caps, code) in cases {
            do {
                _ = try ScanConfigurationMapper.plan(config, capabilities: caps)
                Issue.record("accepted \(config)")
            } catch let error as ScanBridgeError {
                #expect(error.code == code, "\(config)")
                #expect(!error.message.isEmpty)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func whatCannotBeHonouredIsReportedNotDropped() throws {
        let json = #"{"IfShowUI": true, "IfDuplexEnabled": true, "PageSize": 4, "Brightness": 100, "Contrast": 0, "XferCount": 5, "IfAutoDiscardBlankpages": true, "Mystery": 3}"#
        let config = try JSONDecoder().decode(DeviceConfiguration.self, from: Data(json.utf8))
        #expect(config.unrecognizedFields == ["Mystery"])
        let plan = try ScanConfigurationMapper.plan(config, capabilities: Self.simple)
        let fields = plan.adjustments.map(\.field)
        #expect(fields.contains("IfShowUI") && fields.contains("IfDuplexEnabled") && fields.contains("PageSize"))
        #expect(fields.contains("Brightness") && !fields.contains("Contrast"))  // 0 is the neutral value
        #expect(fields.contains("XferCount") && plan.maxPages == 1)          // flatbed: one page
        #expect(fields.contains("IfAutoDiscardBlankpages") && fields.contains("Mystery"))
        #expect(plan.adjustments.allSatisfy { !$0.reason.isEmpty })
    }

    @Test func pageSizeIsClippedToTheDevice() throws {
        // US Legal on a 200 × 200 mm device.
        let small = ScannerCapabilities(options: [
            Self.option("br-x", .fixed, .mm, .range(min: 0, max: 200, quant: 1)),
            Self.option("br-y", .fixed, .mm, .range(min: 0, max: 200, quant: 1)),
            Self.option("tl-x", .fixed, .mm, .range(min: 0, max: 200, quant: 1)),
            Self.option("tl-y", .fixed, .mm, .range(min: 0, max: 200, quant: 1)),
        ], values: [:])
        let plan = try ScanConfigurationMapper.plan(DeviceConfiguration(pageSize: 4), capabilities: small)
        #expect(setting(plan, "br-x") == .number(200) && setting(plan, "br-y") == .number(200))
        #expect(plan.adjustments.first?.field == "PageSize")
        #expect(plan.adjustments.first?.applied == "200×200 mm")
        let a5 = try ScanConfigurationMapper.plan(DeviceConfiguration(pageSize: 5), capabilities: small)
        #expect(setting(a5, "br-x") == .number(148) && a5.adjustments.count == 1)  // 210 mm high: clipped
    }

    @Test func pageOrigins() {
        let duplex = (1...4).map { ScannedPage.Origin.of(page: $0, sourceKind: .feederDuplex, usesFeeder: true) }
        #expect(duplex == [.feederFront, .feederBack, .feederFront, .feederBack])
        #expect(ScannedPage.Origin.of(page: 2, sourceKind: .feeder, usesFeeder: true) == .feederFront)
        #expect(ScannedPage.Origin.of(page: 1, sourceKind: .flatbed, usesFeeder: false) == .flatbed)
        #expect(ScannedPage.Origin.of(page: 1, sourceKind: nil, usesFeeder: false) == .other)
        #expect(ScanSource(name: "ADF Back").kind == .feederBack && ScanSource(name: "Transparency Unit").kind == .other)
    }

    @Test func identitiesAreStableAndJSONSafe() throws {
        let reported: [DeviceIdentity.Reported] = [
            .init(name: "genesys:libusb:001:007", vendor: "Canon", model: "LiDE 220", type: "flatbed scanner"),
            .init(name: "genesys:libusb:003:002", vendor: "Canon", model: "LiDE 220", type: "flatbed scanner"),
            .init(name: "test:0", vendor: "Noname", model: "frontend-tester", type: "virtual device"),
            .init(name: "escl:https://192.168.1.5:443", vendor: "HP", model: "Laser \"MFP\"", type: "network"),
        ]
        let first = DeviceIdentity.scanners(from: reported)
        #expect(first.map(\.id) == ["sane:usb:genesys:Canon:LiDE%20220", "sane:usb:genesys:Canon:LiDE%20220#2",
                                    "sane:test:0", "sane:escl:https://192.168.1.5:443"])
        // Replugged: bus numbers change, identities do not.
        let replugged = DeviceIdentity.scanners(from: [
            .init(name: "genesys:libusb:002:011", vendor: "Canon", model: "LiDE 220", type: "flatbed scanner"),
        ])
        #expect(replugged[0].id == first[0].id)
        // JSON round trip leaves them unchanged and unescaped.
        let data = try JSONEncoder().encode(first.map(\.id))
        #expect(!String(decoding: data, as: UTF8.self).contains("\\u"))
        #expect(try JSONDecoder().decode([String].self, from: data) == first.map(\.id))
        #expect(first[0].displayName == "Canon LiDE 220 (genesys:libusb:001:007)")
        #expect(first[3].displayName == "HP Laser \"MFP\"")
    }
}
