// Turns a target and a staged document into libcurl requests (safe TransferSpecs).
import Foundation

/// The staged document as the protocols see it.
struct StagedDocument: Sendable {
    var path: String
    var byteCount: Int64
    var fileName: String
    var contentType: String
    /// The bytes, when the document is held only in memory (never written to `path`).
    var memory: Data?

    /// A request body of `length` bytes from `offset`.
    func body(offset: Int64, length: Int64) -> TransferSpec.Body {
        if let memory { return .memory(memory, offset: offset, length: length) }
        return .file(path: path, offset: offset, length: length)
    }

    /// The whole document as a form part named `name`.
    func part(name: String, fileName: String) -> TransferSpec.MimePart {
        if let memory { return .memory(name: name, fileName: fileName, contentType: contentType, data: memory) }
        return .file(name: name, fileName: fileName, contentType: contentType, path: path)
    }
}

enum TransferBuilders {
    static func httpPost(_ target: HTTPPostTarget, _ document: StagedDocument, _ options: UploadOptions) -> TransferSpec {
        var parts = target.formFields.map { TransferSpec.MimePart.field(name: $0.name, value: $0.value) }
        parts.append(document.part(name: target.fieldName, fileName: target.fileName ?? document.fileName))
        var spec = base(url: target.url, options)
        spec.method = .post
        spec.body = .multipart(parts)
        spec.headers = target.headers
        spec.cookie = cookieHeader(target.cookies)
        spec.username = target.credentials?.username
        spec.password = target.credentials?.password
        return spec
    }

    static func httpPut(_ target: HTTPPutTarget, _ document: StagedDocument, _ options: UploadOptions) -> TransferSpec {
        var spec = base(url: target.url, options)
        spec.method = .put
        spec.body = document.body(offset: 0, length: document.byteCount)
        spec.headers = withContentType(target.headers, document.contentType)
        spec.cookie = cookieHeader(target.cookies)
        spec.username = target.credentials?.username
        spec.password = target.credentials?.password
        return spec
    }

    static func ftp(_ target: FTPTarget, _ document: StagedDocument, _ options: UploadOptions) -> TransferSpec {
        let scheme = target.security == .implicitTLS ? "ftps" : "ftp"
        let path = target.path.split(separator: "/", omittingEmptySubsequences: true)
            .map { String($0).addingPercentEncoding(withAllowedCharacters: unreserved) ?? String($0) }
            .joined(separator: "/")
        var spec = base(url: "\(scheme)://\(target.host):\(target.port)/\(path)", options)
        spec.method = .put
        spec.body = document.body(offset: 0, length: document.byteCount)
        spec.username = target.username
        spec.password = target.password
        spec.ftp = .init(passive: target.passive, requireTLS: target.security != .none,
                         createMissingDirectories: target.createMissingDirectories)
        return spec
    }

    /// A SigV4-signed S3 request for `target`'s object, with `query` already in canonical
    /// form (sorted, each name and value encoded as SigV4 requires).
    static func s3(_ target: S3Target, _ options: UploadOptions, method: TransferSpec.Method, query: String = "",
                   body: TransferSpec.Body = .none, headers: [HeaderField] = []) -> TransferSpec {
        var spec = base(url: s3URL(target) + (query.isEmpty ? "" : "?" + query), options)
        spec.method = method
        spec.body = body
        spec.awsSigV4 = "aws:amz:\(target.region):s3"
        spec.username = target.accessKeyID
        spec.password = target.secretAccessKey
        // The payload is streamed, so it is signed as UNSIGNED-PAYLOAD (TLS protects it in transit).
        spec.headers = headers + [HeaderField("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]
        return spec
    }

    static func s3URL(_ target: S3Target) -> String {
        let key = target.key.split(separator: "/", omittingEmptySubsequences: false)
            .map { sigV4Encode(String($0)) }.joined(separator: "/")
        let endpoint = target.endpoint.hasSuffix("/") ? String(target.endpoint.dropLast()) : target.endpoint
        if target.pathStyle { return "\(endpoint)/\(target.bucket)/\(key)" }
        guard var components = URLComponents(string: endpoint), let host = components.host else { return endpoint }
        components.host = "\(target.bucket).\(host)"
        return (components.string ?? endpoint) + "/" + key
    }

    /// RFC 3986 unreserved characters: what SigV4 leaves unencoded.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func sigV4Encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    static func withContentType(_ headers: [HeaderField], _ contentType: String) -> [HeaderField] {
        headers.contains { $0.name.lowercased() == "content-type" } ? headers : headers + [HeaderField("Content-Type", contentType)]
    }

    private static func base(url: String, _ options: UploadOptions) -> TransferSpec {
        var spec = TransferSpec(url: url)
        spec.tls = options.tls
        spec.connectTimeoutMilliseconds = milliseconds(options.connectTimeout)
        spec.maxResponseBody = options.maxResponseBody
        return spec
    }

    private static func cookieHeader(_ cookies: [NameValue]) -> String? {
        cookies.isEmpty ? nil : cookies.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

/// Just enough XML for S3's multipart answers: one element's text, entities decoded.
enum S3XML {
    static func text(of element: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(element)>"),
              let close = xml.range(of: "</\(element)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        return unescape(String(xml[open.upperBound..<close.lowerBound]))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&apos;")
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func completeBody(etags: [String]) -> Data {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Data(xml.utf8)
    }
}
