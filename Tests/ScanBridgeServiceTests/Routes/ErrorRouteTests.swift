import Foundation
import HTTPTypes
import Testing

extension RouteTests {
    /// Error answers in the DWT shape `{code, message, statusCode}`.
    @Suite("Error answers")
    struct Errors {
        @Test("an unknown job is 404 (-1034) on every job route")
        func unknownJob() async throws {
            try await RouteFixture.with { fixture in
                let job = "/api/device/scanners/jobs/no-such-job"
                expectDWTError(try await fixture.send(.get, job), status: 404, code: -1034)
                expectDWTError(try await fixture.send(.get, job + "/next-page"), status: 404, code: -1034)
                expectDWTError(try await fixture.send(.get, job + "/next-page-info"), status: 404, code: -1034)
                expectDWTError(try await fixture.send(.patch, job, json: #"{"status":"running"}"#), status: 404, code: -1034)
                expectDWTError(try await fixture.send(.delete, job), status: 404, code: -1034)
                expectDWTError(try await fixture.send(.post, "/api/device/scanners/jobs", json: #"{"device":"sane:nonexistent:9"}"#),
                               status: 404, code: -1003)
            }
        }

        @Test("a body that is not the JSON a route takes is 400 (-2113)", arguments: [
            ("/api/device/scanners/jobs", HTTPRequest.Method.post, "not json"),
            ("/api/device/scanners/jobs", .post, #"{"device":"sane:test:0","scannerFailureTimeout":0}"#),
            ("/api/device/scanners/jobs", .post, #"{"device":"sane:test:0","autoRun":"yes"}"#),
            ("/api/server", .patch, "{"),
            ("/api/server", .patch, #"{"logLevel":"loud"}"#),
            ("/api/storage/documents", .post, "[]"),
            ("/api/process/check-blank", .post, "{}"),
        ])
        func badJSON(path: String, method: HTTPRequest.Method, body: String) async throws {
            try await RouteFixture.with { fixture in
                expectDWTError(try await fixture.send(method, path, json: body), status: 400, code: -2113)
            }
        }

        @Test("a path that exists with other methods is 405 (-2112) with Allow", arguments: [
            ("/api/server", HTTPRequest.Method.delete, "GET, PATCH"),
            ("/api/server/version", .post, "GET"),
            ("/api/device/scanners", .put, "GET"),
            ("/api/device/scanners/jobs", .get, "POST"),
            ("/api/storage/documents/x", .put, "GET, PATCH, DELETE"),
            ("/api/process/check-blank", .get, "POST"),
        ])
        func wrongMethod(path: String, method: HTTPRequest.Method, allowed: String) async throws {
            try await RouteFixture.with { fixture in
                let response = try await fixture.send(method, path)
                expectDWTError(response, status: 405, code: -2112)
                #expect(response[.allow] == allowed)
                #expect((response.object["message"] as? String)?.contains(allowed) == true, "\(response.text)")
            }
        }

        @Test("an operation outside /api/process/{operation}'s list is 400 (-2113), as Dynamsoft's document declares; other methods 405")
        func unknownOperation() async throws {
            try await RouteFixture.with { fixture in
                let unknown = try await fixture.send(.post, "/api/process/no-such-operation", json: #"{"source":"x"}"#)
                expectDWTError(unknown, status: 400, code: -2113)
                #expect((unknown.object["message"] as? String)?.contains("no-such-operation") == true, "\(unknown.text)")
                let wrongMethod = try await fixture.send(.get, "/api/process/no-such-operation")
                expectDWTError(wrongMethod, status: 405, code: -2112)
                #expect(wrongMethod[.allow] == "POST")
                // The literal operations still answer for themselves.
                let checkBlank = try await fixture.send(.post, "/api/process/check-blank", json: "{}")
                expectDWTError(checkBlank, status: 400, code: -2113)
                #expect((checkBlank.object["message"] as? String)?.contains("not a processing operation") == false, "\(checkBlank.text)")
            }
        }

        @Test("an unknown route is 404 in the DWT shape")
        func unknownRoute() async throws {
            try await RouteFixture.with { fixture in
                let response = try await fixture.send(.get, "/api/no/such/route")
                expectDWTError(response, status: 404, code: -1)
                #expect((response.object["message"] as? String)?.contains("/api/no/such/route") == true, "\(response.text)")
                expectDWTError(try await fixture.send(.get, "/nothing-here"), status: 404, code: -1)
            }
        }

        @Test("job steps out of sequence are 409 (-1011); a second job on a held scanner is 423 (-1004)")
        func outOfSequence() async throws {
            try await RouteFixture.with { fixture in
                let uid = try await fixture.createJob(pages: 1, pixelType: 1, resolution: 50)
                let job = "/api/device/scanners/jobs/\(uid)"
                expectDWTError(try await fixture.send(.get, job + "/next-page"), status: 409, code: -1011)
                expectDWTError(try await fixture.send(.get, job + "/next-page-info"), status: 409, code: -1011)
                expectDWTError(try await fixture.send(.post, "/api/device/scanners/jobs", json: RouteFixture.jobBody(pages: 1)),
                               status: 423, code: -1004)
                expectDWTError(try await fixture.send(.patch, job, json: #"{"status":"paused"}"#), status: 400, code: -2113)
                let capabilities = try await fixture.send(.get, job + "/scanner/capabilities")
                #expect(capabilities.status == 200 && !capabilities.array.isEmpty, "a pending job describes its scanner")

                try await fixture.startJob(uid)
                #expect(try await fixture.send(.get, job + "/next-page").status == 200)
                #expect(try await fixture.send(.get, job + "/next-page").status == 204)
                expectDWTError(try await fixture.send(.patch, job, json: #"{"status":"running"}"#), status: 409, code: -1011)
                expectDWTError(try await fixture.send(.get, job + "/scanner/capabilities"), status: 409, code: -1011)
                expectDWTError(try await fixture.send(.get, job + "/scanner/settings"), status: 409, code: -1011)
                #expect(try await fixture.send(.delete, job).status == 204)
            }
        }
    }
}
