import HTTPTypes

/// `Range: bytes=…` for in-memory binary bodies (RFC 9110 §14). One range is served as 206 with
/// Content-Range; an unsatisfiable one is 416 with `Content-Range: bytes */length`; several
/// ranges, other units, a malformed field or an `If-Range` are answered with the whole body
/// (which the RFC allows).
enum RangeRequest {
    static func apply(to response: Response, request: HTTPRequestHead) -> Response {
        guard response.body.acceptsRanges, response.status == .ok, let bytes = response.body.bytes else { return response }
        var response = response
        response.headerFields[.acceptRanges] = "bytes"
        guard request.method == .get || request.method == .head,
              let field = request.headerFields[.range], request.headerFields[.ifRange] == nil,
              let spec = parse(field) else { return response }
        let length = bytes.count
        let range: Range<Int>?
        switch spec {
        case .from(let start, let end):
            range = start < length ? start..<(min(end ?? (length - 1), length - 1) + 1) : nil
        case .suffix(let count):
            range = count > 0 && length > 0 ? max(0, length - count)..<length : nil
        }
        guard let range else {
            var fields = response.headerFields
            fields[.contentRange] = "bytes */\(length)"
            fields[.contentType] = nil
            return HTTPError(.rangeNotSatisfiable, message: "Range \(field) is outside the \(length) bytes of the content",
                             headerFields: fields).response
        }
        response.status = .partialContent
        response.headerFields[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(length)"
        var body = ResponseBody.bytes(Array(bytes[range]))
        body.acceptsRanges = true
        response.body = body
        return response
    }

    enum Spec: Equatable {
        case from(Int, end: Int?)
        case suffix(Int)
    }

    /// One `bytes=` range, or nil for anything else (multiple ranges included).
    static func parse(_ field: String) -> Spec? {
        let trimmed = field.trimmingHTTPWhitespace()
        guard trimmed.lowercased().hasPrefix("bytes=") else { return nil }
        let set = trimmed.dropFirst(6)
        guard !set.contains(","), let dash = set.firstIndex(of: "-") else { return nil }
        let first = set[..<dash].trimmingHTTPWhitespace(), last = set[set.index(after: dash)...].trimmingHTTPWhitespace()
        func number(_ text: String) -> Int? {
            guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy(\.isDigit) else { return nil }
            return Int(text)
        }
        if first.isEmpty {
            guard let count = number(last) else { return nil }
            return .suffix(count)
        }
        guard let start = number(first) else { return nil }
        if last.isEmpty { return .from(start, end: nil) }
        guard let end = number(last), end >= start else { return nil }
        return .from(start, end: end)
    }
}
