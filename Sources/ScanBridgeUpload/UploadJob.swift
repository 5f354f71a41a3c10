// One run of one upload: wait for a slot, send with retries and backoff inside the total
// timeout, S3 multipart when large (aborted on failure). Runs off the actor; every libcurl
// request goes to the upload thread.
import Foundation
import Logging
import ScanBridgeCore

/// Why a run ended without success; `response` is the server's answer when there was one.
struct UploadFailure: Error, Sendable {
    var error: ScanBridgeError
    var response: UploadResponse?
    var canceled: Bool { error.code == UploadErrorCode.canceled }
}

struct UploadJob: Sendable {
    var id: UploadID
    var target: UploadTarget
    var options: UploadOptions
    var document: StagedDocument
    var engine: CurlMultiThread
    var limiter: AsyncLimiter
    var monitor: UploadMonitor
    var logger: Logger

    private var secrets: [String] { target.secrets }
    private var targetName: String { target.redactedDescription }

    /// The whole run. Returns the server's response on success.
    func run() async -> Result<UploadResponse, UploadFailure> {
        monitor.emit(.queued)
        guard await limiter.acquire() else { return .failure(canceledFailure()) }
        defer { limiter.release() }
        let deadline = ContinuousClock.now + options.totalTimeout
        do {
            return .success(try await send(deadline: deadline))
        } catch {
            return .failure(error)
        }
    }

    private func send(deadline: ContinuousClock.Instant) async throws(UploadFailure) -> UploadResponse {
        let total = document.byteCount
        switch target {
        case .httpPost(let t):
            return response(try await request(TransferBuilders.httpPost(t, document, options), deadline: deadline, base: 0, total: total))
        case .httpPut(let t):
            return response(try await request(TransferBuilders.httpPut(t, document, options), deadline: deadline, base: 0, total: total))
        case .ftp(let t):
            return response(try await request(TransferBuilders.ftp(t, document, options), deadline: deadline, base: 0, total: total, ftp: true))
        case .s3(let t):
            if total <= t.multipartThreshold {
                let spec = TransferBuilders.s3(t, options, method: .put,
                                               body: document.body(offset: 0, length: total),
                                               headers: TransferBuilders.withContentType(t.headers, document.contentType))
                return response(try await request(spec, deadline: deadline, base: 0, total: total))
            }
            return try await s3Multipart(t, deadline: deadline)
        }
    }

    // MARK: S3 multipart

    private func s3Multipart(_ t: S3Target, deadline: ContinuousClock.Instant) async throws(UploadFailure) -> UploadResponse {
        let total = document.byteCount
        let create = TransferBuilders.s3(t, options, method: .post, query: "uploads=",
                                         headers: TransferBuilders.withContentType(t.headers, document.contentType))
        let created = try await request(create, deadline: deadline, base: 0, total: total)
        guard let uploadID = S3XML.text(of: "UploadId", in: String(decoding: created.body, as: UTF8.self)), !uploadID.isEmpty else {
            throw failure(UploadErrorCode.rejected, "S3 CreateMultipartUpload answer has no UploadId", response: response(created))
        }
        let uploadQuery = "uploadId=" + TransferBuilders.sigV4Encode(uploadID)
        logger.debug("S3 multipart upload created", metadata: ["upload": "\(id)", "parts": "\((total + t.partSize - 1) / t.partSize)"])
        do throws(UploadFailure) {
            var etags: [String] = []
            var offset: Int64 = 0
            while offset < total {
                let length = min(t.partSize, total - offset)
                let part = TransferBuilders.s3(t, options, method: .put,
                                               query: "partNumber=\(etags.count + 1)&" + uploadQuery,
                                               body: document.body(offset: offset, length: length))
                let answer = try await request(part, deadline: deadline, base: offset, total: total)
                guard let etag = answer.headers.last(where: { $0.name.lowercased() == "etag" })?.value else {
                    throw failure(UploadErrorCode.rejected, "S3 UploadPart answer has no ETag", response: response(answer))
                }
                etags.append(etag)
                offset += length
            }
            let complete = TransferBuilders.s3(t, options, method: .post, query: uploadQuery,
                                               body: .bytes(S3XML.completeBody(etags: etags)),
                                               headers: [HeaderField("Content-Type", "application/xml")])
            let completed = try await request(complete, deadline: deadline, base: total, total: total)
            // S3 may answer 200 and still fail: the error is then in the body.
            if S3XML.text(of: "Code", in: String(decoding: completed.body, as: UTF8.self)) != nil {
                throw failure(UploadErrorCode.rejected, "S3 CompleteMultipartUpload failed", response: response(completed))
            }
            return response(completed)
        } catch {
            await abortMultipart(t, uploadQuery: uploadQuery)
            throw error
        }
    }

    /// Deletes the parts of an unfinished multipart upload. Runs even when the upload was
    /// canceled or timed out (its own short limit), so nothing is left half-done on the server.
    private func abortMultipart(_ t: S3Target, uploadQuery: String) async {
        var spec = TransferBuilders.s3(t, options, method: .delete, query: uploadQuery)
        spec.timeoutMilliseconds = 10_000
        let engine = self.engine
        let outcome = await Task.detached { await engine.perform(CurlTransfer(spec: spec, progress: { _ in })) }.value
        let ok = outcome.curlCode == CurlCode.ok && (200..<300).contains(outcome.responseCode)
        logger.log(level: ok ? .debug : .warning, "S3 multipart upload aborted",
                   metadata: ["upload": "\(id)", "status": "\(outcome.responseCode)",
                              "result": "\(Redaction.scrub(outcome.curlMessage, secrets: secrets))"])
    }

    // MARK: one request with retries

    /// Sends one request, retrying connection errors and 5xx/408/429 with exponential backoff
    /// until it succeeds, `maxAttempts` is used up or the deadline passes.
    private func request(_ spec: TransferSpec, deadline: ContinuousClock.Instant, base: Int64, total: Int64,
                         ftp: Bool = false) async throws(UploadFailure) -> TransferOutcome {
        var backoff = options.initialBackoff
        var attempt = 1
        while true {
            if Task.isCancelled { throw canceledFailure() }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw timeoutFailure(nil) }
            if base == 0 || attempt > 1 { monitor.emit(.started(attempt: attempt)) }
            var attemptSpec = spec
            attemptSpec.timeoutMilliseconds = TransferBuilders.milliseconds(remaining)
            let monitor = self.monitor
            let transfer = CurlTransfer(spec: attemptSpec) { progress in
                monitor.progress(UploadProgress(sent: min(total, base + progress.sent), total: total))
            }
            let outcome = await engine.perform(transfer)
            if outcome.canceled || Task.isCancelled { throw canceledFailure() }

            let status = outcome.responseCode
            if outcome.curlCode == CurlCode.ok && (ftp || (200..<300).contains(status)) { return outcome }

            let reason: String
            let retryable: Bool
            let failure: UploadFailure
            if outcome.curlCode == CurlCode.ok {
                reason = "server answered \(status)"
                retryable = (500..<600).contains(status) || status == 408 || status == 429
                failure = self.failure(UploadErrorCode.rejected, "upload to \(targetName) was refused: \(reason)",
                                       response: response(outcome))
            } else {
                reason = Redaction.scrub(outcome.curlMessage, secrets: secrets)
                if outcome.curlCode == CurlCode.operationTimedOut && deadline - ContinuousClock.now <= .milliseconds(1) {
                    throw timeoutFailure(reason)
                }
                retryable = CurlCode.retryable.contains(outcome.curlCode)
                let server = status > 0 ? response(outcome) : nil
                failure = self.failure(UploadErrorCode.transferFailed, "upload to \(targetName) failed: \(reason)",
                                       cause: .init(code: outcome.curlCode, message: "libcurl: \(reason)"), response: server)
            }
            guard retryable, attempt < options.maxAttempts else {
                logger.debug("upload request failed", metadata: ["upload": "\(id)", "attempt": "\(attempt)", "reason": "\(reason)"])
                throw failure
            }
            let delay = min(backoff, options.maxBackoff)
            guard deadline - ContinuousClock.now > delay else { throw timeoutFailure(reason) }
            attempt += 1
            logger.info("upload attempt failed, retrying",
                        metadata: ["upload": "\(id)", "reason": "\(reason)", "next_attempt": "\(attempt)", "delay": "\(delay)"])
            monitor.emit(.retrying(attempt: attempt, delay: delay, reason: reason))
            do { try await Task.sleep(for: delay) } catch { throw canceledFailure() }
            backoff = min(backoff * 2, options.maxBackoff)
        }
    }

    // MARK: helpers

    private func response(_ outcome: TransferOutcome) -> UploadResponse {
        UploadResponse(statusCode: outcome.responseCode, body: outcome.body, headers: outcome.headers)
    }

    private func failure(_ code: Int, _ message: String, cause: ScanBridgeError.Cause? = nil,
                         response: UploadResponse? = nil) -> UploadFailure {
        let secrets = self.secrets
        let cause = cause.map { ScanBridgeError.Cause(code: $0.code, message: Redaction.scrub($0.message, secrets: secrets)) }
        return UploadFailure(error: ScanBridgeError(code: code, message: Redaction.scrub(message, secrets: secrets), cause: cause),
                             response: response)
    }

    private func canceledFailure() -> UploadFailure {
        failure(UploadErrorCode.canceled, "upload to \(targetName) was canceled")
    }

    private func timeoutFailure(_ reason: String?) -> UploadFailure {
        let detail = reason.map { " (last error: \($0))" } ?? ""
        return failure(UploadErrorCode.timedOut, "upload to \(targetName) did not finish within \(options.totalTimeout)\(detail)")
    }
}
