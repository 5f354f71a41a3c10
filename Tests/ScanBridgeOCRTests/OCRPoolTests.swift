import ScanBridgeImaging
import Testing
@testable import ScanBridgeOCR

@Suite struct OCRPoolTests {
    static let pool = OCRPool(threads: 1, name: "sb-ocr-test")

    @Test func aBlankPageHasNoLines() async throws {
        var blank = Image(width: 600, height: 800, format: .gray8, xDPI: 300, yDPI: 300)
        blank.pixels = [UInt8](repeating: 255, count: blank.byteCount)
        let result = try await Self.pool.recognize(blank, language: "eng")
        #expect(result.lines.isEmpty)
        #expect(result.text.isEmpty)
        #expect(result.width == 600 && result.height == 800 && result.language == "eng")
        #expect(result.textLayer.isEmpty)
    }

    @Test func aCancelledRequestDoesNotRead() async throws {
        let image = Image(width: 600, height: 800, format: .bw1, xDPI: 300, yDPI: 300)
        let task = Task { try await Self.pool.recognize(image, language: "eng") }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func anUnknownLanguageFailsClearly() async throws {
        let image = Image(width: 100, height: 100, format: .gray8, xDPI: 300, yDPI: 300)
        await #expect(throws: (any Error).self) { try await Self.pool.recognize(image, language: "zzz") }
    }

    @Test func resultsSurviveTheirStoredForm() throws {
        let page = OCRPage(width: 10, height: 20, language: "eng", lines: [
            OCRLine(box: OCRBox(left: 1, top: 2, right: 9, bottom: 8), baseline: OCRBaseline(x1: 1, y1: 7, x2: 9, y2: 7),
                    quarterTurns: 0, paragraph: 0,
                    words: [OCRWord(text: "a<b", box: OCRBox(left: 1, top: 2, right: 4, bottom: 8), confidence: 91.5)]),
            OCRLine(box: OCRBox(left: 1, top: 10, right: 9, bottom: 16), baseline: nil, quarterTurns: 0, paragraph: 1,
                    words: [OCRWord(text: "ç", box: OCRBox(left: 1, top: 10, right: 4, bottom: 16), confidence: 50)]),
        ])
        #expect(try OCRPage(decoding: page.encoded()) == page)
        #expect(page.text == "a<b\n\nç\n")
        let hocr = HOCRDocument.render([page], imageNames: ["p&1"])
        #expect(hocr.contains(#"title="bbox 1 2 4 8; x_wconf 92">a&lt;b</span>"#))
        #expect(hocr.contains("image &quot;p&amp;1&quot;; bbox 0 0 10 20"))
        #expect(hocr.components(separatedBy: "class=\"ocr_par\"").count == 3)
    }
}
