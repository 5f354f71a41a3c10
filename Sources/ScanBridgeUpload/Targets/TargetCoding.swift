// JSON forms of targets and options, for the REST routes (`POST /api/…/uploads`) and the JS SDK.
//
//   {"type": "http-post", "url", "fieldName"?, "fileName"?, "formFields"?, "headers"?, "cookies"?,
//    "username"?, "password"?}
//   {"type": "http-put", "url", "headers"?, "cookies"?, "username"?, "password"?}
//   {"type": "ftp", "host", "port"?, "path", "username"?, "password"?, "passive"?,
//    "security"?: "none" | "explicit" | "implicit", "createMissingDirectories"?}
//   {"type": "s3", "endpoint", "region"?, "bucket", "key", "accessKeyId", "secretAccessKey",
//    "pathStyle"?, "multipartThreshold"?, "partSize"?, "headers"?}
//
// `formFields`, `headers` and `cookies` are either arrays of {"name", "value"} (order kept) or
// objects (sent in key order). Options: {"maxAttempts"?, "initialBackoff"?, "maxBackoff"?,
// "totalTimeout"?, "connectTimeout"? (seconds), "verifyTLS"?, "caFile"?, "maxResponseBody"?}.
import Foundation

extension UploadTarget: Decodable {
    private enum Key: String, CodingKey {
        case type, url, fieldName, fileName, formFields, headers, cookies, username, password
        case host, port, path, passive, security, createMissingDirectories
        case endpoint, region, bucket, key, accessKeyId, secretAccessKey, pathStyle, multipartThreshold, partSize
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let type = try c.decode(String.self, forKey: .type)
        func pairs(_ key: Key) throws -> [NameValue] {
            guard c.contains(key) else { return [] }
            if let list = try? c.decode([Pair].self, forKey: key) { return list.map { NameValue($0.name, $0.value) } }
            let object = try c.decode([String: String].self, forKey: key)
            return object.sorted { $0.key < $1.key }.map { NameValue($0.key, $0.value) }
        }
        func credentials() throws -> HTTPCredentials? {
            guard let username = try c.decodeIfPresent(String.self, forKey: .username) else { return nil }
            return HTTPCredentials(username: username, password: try c.decodeIfPresent(String.self, forKey: .password) ?? "")
        }
        switch type {
        case "http-post":
            self = .httpPost(HTTPPostTarget(
                url: try c.decode(String.self, forKey: .url),
                fieldName: try c.decodeIfPresent(String.self, forKey: .fieldName) ?? "RemoteFile",
                fileName: try c.decodeIfPresent(String.self, forKey: .fileName),
                formFields: try pairs(.formFields), headers: try pairs(.headers).map { HeaderField($0.name, $0.value) },
                cookies: try pairs(.cookies), credentials: try credentials()))
        case "http-put":
            self = .httpPut(HTTPPutTarget(
                url: try c.decode(String.self, forKey: .url),
                headers: try pairs(.headers).map { HeaderField($0.name, $0.value) },
                cookies: try pairs(.cookies), credentials: try credentials()))
        case "ftp":
            let security: FTPTarget.Security
            switch try c.decodeIfPresent(String.self, forKey: .security) ?? "none" {
            case "none": security = .none
            case "explicit": security = .explicitTLS
            case "implicit": security = .implicitTLS
            case let other:
                throw DecodingError.dataCorruptedError(forKey: .security, in: c, debugDescription: "unknown FTP security \(other.prefix(20)); use none, explicit or implicit")
            }
            self = .ftp(FTPTarget(
                host: try c.decode(String.self, forKey: .host),
                port: try c.decodeIfPresent(Int.self, forKey: .port) ?? (security == .implicitTLS ? 990 : 21),
                path: try c.decode(String.self, forKey: .path),
                username: try c.decodeIfPresent(String.self, forKey: .username) ?? "anonymous",
                password: try c.decodeIfPresent(String.self, forKey: .password) ?? "",
                passive: try c.decodeIfPresent(Bool.self, forKey: .passive) ?? true,
                security: security,
                createMissingDirectories: try c.decodeIfPresent(Bool.self, forKey: .createMissingDirectories) ?? true))
        case "s3":
            let defaults = S3Target(endpoint: "", bucket: "", key: "", accessKeyID: "", secretAccessKey: "")
            self = .s3(S3Target(
                endpoint: try c.decode(String.self, forKey: .endpoint),
                region: try c.decodeIfPresent(String.self, forKey: .region) ?? defaults.region,
                bucket: try c.decode(String.self, forKey: .bucket),
                key: try c.decode(String.self, forKey: .key),
                accessKeyID: try c.decode(String.self, forKey: .accessKeyId),
                secretAccessKey: try c.decode(String.self, forKey: .secretAccessKey),
                pathStyle: try c.decodeIfPresent(Bool.self, forKey: .pathStyle) ?? true,
                multipartThreshold: try c.decodeIfPresent(Int64.self, forKey: .multipartThreshold) ?? defaults.multipartThreshold,
                partSize: try c.decodeIfPresent(Int64.self, forKey: .partSize) ?? defaults.partSize,
                headers: try pairs(.headers).map { HeaderField($0.name, $0.value) }))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown upload target type \(type.prefix(20)); use http-post, http-put, ftp or s3")
        }
    }

    private struct Pair: Decodable {
        var name: String
        var value: String
    }
}

extension UploadOptions: Decodable {
    private enum Key: String, CodingKey {
        case maxAttempts, initialBackoff, maxBackoff, totalTimeout, connectTimeout, verifyTLS, caFile, maxResponseBody
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let defaults = UploadOptions()
        func seconds(_ key: Key, _ fallback: Duration) throws -> Duration {
            guard let value = try c.decodeIfPresent(Double.self, forKey: key) else { return fallback }
            guard value.isFinite, value >= 0, value <= 86_400 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.stringValue) must be 0-86400 seconds")
            }
            return .milliseconds(Int64(value * 1000))
        }
        let attempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts
        guard (1...20).contains(attempts) else {
            throw DecodingError.dataCorruptedError(forKey: .maxAttempts, in: c, debugDescription: "maxAttempts must be 1-20")
        }
        self.init(maxAttempts: attempts,
                  initialBackoff: try seconds(.initialBackoff, defaults.initialBackoff),
                  maxBackoff: try seconds(.maxBackoff, defaults.maxBackoff),
                  totalTimeout: try seconds(.totalTimeout, defaults.totalTimeout),
                  connectTimeout: try seconds(.connectTimeout, defaults.connectTimeout),
                  tls: TLSOptions(verifyPeer: try c.decodeIfPresent(Bool.self, forKey: .verifyTLS) ?? true,
                                  caFile: try c.decodeIfPresent(String.self, forKey: .caFile)),
                  maxResponseBody: min(try c.decodeIfPresent(Int.self, forKey: .maxResponseBody) ?? defaults.maxResponseBody, 16 << 20))
    }
}
