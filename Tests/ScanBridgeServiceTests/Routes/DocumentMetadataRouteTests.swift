import Foundation
import HTTPTypes
import Testing

extension RouteTests {
    @Suite("Document metadata")
    struct DocumentMetadataRoutes {
        /// The Info fields pdfinfo (poppler, nobody here wrote it) reads from `pdf`.
        static func pdfInfo(_ pdf: [UInt8]) async throws -> [String: String] {
            let result = try await ExternalTool.run("pdfinfo", ["{}"], on: pdf, name: "document.pdf")
            #expect(result.status == 0, "\(result.stderr)")
            var fields: [String: String] = [:]
            for line in result.stdout.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return fields
        }

        @Test("PATCH stores the fields, answers the document info with them, and PDFs default to them; the query still wins")
        func patchAndRender() async throws {
            try await RouteFixture.with { fixture in
                let job = try await fixture.scan(pages: 1, pixelType: 1)
                let url = try await fixture.nextPageURL(job)
                let uid = try await fixture.createDocument()
                #expect(try await fixture.send(.post, "/api/storage/documents/\(uid)/pages", json: #"{"source":"\#(url)"}"#).status == 200)

                let patched = try await fixture.send(.patch, "/api/storage/documents/\(uid)",
                                                     json: #"{"title":"Quarterly report","author":"Ada","subject":"Finance"}"#)
                #expect(patched.status == 200, "\(patched.text)")
                #expect(RouteFixture.pageUIDs(patched).count == 1 && patched.object["uid"] as? String == uid)
                let metadata = try #require(patched.object["metadata"] as? [String: String], "\(patched.text)")
                #expect(metadata == ["title": "Quarterly report", "author": "Ada", "subject": "Finance"])

                // An empty string removes a field; fields not named stay.
                let second = try await fixture.send(.patch, "/api/storage/documents/\(uid)", json: #"{"subject":"","creator":"Scanner desk"}"#)
                #expect(second.object["metadata"] as? [String: String] == ["title": "Quarterly report", "author": "Ada", "creator": "Scanner desk"])
                let info = try await fixture.send(.get, "/api/storage/documents/\(uid)")
                #expect(info.object["metadata"] as? [String: String] == ["title": "Quarterly report", "author": "Ada", "creator": "Scanner desk"])

                let pdf = try await fixture.send(.get, "/api/storage/documents/\(uid)/content")
                let fields = try await Self.pdfInfo(pdf.body)
                #expect(fields["Title"] == "Quarterly report" && fields["Author"] == "Ada" && fields["Creator"] == "Scanner desk", "\(fields)")
                #expect(fields["Subject"] == nil, "\(fields)")
                let overridden = try await fixture.send(.get, "/api/storage/documents/\(uid)/content?title=Draft")
                let overriddenFields = try await Self.pdfInfo(overridden.body)
                #expect(overriddenFields["Title"] == "Draft" && overriddenFields["Author"] == "Ada", "\(overriddenFields)")
            }
        }

        @Test("an encrypted document keeps its metadata sealed; errors: wrong password 403, unknown 404, bad JSON 400")
        func encryptedAndErrors() async throws {
            try await RouteFixture.with { fixture in
                let uid = try await fixture.createDocument(json: #"{"password":"s3cret"}"#)
                let password: HTTPFields = [HTTPField.Name("DWT-DOC-PASSWORD")!: "s3cret"]
                let patched = try await fixture.send(.patch, "/api/storage/documents/\(uid)", json: #"{"title":"Secret title"}"#, headers: password)
                #expect(patched.status == 200 && (patched.object["metadata"] as? [String: String])?["title"] == "Secret title", "\(patched.text)")
                let manifest = try String(contentsOfFile: fixture.folder.storage + "/\(uid)/manifest", encoding: .isoLatin1)
                #expect(!manifest.contains("Secret title") && manifest.contains("sealedMetadata"))
                let info = try await fixture.send(.get, "/api/storage/documents/\(uid)", headers: password)
                #expect((info.object["metadata"] as? [String: String])?["title"] == "Secret title")

                let wrong: HTTPFields = [HTTPField.Name("DWT-DOC-PASSWORD")!: "wrong"]
                expectDWTError(try await fixture.send(.patch, "/api/storage/documents/\(uid)", json: #"{"title":"x"}"#, headers: wrong),
                               status: 403, code: -1043)
                expectDWTError(try await fixture.send(.patch, "/api/storage/documents/zz0000000000", json: #"{"title":"x"}"#),
                               status: 404, code: -1040)
                expectDWTError(try await fixture.send(.patch, "/api/storage/documents/\(uid)", json: #"{"title":"#, headers: password),
                               status: 400, code: -2113)
                expectDWTError(try await fixture.send(.patch, "/api/storage/documents/\(uid)", json: #"{"title":7}"#, headers: password),
                               status: 400, code: -2113)
                expectDWTError(try await fixture.send(.patch, "/api/storage/documents/\(uid)", json: "", headers: password),
                               status: 400, code: -2113)
            }
        }
    }
}
