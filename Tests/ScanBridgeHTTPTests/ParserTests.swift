import HTTPTypes
import Testing
@testable import ScanBridgeHTTP

/// What a parse produced, with consecutive body events merged so that different byte splits
/// compare equal.
enum Parsed: Equatable, CustomStringConvertible {
    case head(HTTPRequestHead)
    case body([UInt8])
    case end
    case error(HTTPResponse.Status)

    var description: String {
        switch self {
        case .head(let head): "head(\(head.method) \(head.target) \(head.framing))"
        case .body(let bytes): "body(\(String(decoding: bytes, as: UTF8.self)))"
        case .end: "end"
        case .error(let status): "error(\(status.code))"
        }
    }
}

/// Feeds `pieces` one after the other, draining events after each.
func parse(_ pieces: [ArraySlice<UInt8>], limits: HTTPLimits = HTTPLimits()) -> [Parsed] {
    var parser = HTTPRequestParser(limits: limits)
    var result: [Parsed] = []
    func record(_ event: Parsed) {
        if case .body(let more) = event, case .body(let earlier)? = result.last {
            result[result.count - 1] = .body(earlier + more)
        } else {
            result.append(event)
        }
    }
    outer: for piece in pieces {
        parser.append(piece)
        while true {
            switch parser.next() {
            case .needMoreData: continue outer
            case .head(let head): record(.head(head))
            case .body(let bytes): record(.body(bytes))
            case .end: record(.end)
            case .error(let error):
                record(.error(error.status))
                // The parser stays failed.
                #expect(parser.next() == .error(error))
                break outer
            }
        }
    }
    return result
}

func parseWhole(_ text: String, limits: HTTPLimits = HTTPLimits()) -> [Parsed] {
    parse([ArraySlice(text.utf8)], limits: limits)
}

/// Checks that every two-piece split, every three-piece split of short inputs, and byte-by-byte
/// feeding all give the same events as feeding the whole input at once.
func expectSplitInvariant(_ text: String, limits: HTTPLimits = HTTPLimits(), sourceLocation: SourceLocation = #_sourceLocation) -> [Parsed] {
    let bytes = Array(text.utf8)
    let whole = parse([bytes[...]], limits: limits)
    for split in 0...bytes.count {
        let pieces = [bytes[..<split], bytes[split...]]
        let got = parse(pieces, limits: limits)
        #expect(got == whole, "split at \(split)", sourceLocation: sourceLocation)
        if got != whole { break }
    }
    if bytes.count <= 120 {
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let got = parse([bytes[..<first], bytes[first..<second], bytes[second...]], limits: limits)
                if got != whole {
                    Issue.record("split at \(first), \(second): \(got) != \(whole)", sourceLocation: sourceLocation)
                    return whole
                }
            }
        }
    }
    let single = parse(bytes.indices.map { bytes[$0...$0] }, limits: limits)
    #expect(single == whole, "byte by byte", sourceLocation: sourceLocation)
    return whole
}

func head(_ events: [Parsed], _ index: Int = 0) -> HTTPRequestHead? {
    let heads = events.compactMap { if case .head(let head) = $0 { head } else { nil } }
    return index < heads.count ? heads[index] : nil
}

@Suite("HTTP request parser")
struct ParserTests {
    @Test("simple GET, every split")
    func simpleGet() throws {
        let events = expectSplitInvariant("GET /api/server?x=1 HTTP/1.1\r\nHost: 127.0.0.1:18622\r\nAccept: */*\r\n\r\n")
        #expect(events.count == 2)
        let request = try #require(head(events))
        #expect(request.method == .get)
        #expect(request.target == "/api/server?x=1")
        #expect(request.version == .http1_1)
        #expect(request.headerFields[.hostField] == "127.0.0.1:18622")
        #expect(request.headerFields[.accept] == "*/*")
        #expect(request.framing == .none)
        #expect(request.keepAlive)
        #expect(request.request.authority == "127.0.0.1:18622")
        #expect(events.last == .end)
    }

    @Test("Content-Length body, every split")
    func contentLengthBody() {
        let events = expectSplitInvariant("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(head(events)?.framing == .length(11))
        #expect(events.dropFirst() == [.body(Array("hello world".utf8)), .end])
    }

    @Test("chunked body with extensions and trailers, every split")
    func chunkedBody() {
        let text = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
        let events = expectSplitInvariant(text)
        #expect(head(events)?.framing == .chunked)
        #expect(events.dropFirst() == [.body(Array("hello 0123456789".utf8)), .end])
    }

    @Test("pipelined requests, every split")
    func pipelined() {
        let text = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            + "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
            + "GET /4 HTTP/1.0\r\n\r\n"
        let events = expectSplitInvariant(text)
        #expect(events.count == 10)
        #expect(head(events, 0)?.target == "/1")
        #expect(head(events, 1)?.target == "/2")
        #expect(head(events, 2)?.target == "/3")
        #expect(head(events, 3)?.target == "/4")
        #expect(head(events, 3)?.keepAlive == false)
        #expect(events.filter { $0 == .end }.count == 4)
        #expect(events.contains(.body(Array("abc".utf8))))
        #expect(events.contains(.body(Array("xy".utf8))))
    }

    @Test("keep-alive rules for HTTP/1.0 and 1.1")
    func keepAlive() {
        #expect(head(parseWhole("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))?.keepAlive == false)
        #expect(head(parseWhole("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, Close\r\n\r\n"))?.keepAlive == false)
        #expect(head(parseWhole("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))?.keepAlive == true)
        #expect(head(parseWhole("GET / HTTP/1.0\r\n\r\n"))?.keepAlive == false)
    }

    @Test("Expect: 100-continue is recognised; other expectations are 417")
    func expectContinue() {
        #expect(head(parseWhole("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n"))?.expectsContinue == true)
        #expect(head(parseWhole("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"))?.expectsContinue == false)
        #expect(parseWhole("PUT / HTTP/1.1\r\nHost: h\r\nExpect: fly\r\nContent-Length: 1\r\n\r\n") == [.error(.expectationFailed)])
    }

    @Test("leading empty lines are ignored; OPTIONS * and absolute form are accepted")
    func tolerated() {
        #expect(head(parseWhole("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"))?.target == "/")
        #expect(head(parseWhole("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"))?.target == "*")
        #expect(head(parseWhole("GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n"))?.target == "http://h/x")
        #expect(head(parseWhole("GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Pad: \t v \t\r\n\r\n"))?.headerFields[HTTPField.Name("X-Pad")!] == "v")
    }

    // MARK: - Smuggling defences

    @Test("request smuggling and framing attacks are 400 (or 501), every split",
          arguments: [
            ("duplicate Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
            ("conflicting Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
            ("Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
            ("signed Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400),
            ("hex Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc", 400),
            ("CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("TE and CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400),
            ("TE not ending in chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
            ("TE obfuscated", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
            ("TE gzip, chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("space before colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
            ("bare LF in head", "GET / HTTP/1.1\nHost: h\n\n", 400),
            ("bare LF after header", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400),
            ("bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400),
            ("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n  continued\r\n\r\n", 400),
            ("obs-fold with tab", "GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n\tcontinued\r\n\r\n", 400),
            ("NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", 400),
            ("missing Host", "GET / HTTP/1.1\r\n\r\n", 400),
            ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("no colon", "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400),
            ("empty name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400),
            ("lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
            ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
            ("double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
            ("relative target", "GET api HTTP/1.1\r\nHost: h\r\n\r\n", 400),
            ("space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
            ("bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
            ("bad chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("negative chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
            ("chunk size with 0x", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400),
            ("empty chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400),
            ("chunk without CRLF after data", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
            ("chunk size bare LF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400),
            ("huge chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 413),
            ("obs-fold in trailer", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n", 400),
          ])
    func smuggling(name: String, text: String, status: Int) {
        let events = expectSplitInvariant(text)
        #expect(events.last == .error(HTTPResponse.Status(code: status)), "\(name): \(events)")
        // Nothing after the error, and no body bytes from a rejected request were delivered as a request.
        #expect(!events.contains(.end), "\(name)")
    }

    // MARK: - Limits

    @Test("request line over the limit is 414, even before its end arrives")
    func requestLineLimit() {
        let limits = HTTPLimits(maxRequestLineLength: 64)
        let long = "GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(expectSplitInvariant(long, limits: limits) == [.error(.uriTooLong)])
        // Incomplete: no CRLF yet, but already too long.
        #expect(parse([ArraySlice(("GET /" + String(repeating: "a", count: 100)).utf8)], limits: limits) == [.error(.uriTooLong)])
        let fits = "GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(parseWhole(fits, limits: limits).last == .end)
    }

    @Test("limits don't depend on where the input is split (found by the fuzzer: a line exactly at the limit)")
    func limitAtBoundary() {
        let limits = HTTPLimits(maxRequestLineLength: 64, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodySize: 512, maxChunkLineLength: 32)
        let target = "/" + String(repeating: "a", count: 64 - "GET  HTTP/1.1".count - 1)
        let exact = "GET \(target) HTTP/1.1"
        #expect(exact.utf8.count == 64)
        #expect(expectSplitInvariant(exact + "\r\nHost: h\r\n\r\n", limits: limits).last == .end)
        #expect(expectSplitInvariant("GET \(target)a HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits) == [.error(.uriTooLong)])
        // A bare LF right at the limit is a bare LF, however it arrives.
        #expect(expectSplitInvariant(exact + "a\nHost: h\r\n\r\n", limits: limits) == [.error(.badRequest)])
        #expect(expectSplitInvariant(exact + "ab\nHost: h\r\n\r\n", limits: limits) == [.error(.uriTooLong)])
        // The head exactly at maxHeaderBytes passes; one byte more is 431.
        let filler = String(repeating: "x", count: 256 - "GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n".utf8.count)
        #expect(expectSplitInvariant("GET / HTTP/1.1\r\nHost: h\r\nX: \(filler)\r\n\r\n", limits: limits).last == .end)
        #expect(expectSplitInvariant("GET / HTTP/1.1\r\nHost: h\r\nX: \(filler)y\r\n\r\n", limits: limits) == [.error(.requestHeaderFieldsTooLarge)])
        // Chunk size lines: exactly maxChunkLineLength bytes with the CRLF pass.
        let ext = String(repeating: "e", count: 32 - "5;\r\n".utf8.count)
        let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(expectSplitInvariant(chunked + "5;\(ext)\r\nhello\r\n0\r\n\r\n", limits: limits).last == .end)
        #expect(expectSplitInvariant(chunked + "5;\(ext)e\r\nhello\r\n0\r\n\r\n", limits: limits).last == .error(.badRequest))
    }

    @Test("header bytes over the limit are 431, even before the head ends")
    func headerBytesLimit() {
        let limits = HTTPLimits(maxHeaderBytes: 256)
        let big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "b", count: 300) + "\r\n\r\n"
        #expect(expectSplitInvariant(big, limits: limits) == [.error(.requestHeaderFieldsTooLarge)])
        // A never-ending header line is cut off at the limit.
        #expect(parse([ArraySlice(("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 300)).utf8)], limits: limits)
                == [.error(.requestHeaderFieldsTooLarge)])
    }

    @Test("header count over the limit is 431")
    func headerCountLimit() {
        let limits = HTTPLimits(maxHeaderCount: 5)
        let fields = (0..<6).map { "X-\($0): v\r\n" }.joined()
        #expect(parseWhole("GET / HTTP/1.1\r\n" + fields + "\r\n", limits: limits) == [.error(.requestHeaderFieldsTooLarge)])
        let fewer = (0..<4).map { "X-\($0): v\r\n" }.joined()
        #expect(parseWhole("GET / HTTP/1.1\r\nHost: h\r\n" + fewer + "\r\n", limits: limits).last == .end)
    }

    @Test("body over the limit is 413, by Content-Length before any body byte and by chunks as they add up")
    func bodyLimit() {
        let limits = HTTPLimits(maxBodySize: 10)
        #expect(parseWhole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: limits) == [.error(.contentTooLarge)])
        #expect(parseWhole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", limits: limits) == [.error(.contentTooLarge)])
        let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n"
        let events = expectSplitInvariant(chunked, limits: limits)
        #expect(events.last == .error(.contentTooLarge))
        #expect(parseWhole("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits).last == .end)
    }

    @Test("a huge chunk extension is 400")
    func hugeChunkExtension() {
        let limits = HTTPLimits(maxChunkLineLength: 128)
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "e", count: 200) + "\r\nhello\r\n0\r\n\r\n"
        #expect(expectSplitInvariant(text, limits: limits).last == .error(.badRequest))
        // Cut off while it is still arriving.
        let open = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "e", count: 200)
        #expect(parseWhole(open, limits: limits).last == .error(.badRequest))
    }

    @Test("trailer sections count against the header limits")
    func trailerLimits() {
        let limits = HTTPLimits(maxHeaderCount: 2)
        let text = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        #expect(parseWhole(text, limits: limits).last == .error(.requestHeaderFieldsTooLarge))
    }

    @Test("state queries: idle between requests, reading head inside one")
    func stateQueries() {
        var parser = HTTPRequestParser()
        #expect(parser.isIdle)
        parser.append(Array("GET / HT".utf8))
        #expect(parser.next() == .needMoreData)
        #expect(parser.isReadingHead)
        parser.append(Array("TP/1.1\r\nHost: h\r\n\r\n".utf8))
        guard case .head = parser.next() else { Issue.record("expected a head"); return }
        #expect(parser.next() == .end)
        #expect(parser.isIdle)
    }

    @Test("random bytes never crash the parser and end in an error or need more data")
    func randomInput() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("GET POST /\r\n:HTTP/1.1 Host Content-Length Transfer-Encoding chunked 0123456789abcdef;\t ".utf8)
        for _ in 0..<2000 {
            let length = Int.random(in: 0..<200, using: &generator)
            let bytes = (0..<length).map { _ in Bool.random() ? alphabet.randomElement()! : UInt8.random(in: 0...255) }
            _ = parse([bytes[...]], limits: HTTPLimits(maxBodySize: 100))
        }
    }
}
