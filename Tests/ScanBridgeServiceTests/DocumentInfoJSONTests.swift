import Foundation
import Testing
@testable import ScanBridgeService

/// The document calls' answer is written by hand (`DocumentInfoResponse.json`); it must be the
/// JSON `Response.json` would write through `JSONEncoder`, byte for byte.
@Suite("Document info JSON")
struct DocumentInfoJSONTests {
    static func encoderOutput(_ response: DocumentInfoResponse) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(response), as: UTF8.self)
    }

    @Test("is the JSON JSONEncoder writes", arguments: [
        DocumentInfoResponse(uid: "d1", pageUIDs: []),
        DocumentInfoResponse(uid: "d2", pageUIDs: ["p1"]),
        DocumentInfoResponse(uid: "d3", pageUIDs: (0..<500).map { "page\($0)" }),
        // Not uids the store makes, but the writer must escape what it is given.
        DocumentInfoResponse(uid: "quote\"back\\slash/é", pageUIDs: ["tab\tnew\nline\u{1}", ""]),
    ])
    func matchesJSONEncoder(_ response: DocumentInfoResponse) throws {
        #expect(String(decoding: response.json, as: UTF8.self) == (try Self.encoderOutput(response)))
    }

    @Test func theShapeIsTheDWTOne() throws {
        let json = String(decoding: DocumentInfoResponse(uid: "d", pageUIDs: ["a", "b"]).json, as: UTF8.self)
        #expect(json == #"{"pages":[{"uid":"a"},{"uid":"b"}],"uid":"d"}"#)
    }
}
