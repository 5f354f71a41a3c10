import HTTPTypes
import ScanBridgeCore
import ScanBridgeHTTP
import Testing
@testable import ScanBridgeService

private func bodyText(_ response: Response) -> String { String(decoding: response.body.bytes ?? [], as: UTF8.self) }

@Suite("DWT error answers")
struct DWTErrorRendererTests {
    static func router() -> Router {
        var router = Router()
        router.errorRenderer = DWTErrorRenderer()
        router.get("/api/server") { _ in .json(raw: Array(#"{"logLevel":1}"#.utf8)) }
        router.patch("/api/server") { _ in .noContent }
        router.post("/api/fail") { _ in throw ScanBridgeError(code: -1004, message: "Scanner busy", cause: .init(code: 16, message: "Device or resource busy")) }
        router.post("/api/crash") { _ in struct Oops: Error {}; throw Oops() }
        router.get("/api/gone") { _ in throw DWTErrors.jobDeleted("j1") }
        router.post("/api/full") { _ in throw ScanBridgeError(code: -1022, message: "Cannot write", cause: .errno(28)) }
        router.post("/api/eio") { _ in throw ScanBridgeError(code: -1022, message: "Cannot write", cause: .errno(5)) }
        return router
    }

    @Test("wrong method: 405, Allow, DWT body -2112 listing the allowed methods")
    func methodNotAllowed() async {
        let response = await Self.router().respond(to: Request(method: .put, target: "/api/server"))
        #expect(response.status == .methodNotAllowed)
        #expect(response.headerFields[.allow] == "GET, PATCH")
        #expect(response.headerFields[.contentType] == "application/json")
        #expect(bodyText(response) == #"{"code":-2112,"message":"Method PUT is not allowed; allowed: GET, PATCH","statusCode":405}"#)
    }

    @Test("a write refused for want of space (-1022, ENOSPC) is 507; the same code for another cause (EIO) is 500")
    func diskFull() async {
        let full = await Self.router().respond(to: Request(method: .post, target: "/api/full"))
        #expect(full.status.code == 507)
        #expect(bodyText(full).contains(#""code":-1022"#) && bodyText(full).contains(#""statusCode":507"#))
        let failed = await Self.router().respond(to: Request(method: .post, target: "/api/eio"))
        #expect(failed.status.code == 500)
    }

    @Test("ScanBridgeError renders with its DWT status and cause; other errors are 500")
    func errorRendering() async {
        let busy = await Self.router().respond(to: Request(method: .post, target: "/api/fail"))
        #expect(busy.status.code == 423)
        #expect(bodyText(busy) == #"{"code":-1004,"message":"Scanner busy","statusCode":423,"cause":{"code":16,"message":"Device or resource busy"}}"#)
        let crash = await Self.router().respond(to: Request(method: .post, target: "/api/crash"))
        #expect(crash.status == .internalServerError)
        #expect(bodyText(crash).contains(#""statusCode":500"#))
        #expect(bodyText(crash).contains(#""code":-1,"#))
    }

    @Test("a deleted job is 410 with the job code; an unknown route 404 with the generic code")
    func goneAndNotFound() async {
        let gone = await Self.router().respond(to: Request(method: .get, target: "/api/gone"))
        #expect(gone.status == .gone)
        #expect(bodyText(gone) == #"{"code":-1034,"message":"Job j1 was deleted.","statusCode":410}"#)
        let missing = await Self.router().respond(to: Request(method: .get, target: "/api/nowhere"))
        #expect(bodyText(missing) == #"{"code":-1,"message":"No such resource: /api/nowhere","statusCode":404}"#)
    }

    @Test("the HTTP layer's own answers keep their status and the generic code", arguments: [400, 408, 413, 431, 503])
    func httpLayerAnswers(status: Int) {
        let response = DWTErrorRenderer().response(for: HTTPError(HTTPResponse.Status(code: status), message: "m"))
        #expect(response.status.code == status)
        #expect(bodyText(response) == #"{"code":-1,"message":"m","statusCode":\#(status)}"#)
    }

    /// The statuses of the public reference's codes (docs/API.md, "Errors").
    @Test("the DWT code table", arguments: [
        (-2112, 405), (-2113, 400), (-1006, 400), (-1010, 400), (-2352, 400), (-2849, 400),
        (-2800, 403), (-1043, 403), (-2801, 403), (-1004, 423),
        (-1034, 404), (-1040, 404), (-1003, 404), (-2847, 404), (-2399, 404),
        (-1011, 409), (-1002, 507), (-1023, 503),
        (-2400, 404), (-2401, 502), (-2402, 502), (-2403, 504), (-2404, 500), (-2405, 500), (-1001, 500), (-1, 500),
    ])
    func table(code: Int, status: Int) {
        #expect(DWTStatus.status(forCode: code).code == status)
        let response = DWTErrorRenderer().response(for: ScanBridgeError(code: code, message: "x"))
        #expect(response.status.code == status)
        #expect(bodyText(response) == #"{"code":\#(code),"message":"x","statusCode":\#(status)}"#)
    }
}
