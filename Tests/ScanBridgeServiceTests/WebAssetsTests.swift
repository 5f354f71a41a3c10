import Foundation
import Testing
@testable import ScanBridgeService

/// The browser assets compiled into the binary (EmbedWebAssets) and the page templates.
struct WebAssetsTests {
    static let assetsFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ScanBridgeService/Web/Assets")

    @Test("every embedded asset is its file in Web/Assets, byte for byte", arguments: [
        ("scanbridge.js", WebAssets.scanbridgeJS), ("scanbridge.d.ts", WebAssets.scanbridgeDTS),
        ("demo.html", WebAssets.demoHTML), ("welcome.html", WebAssets.welcomeHTML),
    ])
    func embeddedAssetIsTheFile(file: String, embedded: String) throws {
        let onDisk = try Data(contentsOf: Self.assetsFolder.appendingPathComponent(file))
        #expect(Array(embedded.utf8) == Array(onDisk), "\(file)")
        #expect(onDisk.count > 1000)
    }

    @Test func slotsAreFilledInOnePassAndOtherBracesStay() {
        let template = PageTemplate("<p>{{A}} and {{B_C}}; startsWith(\"{{\") {{lower}} {{A}}</p>{{")
        #expect(template.slotNames == ["A", "B_C"])
        #expect(template.render(["A": "{{B_C}}", "B_C": "x<y"]) == "<p>{{B_C}} and x<y; startsWith(\"{{\") {{lower}} {{B_C}}</p>{{")
    }

    @Test func pagesHaveTheSlotsTheirRenderersFill() {
        #expect(Set(WebAssets.demo.slotNames) == ["ENDPOINTS", "SDK"])
        #expect(Set(ServicePage.template.slotNames) == [
            "MESSAGE", "VERSION", "API_VERSION", "IO_ENGINE", "UPTIME", "LOG_LEVEL", "SCANNERS", "CAMERAS", "LISTENERS",
            "TOKEN", "LOG_LEVEL_OPTIONS", "ALLOWED_ORIGINS", "CONFIGURATION_FILE", "SDK",
        ])
    }
}
