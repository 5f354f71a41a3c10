import Foundation
import HTTPTypes
import Testing

extension RouteTests {
    /// The camera routes' refusals in process (capture itself needs a device: the conformance
    /// suite runs the binary against a stand-in for absent hardware, Tests/Conformance/test_camera.py).
    @Suite("Camera extension")
    struct Cameras {
        @Test("unknown cameras are 404 -1003, bad job options 400 -2113 before any device is opened")
        func refusals() async throws {
            try await RouteFixture.with { fixture in
                let listed = try await fixture.send(.get, "/api/cameras")
                #expect(listed.status == 200 && listed.contentType == "application/json", "\(listed.text)")
                expectDWTError(try await fixture.send(.get, "/api/cameras/v4l2%3Anothing"), status: 404, code: -1003)
                expectDWTError(try await fixture.send(.post, "/api/cameras/v4l2%3Anothing/capture", json: "{}"), status: 404, code: -1003)
                expectDWTError(try await fixture.send(.post, "/api/cameras/jobs", json: #"{"device":"v4l2:nothing"}"#), status: 404, code: -1003)
                for body in [#"{"mediaType":"YUYV"}"#, #"{"device":"/dev/video0","maxPages":0}"#, #"{"device":"/dev/video0","interval":-1}"#,
                             #"{"device":"/dev/video0","warmUpFrames":1000}"#] {
                    expectDWTError(try await fixture.send(.post, "/api/cameras/jobs", json: body), status: 400, code: -2113)
                }
                // A camera job's routes answer like a scan job's: an unknown job is 404 -1034.
                expectDWTError(try await fixture.send(.get, "/api/cameras/jobs/nothing/next-page-info"), status: 404, code: -1034)
                expectDWTError(try await fixture.send(.delete, "/api/cameras/jobs/nothing"), status: 404, code: -1034)
            }
        }
    }
}
