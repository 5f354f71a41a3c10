import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeService

@Suite("Legacy /DWTAPI bodies")
struct LegacyModelsTests {
    private func decode(_ json: String) throws -> LegacyScanJobRequest {
        try JSONDecoder().decode(LegacyScanJobRequest.self, from: Data(json.utf8))
    }

    @Test func theScannerIsNamedByStringEntryOrEntryAsJSONString() throws {
        #expect(try decode(#"{"device": "sane:test:0"}"#).device?.text == "sane:test:0")
        #expect(try decode(#"{"device": {"name": "Scanner A", "device": "sane:test:1", "type": 256}}"#).device?.text == "sane:test:1")
        #expect(try decode(#"{"device": "{\"name\": \"Scanner A\", \"type\": 256}"}"#).device?.text == "Scanner A")
        // The current API's device string (the scanner's details) names the scanner by its id.
        #expect(try decode(#"{"device": "{\"id\": \"sane:test:1\", \"name\": \"Scanner A\"}"}"#).device?.text == "sane:test:1")
        #expect(try decode(#"{"scanner": "Scanner B"}"#).scanner?.text == "Scanner B")
        #expect(throws: DecodingError.self) { try decode(#"{"device": {"type": 256}}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"device": 5}"#) }
    }

    @Test func theJobIsStartedWithTheLegacyFields() throws {
        let body = try decode(#"{"license": "k", "scannerFailureTimeout": 7, "config": {"IfShowUI": false, "PixelType": 2, "Resolution": 200, "IfFeederEnabled": true, "IfDuplexEnabled": false}}"#)
        #expect(body.license == "k")
        let options = body.options(device: "sane:test:0")
        #expect(options.autoRun == true && options.device == "sane:test:0" && options.scannerFailureTimeout == 7)
        #expect(options.config?.pixelType == 2 && options.config?.resolution == 200 && options.config?.feederEnabled == true)
        #expect(options.config?.duplexEnabled == false && options.config?.showUI == false)
    }

    @Test func typeMasks() throws {
        #expect(try ScannerEntry.typeMask(nil) == 0x100)
        #expect(try ScannerEntry.typeMask("") == 0x100)
        #expect(try ScannerEntry.typeMask("80") == 80)
        #expect(try ScannerEntry.typeMask("0x100") == 0x100)
        #expect(throws: ScanBridgeError.self) { try ScannerEntry.typeMask("-1") }
        #expect(throws: ScanBridgeError.self) { try ScannerEntry.typeMask("sane") }
    }
}
