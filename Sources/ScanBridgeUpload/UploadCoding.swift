// JSON forms of statuses and events for the REST routes and server-sent events. They carry no
// credentials (targets appear only as their redacted description) and no local paths.
import Foundation
import ScanBridgeCore

extension UploadStatus: Encodable {
    private enum Key: String, CodingKey {
        case id, state, target, fileName, byteCount, attempt, progress, response, error, staged, created, finished
    }

    /// `{"id", "state", "target", "fileName", "byteCount", "attempt", "progress": {"sent", "total"},
    /// "response"?: {...}, "error"?: {"code", "message", "cause"?}, "staged": bool,
    /// "created", "finished"? (ISO 8601)}`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(id.rawValue, forKey: .id)
        try c.encode(state.rawValue, forKey: .state)
        try c.encode(target, forKey: .target)
        try c.encode(fileName, forKey: .fileName)
        try c.encode(byteCount, forKey: .byteCount)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(progress, forKey: .progress)
        try c.encodeIfPresent(response, forKey: .response)
        try c.encodeIfPresent(error.map(ErrorForm.init), forKey: .error)
        try c.encode(stagedFile != nil, forKey: .staged)
        try c.encode(created.formatted(.iso8601), forKey: .created)
        try c.encodeIfPresent(finished?.formatted(.iso8601), forKey: .finished)
    }
}



extension UploadResponse: Encodable {
    private enum Key: String, CodingKey { case statusCode, headers, body, bodyBase64 }

    /// `{"statusCode", "headers": [{"name", "value"}], "body"}` with the body as text when it is
    /// UTF-8, else as `"bodyBase64"`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(statusCode, forKey: .statusCode)
        try c.encode(headers, forKey: .headers)
        if let text = String(data: body, encoding: .utf8) {
            try c.encode(text, forKey: .body)
        } else {
            try c.encode(body.base64EncodedString(), forKey: .bodyBase64)
        }
    }
}

extension UploadEvent: Encodable {
    private enum Key: String, CodingKey { case type, attempt, sent, total, delay, reason, response, error }

    /// Server-sent event payloads: `{"type": "queued" | "started" | "progress" | "retrying" |
    /// "succeeded" | "failed" | "canceled", ...}` (`attempt`; `sent`/`total`; `delay` in seconds
    /// and `reason`; `response`; `error`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .queued:
            try c.encode("queued", forKey: .type)
        case .started(let attempt):
            try c.encode("started", forKey: .type)
            try c.encode(attempt, forKey: .attempt)
        case .progress(let progress):
            try c.encode("progress", forKey: .type)
            try c.encode(progress.sent, forKey: .sent)
            try c.encode(progress.total, forKey: .total)
        case .retrying(let attempt, let delay, let reason):
            try c.encode("retrying", forKey: .type)
            try c.encode(attempt, forKey: .attempt)
            let (seconds, attoseconds) = delay.components
            try c.encode(Double(seconds) + Double(attoseconds) / 1e18, forKey: .delay)
            try c.encode(reason, forKey: .reason)
        case .succeeded(let response):
            try c.encode("succeeded", forKey: .type)
            try c.encode(response, forKey: .response)
        case .failed(let error):
            try c.encode("failed", forKey: .type)
            try c.encode(ErrorForm(error), forKey: .error)
        case .canceled:
            try c.encode("canceled", forKey: .type)
        }
    }

    /// The name for an SSE `event:` line (`upload-progress`, `upload-succeeded`, …).
    public var eventName: String {
        switch self {
        case .queued: "upload-queued"
        case .started: "upload-started"
        case .progress: "upload-progress"
        case .retrying: "upload-retrying"
        case .succeeded: "upload-succeeded"
        case .failed: "upload-failed"
        case .canceled: "upload-canceled"
        }
    }
}

/// The DWT error shape, `{"code", "message", "cause"?: {"code", "message"}}`.
private struct ErrorForm: Encodable {
    struct Cause: Encodable {
        var code: Int
        var message: String
    }

    var code: Int
    var message: String
    var cause: Cause?

    init(_ error: ScanBridgeError) {
        code = error.code
        message = error.message
        cause = error.cause.map { Cause(code: $0.code, message: $0.message) }
    }
}
