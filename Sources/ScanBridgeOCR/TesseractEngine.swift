import CTesseract
import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import Synchronization

/// What a running recognition looks at while Tesseract works: a flag that stops it, and a
/// callback that hears its progress. Tesseract calls back into it from the recognising thread.
final class RecognitionControl: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let lastProgress = Atomic<Int>(-1)
    let progress: @Sendable (Int) -> Void

    init(progress: @escaping @Sendable (Int) -> Void) { self.progress = progress }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
    func cancel() { cancelled.store(true, ordering: .releasing) }

    /// Passes `percent` on when it moved.
    func report(_ percent: Int) {
        if lastProgress.exchange(percent, ordering: .relaxed) != percent { progress(percent) }
    }
}

/// One Tesseract engine (`TessBaseAPI`) for one language. Not thread-safe: each lives on one
/// thread of the OCR pool and is only used there; its calls block for seconds per page.
final class TesseractEngine {
    private let handle: OpaquePointer
    let language: String

    init(language: String, dataPath: String?) throws {
        guard OCRLanguages.validated(language) != nil else {
            throw OCRError.engine("the OCR language \(language) is not installed (installed: \(OCRLanguages.installed.joined(separator: ", ")))")
        }
        guard let handle = TessBaseAPICreate() else { throw OCRError.engine("cannot create a Tesseract engine") }
        guard TessBaseAPIInit2(handle, dataPath, language, OEM_LSTM_ONLY) == 0 else {
            // Tesseract 5.3 crashes deleting an engine whose Init failed: the handle is left alone
            // (and the throw comes before `self` is whole, so deinit does not run).
            throw OCRError.engine("Tesseract cannot load the language \(language) from \(dataPath ?? "its default folder")")
        }
        self.handle = handle
        self.language = language
        // Tesseract prints "Estimating resolution" and similar notes to stderr: not the log's business.
        _ = TessBaseAPISetVariable(handle, "debug_file", "/dev/null")
    }

    deinit {
        TessBaseAPIEnd(handle)
        TessBaseAPIDelete(handle)
    }

    /// Reads `image` (any pixel format; its dpi tells Tesseract the text size). Pages turned by
    /// a quarter are read the right way up when orientation data is installed.
    func recognize(_ image: Image, control: RecognitionControl) throws -> OCRPage {
        // Colour goes in as its luma: Tesseract reads gray in the end, and given colour it
        // thresholds every channel and converts on its own, which costs 15–20 % more CPU a page
        // (measured with the tesseract command line on the same page in colour and in gray).
        var input: Image = switch image.format {
        case .gray8, .bw1: image
        case .rgb24, .rgb48, .gray16: image.converted(to: .gray8)
        }
        // Tesseract takes 1-bit rows as they are (bytes per pixel 0) but with 1 = white.
        if input.format == .bw1 { input.pixels = input.pixels.map { ~$0 } }
        let bytesPerPixel = input.format == .bw1 ? 0 : input.format.channels
        TessBaseAPISetPageSegMode(handle, OCRLanguages.hasOrientationData ? PSM_AUTO_OSD : PSM_AUTO)
        defer { TessBaseAPIClear(handle) }
        input.pixels.withUnsafeBufferPointer { pixels in
            TessBaseAPISetImage(handle, pixels.baseAddress, Int32(input.width), Int32(input.height),
                                Int32(bytesPerPixel), Int32(input.stride))
        }
        let dpi = Int32(max(70, min(2400, image.xDPI.rounded())))
        TessBaseAPISetSourceResolution(handle, dpi)

        guard let monitor = TessMonitorCreate() else { throw OCRError.engine("cannot create a Tesseract monitor") }
        defer { TessMonitorDelete(monitor) }
        let context = Unmanaged.passUnretained(control).toOpaque()
        TessMonitorSetCancelThis(monitor, context)
        TessMonitorSetCancelFunc(monitor) { context, _ in
            Unmanaged<RecognitionControl>.fromOpaque(context!).takeUnretainedValue().isCancelled
        }
        TessMonitorSetProgressFunc(monitor) { monitor, _, _, _, _ in
            guard let monitor, let context = TessMonitorGetCancelThis(monitor) else { return false }
            Unmanaged<RecognitionControl>.fromOpaque(context).takeUnretainedValue().report(Int(TessMonitorGetProgress(monitor)))
            return false
        }
        let status = withExtendedLifetime(control) { TessBaseAPIRecognize(handle, monitor) }
        if control.isCancelled { throw CancellationError() }
        guard status == 0 else { throw OCRError.engine("Tesseract could not read the page (status \(status))") }
        control.report(100)
        return OCRPage(width: image.width, height: image.height, language: language, lines: readLines())
    }

    /// Walks the recognised words, grouped into lines and paragraphs.
    private func readLines() -> [OCRLine] {
        guard let iterator = TessBaseAPIGetIterator(handle) else { return [] }
        defer { TessResultIteratorDelete(iterator) }
        var lines: [OCRLine] = []
        var paragraph = -1
        repeat {
            let page = TessResultIteratorGetPageIterator(iterator)
            guard let cText = TessResultIteratorGetUTF8Text(iterator, RIL_WORD) else { continue }
            let text = String(cString: cText).trimmingCharacters(in: .whitespacesAndNewlines)
            TessDeleteText(cText)
            if TessPageIteratorIsAtBeginningOf(page, RIL_PARA) != 0 || paragraph < 0 { paragraph += 1 }
            if TessPageIteratorIsAtBeginningOf(page, RIL_TEXTLINE) != 0 || lines.isEmpty {
                let baseline = Self.baseline(page)
                lines.append(OCRLine(box: Self.box(page, RIL_TEXTLINE) ?? OCRBox(left: 0, top: 0, right: 0, bottom: 0),
                                     baseline: baseline, quarterTurns: baseline.map(Self.quarterTurns) ?? 0,
                                     paragraph: paragraph, words: []))
            }
            guard !text.isEmpty, let box = Self.box(page, RIL_WORD) else { continue }
            let confidence = Double(TessResultIteratorConfidence(iterator, RIL_WORD))
            lines[lines.count - 1].words.append(OCRWord(text: text, box: box, confidence: max(0, min(100, confidence))))
        } while TessResultIteratorNext(iterator, RIL_WORD) != 0
        return lines.filter { !$0.words.isEmpty }
    }

    private static func box(_ page: OpaquePointer?, _ level: TessPageIteratorLevel) -> OCRBox? {
        var left: Int32 = 0, top: Int32 = 0, right: Int32 = 0, bottom: Int32 = 0
        guard TessPageIteratorBoundingBox(page, level, &left, &top, &right, &bottom) != 0, right > left, bottom > top else { return nil }
        return OCRBox(left: Int(left), top: Int(top), right: Int(right), bottom: Int(bottom))
    }

    private static func baseline(_ page: OpaquePointer?) -> OCRBaseline? {
        var x1: Int32 = 0, y1: Int32 = 0, x2: Int32 = 0, y2: Int32 = 0
        guard TessPageIteratorBaseline(page, RIL_TEXTLINE, &x1, &y1, &x2, &y2) != 0, x1 != x2 || y1 != y2 else { return nil }
        return OCRBaseline(x1: Int(x1), y1: Int(y1), x2: Int(x2), y2: Int(y2))
    }

    /// The direction a line's text runs, from its baseline, in quarter turns counter-clockwise
    /// (image y grows downwards, so it is flipped first).
    private static func quarterTurns(_ baseline: OCRBaseline) -> Int {
        let angle = atan2(Double(baseline.y1 - baseline.y2), Double(baseline.x2 - baseline.x1))
        return (Int((angle / (Double.pi / 2)).rounded()) + 4) % 4
    }
}

/// Why recognition failed.
public enum OCRError {
    /// The DWT code of OCR failures that are not the request's fault.
    public static let code = -1100

    static func engine(_ message: String) -> ScanBridgeError { ScanBridgeError(code: code, message: message) }
}
