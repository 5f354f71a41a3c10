import HTTPTypes
import ScanBridgeCore
import Testing
@testable import ScanBridgeHTTP

func bodyText(_ response: Response) -> String { String(decoding: response.body.bytes ?? [], as: UTF8.self) }

@Suite("Router, errors, serializer")
struct RouterTests {
    static func router() -> Router {
        var router = Router()
        router.get("/api/server") { _ in .json(raw: Array(#"{"logLevel":1}"#.utf8)) }
        router.patch("/api/server") { _ in .noContent }
        router.get("/api/device/scanners/jobs/{jobuid}") { request in .text("job \(try request.parameters.require("jobuid"))") }
        router.delete("/api/device/scanners/jobs/{jobuid}") { _ in .noContent }
        router.get("/api/device/scanners/jobs/{jobuid}/next-page") { request in .text("next \(request.parameters["jobuid"]!) \(request.query["type"] ?? "-")") }
        router.get("/api/device/scanners/jobs/latest") { _ in .text("literal wins") }
        router.get("/dwt/{version}/{path...}") { request in .text("\(request.parameters["version"]!):\(request.parameters["path"]!)") }
        router.post("/api/fail") { _ in throw ScanBridgeError(code: -1004, message: "Scanner busy", cause: .init(code: 16, message: "Device or resource busy")) }
        router.post("/api/crash") { _ in struct Oops: Error {}; throw Oops() }
        return router
    }

    @Test("path parameters, literal priority, rest-of-path, query decoding")
    func routing() async {
        let router = Self.router()
        #expect(bodyText(await router.respond(to: Request(method: .get, target: "/api/device/scanners/jobs/abc%20d"))) == "job abc d")
        #expect(bodyText(await router.respond(to: Request(method: .get, target: "/api/device/scanners/jobs/latest"))) == "literal wins")
        #expect(bodyText(await router.respond(to: Request(method: .get, target: "/api/device/scanners/jobs/u1/next-page?type=image%2Fpng&x"))) == "next u1 image/png")
        #expect(bodyText(await router.respond(to: Request(method: .get, target: "/dwt/dwt_19/src/a.js"))) == "dwt_19:src/a.js")
        #expect(await router.respond(to: Request(method: .get, target: "/nowhere")).status == .notFound)
    }

    @Test("HEAD falls back to GET")
    func headFallback() async {
        #expect(await Self.router().respond(to: Request(method: .head, target: "/api/server")).status == .ok)
    }

    @Test("the plain renderer: HTTPError renders itself, other errors are 500")
    func errorRendering() async {
        let crash = await Self.router().respond(to: Request(method: .post, target: "/api/crash"))
        #expect(crash.status == .internalServerError)
        #expect(bodyText(crash).contains(#""statusCode":500"#))
        #expect(HTTPError(.badRequest, message: "a \"quoted\"\nline").response.body.bytes == Array(#"{"code":-1,"message":"a \"quoted\"\nline","statusCode":400}"#.utf8))
    }

    @Test("middleware runs outermost first, around the route")
    func middleware() async {
        var router = Self.router()
        router.use { request, next in
            var response = try await next(request)
            response.headerFields[HTTPField.Name("X-Order")!] = (response.headerFields[HTTPField.Name("X-Order")!] ?? "") + "outer"
            return response
        }
        router.use { request, next in
            guard request.headerFields[HTTPField.Name("X-Deny")!] == nil else { throw HTTPError(.forbidden, code: -2800, message: "denied") }
            var response = try await next(request)
            response.headerFields[HTTPField.Name("X-Order")!] = "inner,"
            return response
        }
        let ok = await router.respond(to: Request(method: .get, target: "/api/server"))
        #expect(ok.headerFields[HTTPField.Name("X-Order")!] == "inner,outer")
        let denied = await router.respond(to: Request(method: .get, target: "/api/server", headerFields: [HTTPField.Name("X-Deny")!: "1"]))
        #expect(denied.status == .forbidden)
    }

    @Test("Range: single ranges 206, suffix, open end, unsatisfiable 416, multiple ignored")
    func ranges() {
        let body = Array("0123456789".utf8)
        func apply(_ range: String?) -> Response {
            var fields = HTTPFields()
            fields[.hostField] = "h"
            if let range { fields[.range] = range }
            let head = HTTPRequestHead(method: .get, target: "/x", version: .http1_1, headerFields: fields, framing: .none, keepAlive: true, expectsContinue: false)
            return RangeRequest.apply(to: .binary(body, contentType: "image/png"), request: head)
        }
        #expect(apply(nil).status == .ok)
        #expect(apply(nil).headerFields[.acceptRanges] == "bytes")
        #expect(apply("bytes=2-4").status == .partialContent)
        #expect(bodyText(apply("bytes=2-4")) == "234")
        #expect(apply("bytes=2-4").headerFields[.contentRange] == "bytes 2-4/10")
        #expect(bodyText(apply("bytes=-3")) == "789")
        #expect(bodyText(apply("bytes=7-")) == "789")
        #expect(bodyText(apply("bytes=8-100")) == "89")
        #expect(apply("bytes=10-").status == .rangeNotSatisfiable)
        #expect(apply("bytes=10-").headerFields[.contentRange] == "bytes */10")
        #expect(apply("bytes=0-1,3-4").status == .ok)
        #expect(apply("items=0-1").status == .ok)
        #expect(apply("bytes=5-2").status == .ok)
        // JSON responses don't take part.
        let head = HTTPRequestHead(method: .get, target: "/x", version: .http1_1, headerFields: [.range: "bytes=0-1"], framing: .none, keepAlive: true, expectsContinue: false)
        #expect(RangeRequest.apply(to: .json(raw: body), request: head).status == .ok)
    }

    @Test("server-sent events are framed per the spec and can't inject fields")
    func sseEncoding() {
        let event = ServerSentEvent(event: "page\nid: 9", data: "line1\nline2", id: "7", retry: 1000)
        #expect(String(decoding: event.encoded, as: UTF8.self) == "id: 7\nevent: pageid: 9\nretry: 1000\ndata: line1\ndata: line2\n\n")
    }

    @Test("response heads: framing fields owned by the server, Date, keep-alive for 1.0")
    func serializerHead() {
        var response = Response.text("hi")
        response.headerFields[.contentLength] = "999"
        let text = String(decoding: ResponseSerializer.head(response, framing: .contentLength(2), keepAlive: false, version: .http1_1), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\nDate: "))
        #expect(!text.contains("999"))
        #expect(text.hasSuffix("\r\nServer: ScanBridge\r\n\r\n"))
        let old = String(decoding: ResponseSerializer.head(response, framing: .contentLength(2), keepAlive: true, version: .http1_0), as: UTF8.self)
        #expect(old.contains("Connection: keep-alive\r\n"))
        #expect(ResponseSerializer.framing(for: .noContent, method: .get, version: .http1_1) == .none)
        #expect(ResponseSerializer.framing(for: .stream { _ in }, method: .get, version: .http1_1) == .chunked)
        #expect(ResponseSerializer.framing(for: .stream { _ in }, method: .get, version: .http1_0) == .untilClose)
        #expect(String(decoding: ResponseSerializer.chunk(Array("hello world, hello!".utf8)), as: UTF8.self) == "13\r\nhello world, hello!\r\n")
        #expect(HTTPDate.format(seconds: 784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        var digits: [UInt8] = []
        ResponseSerializer.appendDecimal(8_388_608, to: &digits)
        #expect(digits == Array("8388608".utf8))
    }

    @Test("middleware sees the pattern of the route that matched, also on a 405; none on a 404")
    func matchedPattern() async {
        var router = Self.router()
        router.use { request, next in
            // The router's own 404 and 405 are thrown; an empty answer carries the label here.
            var response = (try? await next(request)) ?? Response(status: .notFound)
            response.headerFields[HTTPField.Name("X-Route")!] = request.route ?? "none"
            return response
        }
        func route(_ method: HTTPRequest.Method, _ target: String) async -> String? {
            await router.respond(to: Request(method: method, target: target)).headerFields[HTTPField.Name("X-Route")!]
        }
        #expect(await route(.get, "/api/device/scanners/jobs/abc") == "/api/device/scanners/jobs/{jobuid}")
        #expect(await route(.delete, "/api/device/scanners/jobs/abc") == "/api/device/scanners/jobs/{jobuid}")
        #expect(await route(.get, "/api/device/scanners/jobs/latest") == "/api/device/scanners/jobs/latest")
        #expect(await route(.get, "/api/device/scanners/jobs/u1/next-page?type=x") == "/api/device/scanners/jobs/{jobuid}/next-page")
        #expect(await route(.get, "/dwt/dwt_19/src/a.js") == "/dwt/{version}/{path...}")
        #expect(await route(.head, "/api/server") == "/api/server")
        #expect(await route(.put, "/api/server") == "/api/server")
        #expect(await route(.get, "/nowhere") == "none")
    }
}
