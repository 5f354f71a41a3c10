import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeStorage

@Suite("Manifest JSON")
struct ManifestJSONTests {
    static func page(_ index: Int, mediaType: String? = "image/png", sha256: String? = String(repeating: "ab", count: 32)) -> PageDetails {
        PageDetails(uid: "p\(index)", width: 2480 + index, height: 3507, format: "bw1", xDPI: 300, yDPI: 299.9994 + Double(index),
                    mediaType: mediaType, byteCount: 8_700 * index, sha256: sha256)
    }

    static let plain = Manifest(format: 1, uid: "d0cafe", created: 1_796_000_000.123456, encryption: nil,
                                pages: (0..<5).map { ManifestPage(uid: "p\($0)", file: "p\($0).page") },
                                details: (0..<5).map { page($0, mediaType: $0 == 2 ? nil : "image/png", sha256: $0 == 3 ? nil : String(repeating: "ab", count: 32)) },
                                sealedDetails: nil)
    static let sealed = Manifest(format: 1, uid: "d1", created: 0, encryption: EncryptionParameters(kdf: "scrypt", n: 1 << 15, r: 8, p: 1, salt: "c2FsdA==", check: "Y2hlY2s="),
                                 pages: [], details: nil, sealedDetails: "c2VhbGVk+/=")
    /// Strings a manifest never holds today, written as JSON must write them.
    static let awkward = Manifest(format: 2, uid: "quote\" backslash\\ slash/ tab\t nl\n cr\r bell\u{7} é 文", created: -0.5, encryption: nil,
                                  pages: [ManifestPage(uid: "", file: "\u{0}")], details: [page(1)], sealedDetails: nil)
    static let empty = Manifest(format: 1, uid: "e", created: 1e300, encryption: nil, pages: [], details: [], sealedDetails: nil)
    static let withOptions = Manifest(format: 1, uid: "o", created: 1, encryption: nil, pages: [], details: [], sealedDetails: nil,
                                      options: DocumentOptions(ocrLanguage: "eng+deu", pdfA: true))
    static let pdfAOnly = Manifest(format: 1, uid: "a", created: 1, encryption: nil, pages: [], details: [], sealedDetails: nil,
                                   options: DocumentOptions(pdfA: true))

    @Test("reads back as the same manifest, and as the same JSON object JSONEncoder writes", arguments: [plain, sealed, awkward, empty, withOptions, pdfAOnly])
    func roundTrip(manifest: Manifest) throws {
        let ours = try ManifestJSON.encode(manifest)
        #expect(try JSONDecoder().decode(Manifest.self, from: Data(ours)) == manifest)
        let theirs = try JSONEncoder().encode(manifest)
        let ourObject = try JSONSerialization.jsonObject(with: Data(ours)) as? NSDictionary
        let theirObject = try JSONSerialization.jsonObject(with: theirs) as? NSDictionary
        #expect(ourObject != nil && ourObject == theirObject, "\(String(decoding: ours, as: UTF8.self))")
    }

    @Test("a dpi that is not a finite number is refused, not written as invalid JSON")
    func nonFiniteValues() {
        for value in [Double.nan, .infinity, -.infinity] {
            var manifest = Self.plain
            manifest.details![1].xDPI = value
            #expect(throws: JSONWriter.NonFiniteNumber.self) { try ManifestJSON.encode(manifest) }
        }
    }
}
