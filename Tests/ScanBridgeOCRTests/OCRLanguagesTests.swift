import Testing
@testable import ScanBridgeOCR

@Suite struct OCRLanguagesTests {
    @Test func englishIsInstalledAndValidated() {
        #expect(OCRLanguages.installed.contains("eng"))
        #expect(!OCRLanguages.installed.contains("osd"))
        #expect(OCRLanguages.validated("eng") == "eng")
        #expect(OCRLanguages.validated("eng+eng") == "eng+eng")
        #expect(OCRLanguages.validated("klingon") == nil)
        #expect(OCRLanguages.validated("eng+") == nil)
        #expect(OCRLanguages.validated("") == nil)
    }
}
