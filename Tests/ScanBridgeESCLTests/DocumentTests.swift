import ScanBridgeDevices
import Testing
@testable import ScanBridgeESCL

/// ScannerCapabilities and ScannerStatus as the service writes them, read back with the
/// service's own XML reader; access lists and the LAN rule.
@Suite("eSCL documents and access")
struct DocumentTests {
    static func option(_ name: String, _ type: OptionDescriptor.ValueType, _ unit: OptionDescriptor.Unit = .none,
                       _ constraint: OptionDescriptor.Constraint) -> OptionDescriptor {
        OptionDescriptor(index: 0, name: name, title: name, summary: "", type: type, unit: unit, count: 1, size: 4,
                         isActive: true, isSettable: true, isAdvanced: false, constraint: constraint)
    }

    static let office = ScannerCapabilities(options: [
        option("mode", .string, .none, .strings(["Lineart", "Gray", "Color"])),
        option("depth", .int, .bit, .numbers([1, 8])),
        option("resolution", .int, .dpi, .range(min: 50, max: 600, quant: 50)),
        option("source", .string, .none, .strings(["Flatbed", "ADF Front", "ADF Duplex"])),
        option("tl-x", .fixed, .mm, .range(min: 0, max: 215.9, quant: 0)),
        option("tl-y", .fixed, .mm, .range(min: 0, max: 297, quant: 0)),
        option("br-x", .fixed, .mm, .range(min: 0, max: 215.9, quant: 0)),
        option("br-y", .fixed, .mm, .range(min: 0, max: 297, quant: 0)),
    ], values: ["source": .string("Flatbed")])

    static let info = DeviceIdentity.scanners(from: [.init(name: "acme:0", vendor: "Acme", model: "Office 1", type: "flatbed scanner")])[0]

    @Test func capabilitiesDescribeTheScanner() throws {
        let description = ESCLScannerDescription(scanner: Self.info, capabilities: Self.office)
        let root = try XMLTree.parse(CapabilitiesDocument.render(description))
        #expect(root.name == "scan:ScannerCapabilities")
        #expect(root.value("MakeAndModel") == "Acme Office 1")
        #expect(root.value("UUID") == ESCLScannerDescription.uuid(for: Self.info.id))
        #expect(root.value("SerialNumber") == Self.info.id)
        let platen = try #require(root.child("Platen")?.child("PlatenInputCaps"))
        #expect(platen.value("MaxWidth") == "2550")  // 215.9 mm = 8.5 in
        #expect(platen.value("MaxHeight") == "3507")
        let profile = try #require(platen.child("SettingProfiles")?.child("SettingProfile"))
        #expect(profile.child("ColorModes")?.children.map(\.text) == ["RGB24", "Grayscale8", "BlackAndWhite1"])
        let resolutions = profile.child("SupportedResolutions")?.child("DiscreteResolutions")?.children.compactMap { $0.value("XResolution") }
        #expect(resolutions == ["100", "150", "200", "300", "400", "600"])
        let formats = profile.child("DocumentFormats")?.children.filter { $0.localName == "DocumentFormatExt" }.map(\.text)
        #expect(formats == ["image/jpeg", "image/png", "application/pdf"])
        let adf = try #require(root.child("Adf"))
        #expect(adf.child("AdfSimplexInputCaps") != nil && adf.child("AdfDuplexInputCaps") != nil)
    }

    @Test func uuidIsStableAndWellFormed() {
        let uuid = ESCLScannerDescription.uuid(for: "x")
        #expect(uuid == ESCLScannerDescription.uuid(for: "x"))
        #expect(uuid != ESCLScannerDescription.uuid(for: "y"))
        #expect(uuid.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
    }

    @Test func statusListsJobs() throws {
        let job = ESCLJobInfo(uuid: "j1", ageSeconds: 3, imagesCompleted: 2, imagesToTransfer: 1, state: .processing, reason: "JobScanning")
        let root = try XMLTree.parse(StatusDocument.render(busy: true, adfState: "ScannerAdfLoaded", jobs: [job], jobPath: { "/eSCL/ScanJobs/\($0)" }))
        #expect(root.value("State") == "Processing")
        #expect(root.value("AdfState") == "ScannerAdfLoaded")
        let info = try #require(root.child("Jobs")?.child("JobInfo"))
        #expect(info.value("JobUri") == "/eSCL/ScanJobs/j1" && info.value("JobState") == "Processing")
    }

    @Test func accessListsMatchNetworks() throws {
        let list = try ESCLAccessList(parsing: "192.168.1.0/24, 10.0.0.7, fd00::/8")
        #expect(list.contains("192.168.1.200") && !list.contains("192.168.2.1"))
        #expect(list.contains("10.0.0.7") && !list.contains("10.0.0.8"))
        #expect(list.contains("fd12::1") && !list.contains("fe80::1"))
        #expect(list.contains("::ffff:192.168.1.9"))
        #expect(throws: ESCLSettingsError.self) { try ESCLAccessList(parsing: "192.168.1.0/33") }
        #expect(throws: ESCLSettingsError.self) { try ESCLAccessList(parsing: "scanner.local") }
    }

    @Test func aNetworkAddressNeedsConsentTLSAndAList() throws {
        var settings = ESCLSettings()
        try settings.validate()
        settings.bindAddress = "0.0.0.0"
        #expect(throws: ESCLSettingsError.self) { try settings.validate() }
        settings.allowLAN = true
        settings.useTLS = true
        #expect(throws: ESCLSettingsError.self) { try settings.validate() }
        settings.allowedClients = try ESCLAccessList(parsing: "192.168.1.0/24")
        try settings.validate()
        settings.useTLS = false
        #expect(throws: ESCLSettingsError.self) { try settings.validate() }
    }

    @Test func hostNames() {
        #expect(ESCLAccess.hostName("127.0.0.1:18630") == "127.0.0.1")
        #expect(ESCLAccess.hostName("[::1]:18630") == "::1")
        #expect(ESCLAccess.hostName("localhost") == "localhost")
        #expect(ESCLAccessList.isLoopback("127.3.0.1") && ESCLAccessList.isLoopback("::1") && !ESCLAccessList.isLoopback("0.0.0.0"))
    }
}
