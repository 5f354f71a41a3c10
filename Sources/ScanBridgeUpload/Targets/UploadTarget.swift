// Where an upload goes. Each kind validates itself and describes itself without secrets.
import Foundation
import ScanBridgeCore

/// A destination for an upload.
public enum UploadTarget: Sendable, Equatable {
    /// HTTP(S) POST of a multipart/form-data body.
    case httpPost(HTTPPostTarget)
    /// HTTP(S) PUT of the raw bytes.
    case httpPut(HTTPPutTarget)
    /// FTP or FTPS STOR.
    case ftp(FTPTarget)
    /// An S3-compatible object store (AWS SigV4), single PUT or multipart upload.
    case s3(S3Target)

    /// The target for logs, statuses and error messages: no credentials, no query values.
    public var redactedDescription: String {
        switch self {
        case .httpPost(let t): "POST \(Redaction.url(t.url))"
        case .httpPut(let t): "PUT \(Redaction.url(t.url))"
        case .ftp(let t): "\(t.security == .none ? "ftp" : "ftps") \(t.host):\(t.port)/\(t.path)"
        case .s3(let t): "s3 \(Redaction.url(t.endpoint))/\(t.bucket)/\(t.key)"
        }
    }

    /// Strings that must never reach a log line or an error message.
    var secrets: [String] {
        switch self {
        case .httpPost(let t): t.credentials.secrets + HTTPAuth.sensitiveHeaderValues(t.headers) + t.cookies.map(\.value)
        case .httpPut(let t): t.credentials.secrets + HTTPAuth.sensitiveHeaderValues(t.headers) + t.cookies.map(\.value)
        case .ftp(let t): [t.password].filter { !$0.isEmpty }
        case .s3(let t): [t.secretAccessKey]
        }
    }

    func validate() throws(ScanBridgeError) {
        switch self {
        case .httpPost(let t):
            try Validation.url(t.url, schemes: ["http", "https"])
            try Validation.token(t.fieldName, what: "form field name")
            for field in t.formFields { try Validation.token(field.name, what: "form field name") }
            try Validation.headers(t.headers)
            try Validation.cookies(t.cookies)
        case .httpPut(let t):
            try Validation.url(t.url, schemes: ["http", "https"])
            try Validation.headers(t.headers)
            try Validation.cookies(t.cookies)
        case .ftp(let t):
            try Validation.host(t.host)
            guard (1...65535).contains(t.port) else { throw Validation.invalid("FTP port \(t.port) is out of range") }
            guard !t.path.isEmpty, !t.path.hasSuffix("/"), !t.path.contains("\0"),
                  !t.path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
            else { throw Validation.invalid("FTP path must name a file, without '.' or '..' parts") }
        case .s3(let t):
            try Validation.url(t.endpoint, schemes: ["http", "https"])
            guard !t.bucket.isEmpty, t.bucket.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }),
                  t.bucket.allSatisfy(\.isASCII)
            else { throw Validation.invalid("S3 bucket name is not valid") }
            guard !t.key.isEmpty, !t.key.hasPrefix("/"), t.key.utf8.count <= 1024
            else { throw Validation.invalid("S3 object key must be 1-1024 bytes, not starting with '/'") }
            guard !t.accessKeyID.isEmpty, !t.secretAccessKey.isEmpty
            else { throw Validation.invalid("S3 credentials are missing") }
            guard !t.region.isEmpty, t.region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
            else { throw Validation.invalid("S3 region is not valid") }
            guard t.partSize >= 5 << 20 else { throw Validation.invalid("S3 part size must be at least 5 MiB") }
        }
    }
}

/// User name and password for HTTP Basic authentication.
public struct HTTPCredentials: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

extension Optional where Wrapped == HTTPCredentials {
    var secrets: [String] { self.map { [$0.password].filter { !$0.isEmpty } } ?? [] }
}

/// A `name=value` pair: a form field or a cookie.
public struct NameValue: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// HTTP(S) POST with a multipart/form-data body: the document is one file part.
public struct HTTPPostTarget: Sendable, Equatable {
    public var url: String
    /// Name of the form field carrying the file (default `RemoteFile`, as DWT's HTTPUpload).
    public var fieldName: String
    /// File name sent in the part; nil uses the document's.
    public var fileName: String?
    /// Extra text fields, sent before the file part, in this order.
    public var formFields: [NameValue]
    public var headers: [HeaderField]
    public var cookies: [NameValue]
    public var credentials: HTTPCredentials?

    public init(url: String, fieldName: String = "RemoteFile", fileName: String? = nil,
                formFields: [NameValue] = [], headers: [HeaderField] = [], cookies: [NameValue] = [],
                credentials: HTTPCredentials? = nil) {
        self.url = url
        self.fieldName = fieldName
        self.fileName = fileName
        self.formFields = formFields
        self.headers = headers
        self.cookies = cookies
        self.credentials = credentials
    }
}

/// HTTP(S) PUT of the document bytes as the request body.
public struct HTTPPutTarget: Sendable, Equatable {
    public var url: String
    public var headers: [HeaderField]
    public var cookies: [NameValue]
    public var credentials: HTTPCredentials?

    public init(url: String, headers: [HeaderField] = [], cookies: [NameValue] = [], credentials: HTTPCredentials? = nil) {
        self.url = url
        self.headers = headers
        self.cookies = cookies
        self.credentials = credentials
    }
}

/// FTP or FTPS upload (STOR) to `path` on the server.
public struct FTPTarget: Sendable, Equatable {
    public enum Security: String, Sendable, Equatable {
        /// Plain FTP.
        case none
        /// FTPS, explicit: `AUTH TLS` on the control connection, data connections protected too.
        case explicitTLS
        /// FTPS, implicit: TLS from the first byte (usually port 990).
        case implicitTLS
    }

    public var host: String
    public var port: Int
    /// Remote file path relative to the login folder, e.g. `scans/2026/batch.pdf`.
    public var path: String
    public var username: String
    public var password: String
    /// Passive mode (the client opens data connections; default true). False uses active mode.
    public var passive: Bool
    public var security: Security
    /// Create missing folders of `path` (default true).
    public var createMissingDirectories: Bool

    public init(host: String, port: Int = 21, path: String, username: String = "anonymous", password: String = "",
                passive: Bool = true, security: Security = .none, createMissingDirectories: Bool = true) {
        self.host = host
        self.port = port
        self.path = path
        self.username = username
        self.password = password
        self.passive = passive
        self.security = security
        self.createMissingDirectories = createMissingDirectories
    }
}

/// An S3-compatible object store, addressed path-style (`endpoint/bucket/key`) or
/// virtual-host style (`bucket.endpoint-host/key`), signed with AWS SigV4 by libcurl.
public struct S3Target: Sendable, Equatable {
    /// Scheme, host and port, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
    public var endpoint: String
    public var region: String
    public var bucket: String
    public var key: String
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Path-style URLs (default true; what local S3-compatible servers expect).
    public var pathStyle: Bool
    /// Objects larger than this go up as a multipart upload (default 16 MiB).
    public var multipartThreshold: Int64
    /// Size of each part of a multipart upload (default 8 MiB, at least 5 MiB as S3 requires).
    public var partSize: Int64
    /// Extra headers for the object (e.g. `x-amz-meta-*`, `Content-Type` is the document's).
    public var headers: [HeaderField]

    public init(endpoint: String, region: String = "us-east-1", bucket: String, key: String,
                accessKeyID: String, secretAccessKey: String, pathStyle: Bool = true,
                multipartThreshold: Int64 = 16 << 20, partSize: Int64 = 8 << 20, headers: [HeaderField] = []) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.key = key
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.pathStyle = pathStyle
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.headers = headers
    }
}

enum HTTPAuth {
    static let sensitiveHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"]

    static func sensitiveHeaderValues(_ headers: [HeaderField]) -> [String] {
        headers.filter { sensitiveHeaders.contains($0.name.lowercased()) }.map(\.value).filter { !$0.isEmpty }
    }
}

enum Validation {
    static func invalid(_ message: String) -> ScanBridgeError {
        ScanBridgeError(code: UploadErrorCode.invalidParameter, message: message)
    }

    static func url(_ string: String, schemes: Set<String>) throws(ScanBridgeError) {
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased(),
              schemes.contains(scheme), let host = components.host, !host.isEmpty
        else { throw invalid("URL \(Redaction.url(string)) is not a valid \(schemes.sorted().joined(separator: "/")) URL") }
        guard !string.contains(where: { $0.isNewline || $0 == "\0" }) else { throw invalid("URL contains control characters") }
        guard components.user == nil, components.password == nil
        else { throw invalid("URL \(Redaction.url(string)) holds credentials: pass them as credentials, not in the URL") }
    }

    static func host(_ host: String) throws(ScanBridgeError) {
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:[]".contains($0)) })
        else { throw invalid("host name is not valid") }
    }

    static func token(_ name: String, what: String) throws(ScanBridgeError) {
        guard !name.isEmpty, !name.contains(where: { $0 == "\"" || $0.isNewline || $0 == "\0" })
        else { throw invalid("\(what) is empty or contains quotes or control characters") }
    }

    static func headers(_ headers: [HeaderField]) throws(ScanBridgeError) {
        for header in headers {
            guard !header.name.isEmpty, header.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }),
                  !header.value.contains(where: { $0.isNewline || $0 == "\0" })
            else { throw invalid("header \(header.name.prefix(40)) is not valid") }
        }
    }

    static func cookies(_ cookies: [NameValue]) throws(ScanBridgeError) {
        for cookie in cookies {
            guard !cookie.name.isEmpty, !cookie.name.contains(where: { "=;, \t\r\n\0".contains($0) }),
                  !cookie.value.contains(where: { ";\r\n\0".contains($0) })
            else { throw invalid("cookie \(cookie.name.prefix(40)) is not valid") }
        }
    }
}
