import Foundation

/// The Tesseract language data installed on this machine (Debian's `tesseract-ocr-*` packages).
public enum OCRLanguages {
    /// Where the `.traineddata` files are: `TESSDATA_PREFIX` when set, else Debian's folder.
    public static let dataPath: String? = {
        if let prefix = ProcessInfo.processInfo.environment["TESSDATA_PREFIX"], !prefix.isEmpty { return prefix }
        let candidates = ["/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata"]
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }()

    /// Data sets that are not languages to read text in.
    private static let notLanguages: Set<String> = ["osd", "equ"]

    /// The languages text can be read in, sorted (`eng`, `deu`, …).
    public static var installed: [String] {
        guard let dataPath, let names = try? FileManager.default.contentsOfDirectory(atPath: dataPath) else { return [] }
        return names.filter { $0.hasSuffix(".traineddata") }
            .map { String($0.dropLast(".traineddata".count)) }
            .filter { !notLanguages.contains($0) }
            .sorted()
    }

    /// True when orientation and script detection data is installed, so pages turned by a
    /// quarter are read the right way up.
    public static var hasOrientationData: Bool {
        guard let dataPath else { return false }
        return FileManager.default.fileExists(atPath: dataPath + "/osd.traineddata")
    }

    /// `language` (one name, or several joined by `+`) when each part is installed; nil otherwise.
    public static func validated(_ language: String) -> String? {
        let parts = language.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        let installed = Set(installed)
        guard !parts.isEmpty, parts.allSatisfy({ installed.contains($0) }) else { return nil }
        return language
    }
}
