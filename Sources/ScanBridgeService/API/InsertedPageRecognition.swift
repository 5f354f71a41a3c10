import ScanBridgeStorage

/// Pages inserted into a document created with an OCR language are read at once, in the
/// background, so that by the time the last page lands most of the document's text is kept and
/// its searchable PDF needs no more recognition. The insert's answer does not wait for it.
enum InsertedPageRecognition {
    /// Starts reading the `inserted` pages put at `position` (nil: at the end) into `info`'s
    /// document, when it has an OCR language.
    static func start(_ info: DocumentInfo, inserted: Int, at position: Int?, documents: DocumentStore, password: String?,
                      events: EventHub, origin: String?) {
        guard let language = info.options.ocrLanguage, inserted > 0 else { return }
        let first = position ?? (info.pages.count - inserted)
        guard first >= 0, first + inserted <= info.pages.count else { return }
        let uids = info.pages[first..<(first + inserted)].map(\.uid)
        let source = RenderSource.document(documents, uid: info.uid, password: password)
        let recognition = PageRecognition(source: source, language: language,
                                          progress: OCRProgress(events: events, origin: origin, source: source.name, language: language))
        Task {
            for uid in uids {
                // A page deleted meanwhile, or a store closing, ends the work; a later render
                // reads what is missing then.
                do { _ = try await recognition.recognise(.uid(uid)) } catch { return }
            }
        }
    }
}
