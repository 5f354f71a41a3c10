// The public vocabulary of ScanBridgeUpload: what to upload, how, and what happened.
import Foundation
import ScanBridgeCore

/// Identifies one upload for its whole life (status, events, cancel, retry). Also names its
/// staged files in `upload/`, so it is restricted to lowercase hex digits and dashes.
public struct UploadID: Hashable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String

    /// Accepts only identifiers this module could have made (no path separators, no dots).
    public init?(_ rawValue: String) {
        guard !rawValue.isEmpty, rawValue.count <= 64,
              rawValue.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) || $0 == "-" })
        else { return nil }
        self.rawValue = rawValue
    }

    static func make() -> UploadID { UploadID(UUID().uuidString.lowercased())! }

    public var description: String { rawValue }
}

/// The encoded document to upload (the caller encodes pages to PDF/TIFF/JPEG/PNG first).
public struct UploadDocument: Sendable {
    /// Where the document's bytes are.
    public enum Content: Sendable {
        case data(Data)
        /// A file already written: staging takes it over by renaming it into `upload/` (no
        /// copy when it is on the same file system, as the service's `upload/` files are).
        case file(path: String)
        /// Bytes that must never reach the disk in clear (a password-protected document): held
        /// in the uploader's memory only, sent from there, dropped when the upload is discarded
        /// or the process ends, so such an upload cannot be recovered after a restart.
        case memoryOnly(Data)
    }

    public var content: Content
    /// File name presented to the server (multipart `filename`); plain name, no path.
    public var fileName: String
    public var contentType: String

    public init(data: Data, fileName: String, contentType: String = "application/octet-stream") {
        self.init(content: .data(data), fileName: fileName, contentType: contentType)
    }

    /// The file at `path`, which `Uploader.start` moves into staging.
    public init(file path: String, fileName: String, contentType: String = "application/octet-stream") {
        self.init(content: .file(path: path), fileName: fileName, contentType: contentType)
    }

    public init(content: Content, fileName: String, contentType: String) {
        self.content = content
        self.fileName = fileName
        self.contentType = contentType
    }
}

/// TLS settings for HTTPS, FTPS and S3 over HTTPS. Verification is on unless turned off.
public struct TLSOptions: Sendable, Equatable {
    /// Verify the server's certificate chain and host name (default true).
    public var verifyPeer: Bool
    /// PEM file of CA certificates to trust instead of the system's bundle.
    public var caFile: String?

    public init(verifyPeer: Bool = true, caFile: String? = nil) {
        self.verifyPeer = verifyPeer
        self.caFile = caFile
    }
}

/// How one upload behaves: retries, timeouts, TLS.
public struct UploadOptions: Sendable, Equatable {
    /// Attempts per request, including the first (default 4). Retried: connection errors,
    /// timeouts of a single attempt that leave time in the total, and HTTP 5xx / 408 / 429.
    public var maxAttempts: Int
    /// Delay before the first retry (default 0.5 s); doubles each retry up to `maxBackoff`.
    public var initialBackoff: Duration
    /// Upper bound of the backoff delay (default 10 s).
    public var maxBackoff: Duration
    /// Everything, retries and backoff included, must finish within this (default 300 s),
    /// counted from when the upload leaves the queue of the concurrent-upload limit.
    public var totalTimeout: Duration
    /// Limit for establishing each connection (default 15 s).
    public var connectTimeout: Duration
    public var tls: TLSOptions
    /// At most this many bytes of the server's response body are kept (default 1 MiB).
    public var maxResponseBody: Int

    public init(maxAttempts: Int = 4, initialBackoff: Duration = .milliseconds(500),
                maxBackoff: Duration = .seconds(10), totalTimeout: Duration = .seconds(300),
                connectTimeout: Duration = .seconds(15), tls: TLSOptions = TLSOptions(),
                maxResponseBody: Int = 1 << 20) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.totalTimeout = totalTimeout
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.maxResponseBody = maxResponseBody
    }
}

/// What the server answered to the (last) request of a successful or rejected upload.
public struct UploadResponse: Sendable, Equatable {
    /// HTTP status, or the last FTP reply code (226 after a stored file).
    public var statusCode: Int
    public var body: Data
    /// Response headers of the last HTTP request, in order (names as sent).
    public var headers: [HeaderField]

    public init(statusCode: Int, body: Data, headers: [HeaderField] = []) {
        self.statusCode = statusCode
        self.body = body
        self.headers = headers
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// One header line.
public struct HeaderField: Sendable, Equatable, Codable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Bytes sent so far and the total to send (0 while unknown).
public struct UploadProgress: Sendable, Equatable, Encodable {
    public var sent: Int64
    public var total: Int64

    public init(sent: Int64, total: Int64) {
        self.sent = sent
        self.total = total
    }
}

/// Where an upload is in its life.
public enum UploadState: String, Sendable, Codable, CaseIterable {
    /// Staged, waiting for a free slot (the concurrent-upload limit).
    case queued
    /// A request is on the wire.
    case uploading
    /// Waiting out the backoff before the next attempt.
    case retrying
    case succeeded
    /// Final failure: the staged file is kept and `retry` can send it again.
    case failed
    /// Canceled (by `cancel` or Task cancellation): the staged file is kept.
    case canceled

    public var isFinal: Bool { self == .succeeded || self == .failed || self == .canceled }
}

/// A snapshot of one upload, safe to render as JSON (no credentials anywhere).
public struct UploadStatus: Sendable, Equatable {
    public var id: UploadID
    public var state: UploadState
    /// The target with credentials and query values removed, e.g. `s3 http://127.0.0.1:9000/bucket/key`.
    public var target: String
    public var fileName: String
    public var byteCount: Int64
    /// Attempt of the current (or last) request, from 1.
    public var attempt: Int
    public var progress: UploadProgress
    public var response: UploadResponse?
    public var error: ScanBridgeError?
    /// The staged copy in `upload/` (nil once removed after success).
    public var stagedFile: String?
    public var created: Date
    public var finished: Date?
}

/// What an upload reports as it goes; the stream of one upload ends after a final event.
public enum UploadEvent: Sendable, Equatable {
    case queued
    case started(attempt: Int)
    case progress(UploadProgress)
    case retrying(attempt: Int, delay: Duration, reason: String)
    case succeeded(UploadResponse)
    case failed(ScanBridgeError)
    case canceled

    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .canceled: true
        default: false
        }
    }
}

/// ScanBridge error codes of the upload subsystem (DWT-style, ≤ 0). The HTTP layer maps them.
public enum UploadErrorCode {
    /// A parameter of the target or document is not valid (HTTP 400), as DWT's -2113.
    public static let invalidParameter = -2113
    /// The operation is out of sequence for the upload's state (HTTP 409), as DWT's -1011.
    public static let wrongState = -1011
    /// No upload with this id (HTTP 404).
    public static let unknownUpload = -2400
    /// The transfer failed: connection, TLS or protocol error (HTTP 502).
    public static let transferFailed = -2401
    /// The server answered with an error status (HTTP 502; the response is in the status).
    public static let rejected = -2402
    /// The total timeout ran out (HTTP 504).
    public static let timedOut = -2403
    /// The upload was canceled (HTTP 409 for a waiting client).
    public static let canceled = -2404
    /// The staged copy could not be written or read (HTTP 500).
    public static let stagingFailed = -2405
}
