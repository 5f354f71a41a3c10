// A safe description of one libcurl request and of its outcome. The upload protocols build
// these; only Curl/CurlTransfer.swift and Curl/CurlMultiThread.swift touch libcurl.
import Foundation

struct TransferSpec: Sendable {
    enum Method: Sendable { case get, put, post, delete }

    enum Body: Sendable {
        case none
        /// `length` bytes of the file at `path`, from `offset` (an upload or one S3 part).
        case file(path: String, offset: Int64, length: Int64)
        /// `length` bytes of `data` from `offset`, sent like a file (a document kept only in memory).
        case memory(Data, offset: Int64, length: Int64)
        /// A small in-memory body (S3's CompleteMultipartUpload XML).
        case bytes(Data)
        /// multipart/form-data.
        case multipart([MimePart])
    }

    enum MimePart: Sendable {
        case field(name: String, value: String)
        /// The part's bytes come from the file at `path` (read by libcurl on the upload thread).
        case file(name: String, fileName: String, contentType: String, path: String)
        /// A file part whose bytes are in memory (a document kept only in memory).
        case memory(name: String, fileName: String, contentType: String, data: Data)
    }

    struct FTPSettings: Sendable {
        var passive: Bool
        var requireTLS: Bool
        var createMissingDirectories: Bool
    }

    var url: String
    var method: Method = .get
    var body: Body = .none
    /// `Name: value` lines.
    var headers: [HeaderField] = []
    var cookie: String?
    var username: String?
    var password: String?
    /// libcurl's CURLOPT_AWS_SIGV4 provider string, e.g. `aws:amz:us-east-1:s3`.
    var awsSigV4: String?
    var ftp: FTPSettings?
    var tls = TLSOptions()
    /// Whole-request limit (0 = none) and connect limit, in milliseconds.
    var timeoutMilliseconds: Int = 0
    var connectTimeoutMilliseconds: Int = 15_000
    var maxResponseBody: Int = 1 << 20
}

extension TransferSpec.Body {
    /// The byte range a file or memory body sends; (0, 0) for the others.
    var range: (offset: Int64, length: Int64) {
        switch self {
        case .file(_, let offset, let length), .memory(_, let offset, let length): (offset, length)
        case .none, .bytes, .multipart: (0, 0)
        }
    }
}

struct TransferOutcome: Sendable {
    /// libcurl's CURLcode (0 = OK).
    var curlCode: Int
    /// libcurl's description of `curlCode` (with detail from the error buffer when there is one).
    var curlMessage: String
    /// HTTP status or last FTP reply code (0 when none arrived).
    var responseCode: Int
    var body: Data
    var headers: [HeaderField]
    var bytesSent: Int64
    var canceled: Bool

    static func canceledBeforeStart() -> TransferOutcome {
        TransferOutcome(curlCode: 42, curlMessage: "canceled", responseCode: 0, body: Data(), headers: [],
                        bytesSent: 0, canceled: true)
    }
}

/// libcurl result codes the retry policy distinguishes (values from curl.h, stable ABI).
enum CurlCode {
    static let ok = 0
    static let couldntResolveHost = 6
    static let couldntConnect = 7
    static let partialFile = 18
    static let operationTimedOut = 28
    static let sslConnectError = 35
    static let abortedByCallback = 42
    static let gotNothing = 52
    static let sendError = 55
    static let recvError = 56
    static let peerFailedVerification = 60

    /// Failures where the server was not reached or the connection broke: worth another attempt.
    static let retryable: Set<Int> = [couldntResolveHost, couldntConnect, partialFile, operationTimedOut,
                                      gotNothing, sendError, recvError]
}
