import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeOCR
import ScanBridgeStorage

/// Reads the text of a render's pages in one language: a result the source kept is reused; a
/// page not read yet goes to Tesseract on the OCR pool and its result is kept (for documents,
/// durably beside the page). Progress goes out as `ocr` events on `/api/events`.
struct PageRecognition: Sendable {
    let source: RenderSource
    let language: String
    let progress: OCRProgress?
    var pool: OCRPool = .shared

    /// The text of `reference`; `page` is its content when the caller has read it already.
    func recognise(_ reference: PageReference, page known: Page? = nil) async throws -> OCRPage {
        var pageUID: String?
        if let kept = source.recognitions {
            let found = try await kept.load(reference, language)
            pageUID = found.pageUID
            if let bytes = found.bytes, let result = try? OCRPage(decoding: bytes), result.language == language {
                progress?.publish(page: found.pageUID, state: "reused", percent: 100)
                return result
            }
        }
        let page = if let known { known } else { try await source.read(reference) }
        let image = try await PageRendering.image(of: page)
        let name = pageUID ?? Self.describe(reference)
        progress?.publish(page: name, state: "started", percent: 0)
        let result: OCRPage
        do {
            result = try await pool.recognize(image, language: language) { [progress] percent in
                progress?.publish(page: name, state: "running", percent: percent)
            }
        } catch is CancellationError {
            progress?.publish(page: name, state: "cancelled", percent: nil)
            throw CancellationError()
        } catch {
            progress?.publish(page: name, state: "failed", percent: nil)
            throw error
        }
        if let kept = source.recognitions, let pageUID {
            try await kept.store(pageUID, language, try result.encoded())
        }
        progress?.publish(page: name, state: "done", percent: 100)
        return result
    }

    private static func describe(_ reference: PageReference) -> String {
        switch reference {
        case .uid(let uid): uid
        case .index(let index): String(index)
        }
    }
}

/// Where a render's OCR progress is published: `ocr` events for the requesting origin.
struct OCRProgress: Sendable {
    let events: EventHub
    let origin: String?
    /// What is being rendered ("Document 1a2b…", "Job …").
    let source: String
    let language: String

    /// `state`: started, running, done, reused, cancelled or failed.
    func publish(page: String, state: String, percent: Int?) {
        events.publish("ocr", origin: origin, EventPayload.OCR(source: source, page: page, language: language, state: state, percent: percent))
    }
}
