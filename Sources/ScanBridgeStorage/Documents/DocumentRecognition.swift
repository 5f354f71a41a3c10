import ScanBridgeCore

/// What OCR found on a stored page, kept beside the page so that a page is recognised once and
/// every later render reuses it: one file per page and language, `<page uid>.ocr-<language>`,
/// in the page file's container format, sealed with the document key when the document is
/// encrypted (bound to the document, page and language). Page content never changes under a
/// uid, so a result stays valid for the page's life; a deleted page's results are removed with
/// it, or by the next recovery.
extension DocumentFiles {
    static let recognitionMarker = ".ocr-"

    /// The stored result for `pageUID` in `language`, nil when there is none.
    func recognition(of reference: PageReference, in uid: String, language: String,
                     password: String?) throws(ScanBridgeError) -> (pageUID: String, bytes: [UInt8]?) {
        let document = try unlock(uid, password: password)
        let pageUID = document.manifest.pages[try resolve(reference, in: document)].uid
        let path = try recognitionPath(uid: uid, pageUID: pageUID, language: language)
        guard (try? Posix.kind(path)) == .file else { return (pageUID, nil) }
        do throws(Container.Failure) {
            let parts = try Container.read(path: path, key: document.key, aad: Self.recognitionAAD(uid, pageUID, language))
            return (pageUID, parts.payload)
        } catch {
            // A result that cannot be read is recognised again, not an error of the render.
            return (pageUID, nil)
        }
    }

    /// Stores `bytes` as the result for `pageUID` in `language`, durably, replacing any earlier
    /// one. Nothing is stored when the page is gone by now.
    func storeRecognition(_ bytes: [UInt8], pageUID: String, in uid: String, language: String,
                          password: String?) throws(ScanBridgeError) {
        let document = try unlock(uid, password: password)
        guard document.manifest.pages.contains(where: { $0.uid == pageUID }) else { return }
        let path = try recognitionPath(uid: uid, pageUID: pageUID, language: language)
        let folder = root + "/" + uid
        let temporary = folder + "/.tmp-" + Identifier.random()
        do throws(Container.Failure) {
            try Container.write(path: temporary, header: Array(language.utf8), payload: bytes, key: document.key,
                                aad: Self.recognitionAAD(uid, pageUID, language), durable: true)
        } catch {
            throw .container(error, writing: true, what: "the text of page \(pageUID)")
        }
        do throws(SystemCallError) {
            try Posix.rename(temporary, path)
            try Posix.fsyncDirectory(folder)
        } catch {
            try? Posix.unlink(temporary)
            throw .file(error, writing: true, what: "the text of page \(pageUID)")
        }
    }

    /// Removes every stored result of `pageUID`.
    func removeRecognitions(pageUID: String, in uid: String) {
        let folder = root + "/" + uid
        for file in (try? Posix.list(folder)) ?? [] where file.hasPrefix(pageUID + Self.recognitionMarker) {
            try? Posix.unlink(folder + "/" + file)
        }
    }

    /// True when `file` is a stored result of one of `pages` (page file names), which recovery keeps.
    static func isRecognition(_ file: String, ofOneOf pages: Set<String>) -> Bool {
        guard let marker = file.range(of: recognitionMarker) else { return false }
        return pages.contains(String(file[..<marker.lowerBound]) + ".page")
    }

    private func recognitionPath(uid: String, pageUID: String, language: String) throws(ScanBridgeError) -> String {
        // Language names become part of a file name: letters, digits, '_' and '+' only.
        guard !language.isEmpty, language.utf8.count <= 64,
              language.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "+") }) else {
            throw .storage(StorageErrorCode.readFailed, "The OCR language name \(language) is not valid.")
        }
        return root + "/" + uid + "/" + pageUID + Self.recognitionMarker + language
    }

    private static func recognitionAAD(_ uid: String, _ pageUID: String, _ language: String) -> [UInt8] {
        Array("ocr:\(uid)/\(pageUID)/\(language)".utf8)
    }
}

extension DocumentStore {
    /// What OCR found on a page in `language` (stored with `storeRecognition`), and the page's
    /// uid; nil bytes when the page was not recognised in that language yet.
    public func recognition(of page: PageReference, in uid: String, language: String,
                            password: String? = nil) async throws(ScanBridgeError) -> (pageUID: String, bytes: [UInt8]?) {
        try await perform { (files) throws(ScanBridgeError) in
            try files.recognition(of: page.files, in: uid, language: language, password: password)
        }
    }

    /// Keeps what OCR found on page `pageUID` in `language`, durably and (for an encrypted
    /// document) sealed like its pages.
    public func storeRecognition(_ bytes: [UInt8], pageUID: String, in uid: String, language: String,
                                 password: String? = nil) async throws(ScanBridgeError) {
        try await perform { (files) throws(ScanBridgeError) in
            try files.storeRecognition(bytes, pageUID: pageUID, in: uid, language: language, password: password)
        }
    }
}
