import ScanBridgeDevices
import Testing
@testable import ScanBridgeESCL

/// The DNS-SD record the eSCL listener hands to Avahi. Publishing itself runs against a real
/// Avahi daemon in Tests/Conformance/test_escl_mdns.py.
@Suite("eSCL announcement record")
struct AnnouncementTests {
    static func txt(_ record: ESCLServiceRecord) -> [String: String] {
        Dictionary(uniqueKeysWithValues: record.txt.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        })
    }

    @Test func recordDescribesTheScanner() {
        let description = ESCLScannerDescription(scanner: DocumentTests.info, capabilities: DocumentTests.office)
        let record = ESCLServiceRecord(scanner: description, port: 18630, tls: false)
        #expect(record.type == "_uscan._tcp")
        #expect(record.port == 18630)
        let txt = Self.txt(record)
        #expect(record.txt.first == "txtvers=1")
        #expect(txt["rs"] == "eSCL")
        #expect(txt["ty"] == "Acme Office 1")
        #expect(txt["uuid"] == description.uuid)
        #expect(txt["vers"] == CapabilitiesDocument.version)
        #expect(txt["pdl"] == "image/jpeg,image/png,application/pdf")
        #expect(txt["cs"] == "color,grayscale,binary")
        #expect(txt["is"] == "platen,adf")
        #expect(txt["duplex"] == "T")
    }

    @Test func tlsListenerIsUscans() {
        let description = ESCLScannerDescription(scanner: DocumentTests.info, capabilities: DocumentTests.office)
        #expect(ESCLServiceRecord(scanner: description, port: 443, tls: true).type == "_uscans._tcp")
    }

    @Test func flatbedOnlyScanner() {
        var description = ESCLScannerDescription(scanner: DocumentTests.info, capabilities: DocumentTests.office)
        description.hasFeeder = false
        description.hasDuplex = false
        description.colorModes = [.grayscale8]
        let txt = Self.txt(ESCLServiceRecord(scanner: description, port: 1, tls: false))
        #expect(txt["is"] == "platen")
        #expect(txt["duplex"] == "F")
        #expect(txt["cs"] == "grayscale")
    }

    @Test func longEntriesFitOneTXTString() {
        let entry = ESCLServiceRecord.fitted("ty=" + String(repeating: "é", count: 200))
        #expect(entry.utf8.count <= 255)
        #expect(entry.hasPrefix("ty=é"))
    }

    @Test func protocolFollowsTheBindAddress() {
        #expect(ESCLAnnouncement.addressProtocol(bindAddress: "0.0.0.0") == .ipv4)
        #expect(ESCLAnnouncement.addressProtocol(bindAddress: "192.0.2.10") == .ipv4)
        #expect(ESCLAnnouncement.addressProtocol(bindAddress: "::") == .any)
        #expect(ESCLAnnouncement.addressProtocol(bindAddress: "2001:db8::1") == .ipv6)
    }
}
