import Testing
@testable import ScanBridgeESCL

/// ScanSettings documents as eSCL clients send them, and the ones the service must refuse.
@Suite("eSCL ScanSettings")
struct ScanSettingsTests {
    /// The shape sane-airscan and macOS send: pwg:InputSource, scan:ColorMode, a region.
    static let feederRequest = """
        <?xml version="1.0" encoding="UTF-8"?>
        <scan:ScanSettings xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
          <pwg:Version>2.0</pwg:Version>
          <pwg:ScanRegions>
            <pwg:ScanRegion>
              <pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
              <pwg:XOffset>0</pwg:XOffset><pwg:YOffset>30</pwg:YOffset>
              <pwg:Width>2550</pwg:Width><pwg:Height>3300</pwg:Height>
            </pwg:ScanRegion>
          </pwg:ScanRegions>
          <pwg:InputSource>Feeder</pwg:InputSource>
          <scan:ColorMode>Grayscale8</scan:ColorMode>
          <pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>
          <scan:DocumentFormatExt>image/png</scan:DocumentFormatExt>
          <scan:XResolution>300</scan:XResolution>
          <scan:YResolution>300</scan:YResolution>
          <scan:Duplex>true</scan:Duplex>
        </scan:ScanSettings>
        """

    @Test func parsesEverySetting() throws {
        let settings = try ESCLScanSettings.parse(Array(Self.feederRequest.utf8))
        #expect(settings.inputSource == .feeder)
        #expect(settings.colorMode == .grayscale8)
        #expect(settings.xResolution == 300 && settings.yResolution == 300)
        // DocumentFormatExt wins over DocumentFormat.
        #expect(settings.documentFormat == .png)
        #expect(settings.duplex)
        #expect(settings.region == .init(xOffset: 0, yOffset: 30, width: 2550, height: 3300))
    }

    @Test func defaultsForAMinimalRequest() throws {
        let settings = try ESCLScanSettings.parse(Array("<ScanSettings><InputSource>Platen</InputSource></ScanSettings>".utf8))
        #expect(settings == ESCLScanSettings())
    }

    @Test(arguments: [
        ("", "empty"),
        ("<scan:ScanSettings><scan:ColorMode>RGB24</scan:ColorMode>", "not closed"),
        ("<scan:ScanSettings><a></b></scan:ScanSettings>", "closes"),
        ("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><scan:ScanSettings/>", "document type"),
        ("<scan:ScanSettings>&bogus;</scan:ScanSettings>", "unknown entity"),
        ("<scan:ScannerStatus/>", "expected scan:ScanSettings"),
        ("<ScanSettings><XResolution>high</XResolution></ScanSettings>", "XResolution"),
        ("<ScanSettings><Duplex>maybe</Duplex></ScanSettings>", "Duplex"),
        ("<ScanSettings><InputSource>Tray</InputSource></ScanSettings>", "InputSource"),
    ])
    func malformedIsABadRequest(body: String, fragment: String) {
        do {
            _ = try ESCLScanSettings.parse(Array(body.utf8))
            Issue.record("accepted \(body)")
        } catch let error as ESCLRequestError {
            #expect(error.description.contains(fragment), "\(error)")
        } catch {
            Issue.record("\(body): \(error) is not a bad request")
        }
    }

    @Test(arguments: [
        "<ScanSettings><DocumentFormatExt>image/tiff</DocumentFormatExt></ScanSettings>",
        "<ScanSettings><ColorMode>RGB48</ColorMode></ScanSettings>",
        "<ScanSettings><InputSource>Camera</InputSource></ScanSettings>",
        "<ScanSettings><InputSource>Platen</InputSource><Duplex>true</Duplex></ScanSettings>",
    ])
    func unsupportedIsAConflict(body: String) {
        #expect(throws: ESCLScanSettings.Unsupported.self) { try ESCLScanSettings.parse(Array(body.utf8)) }
    }

    @Test func deepNestingIsRefused() {
        let body = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: XMLSyntaxError.self) { try XMLTree.parse(Array(body.utf8)) }
    }

    @Test func textAndReferences() throws {
        let root = try XMLTree.parse(Array("<r a='1 &amp; 2'><x> &lt;&#65;&#x42;<![CDATA[<c>]]> </x><!-- c --><y/></r>".utf8))
        #expect(root.attributes["a"] == "1 & 2")
        #expect(root.value("x") == "<AB<c>")
        #expect(root.children.map(\.name) == ["x", "y"])
    }
}
