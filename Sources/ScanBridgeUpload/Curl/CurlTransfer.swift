// One libcurl easy handle and the state its callbacks use. Unsafe pointer code of the upload
// subsystem lives here and in CurlMultiThread.swift only.
//
// Threading: `prepare`, the callbacks and `finish` run on the upload thread only. `cancel()` and
// `isCanceled` may be called from any thread (an atomic flag).
import CLibCurl
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

final class CurlTransfer: @unchecked Sendable {
    let spec: TransferSpec
    private let progress: @Sendable (UploadProgress) -> Void
    private let canceledFlag = Atomic<Bool>(false)

    // Upload-thread state.
    private(set) var easy: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var mime: OpaquePointer?
    private var errorBufferPointer: UnsafeMutablePointer<CChar>?
    private var fileDescriptor: Int32 = -1
    /// The body when it is held in memory instead of a file.
    private var memoryBody: Data?
    private var fileOffset: Int64 = 0
    private var fileLength: Int64 = 0
    private var filePosition: Int64 = 0
    private var responseBody = Data()
    private var responseHeaders: [HeaderField] = []
    private var lastReported = UploadProgress(sent: -1, total: -1)
    private var completion: (@Sendable (TransferOutcome) -> Void)?

    init(spec: TransferSpec, progress: @escaping @Sendable (UploadProgress) -> Void) {
        self.spec = spec
        self.progress = progress
    }

    deinit {
        releaseResources()
    }

    var isCanceled: Bool { canceledFlag.load(ordering: .acquiring) }

    func cancel() { canceledFlag.store(true, ordering: .releasing) }

    func setCompletion(_ completion: @escaping @Sendable (TransferOutcome) -> Void) {
        self.completion = completion
    }

    /// Creates and configures the easy handle; nil with a message when that fails.
    func prepare() -> String? {
        guard let handle = curl_easy_init() else { return "libcurl could not create a handle" }
        easy = handle
        let me = Unmanaged.passUnretained(self).toOpaque()
        errorBufferPointer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBufferPointer?.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        var failures: [CURLcode] = []
        func set(_ option: CURLoption, _ value: Int) { failures.append(sb_curl_easy_setopt_long(handle, option, value)) }
        func set(_ option: CURLoption, _ value: String) { failures.append(sb_curl_easy_setopt_string(handle, option, value)) }
        func setOffset(_ option: CURLoption, _ value: Int64) { failures.append(sb_curl_easy_setopt_offset(handle, option, curl_off_t(value))) }

        set(CURLOPT_URL, spec.url)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_PROTOCOLS_STR, "http,https,ftp,ftps")
        set(CURLOPT_FOLLOWLOCATION, 0)
        failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBufferPointer))
        failures.append(sb_curl_easy_setopt_write(handle, curlWriteBody))
        failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me))
        failures.append(sb_curl_easy_setopt_header(handle, curlWriteHeader))
        failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me))
        failures.append(sb_curl_easy_setopt_xferinfo(handle, curlTransferInfo))
        failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, me))
        set(CURLOPT_NOPROGRESS, 0)
        set(CURLOPT_TIMEOUT_MS, spec.timeoutMilliseconds)
        set(CURLOPT_CONNECTTIMEOUT_MS, spec.connectTimeoutMilliseconds)
        set(CURLOPT_SSL_VERIFYPEER, spec.tls.verifyPeer ? 1 : 0)
        set(CURLOPT_SSL_VERIFYHOST, spec.tls.verifyPeer ? 2 : 0)
        if let caFile = spec.tls.caFile { set(CURLOPT_CAINFO, caFile) }
        if let username = spec.username { set(CURLOPT_USERNAME, username) }
        if let password = spec.password { set(CURLOPT_PASSWORD, password) }
        if let provider = spec.awsSigV4 { set(CURLOPT_AWS_SIGV4, provider) }
        if let cookie = spec.cookie { set(CURLOPT_COOKIE, cookie) }
        if let ftp = spec.ftp {
            set(CURLOPT_FTP_CREATE_MISSING_DIRS, ftp.createMissingDirectories ? Int(CURLFTP_CREATE_DIR_RETRY.rawValue) : 0)
            if ftp.requireTLS { set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }
            if !ftp.passive { set(CURLOPT_FTPPORT, "-") }
        }

        var headerLines = spec.headers.map { "\($0.name): \($0.value)" }
        if spec.awsSigV4 != nil {
            // libcurl 7.88 signs an emptied header ("Expect:") but does not send it, so the
            // signature would not match: keep 100-continue and bound its wait instead.
            set(CURLOPT_EXPECT_100_TIMEOUT_MS, 250)
        } else if spec.ftp == nil {
            headerLines.append("Expect:")
        }
        for line in headerLines { headerList = curl_slist_append(headerList, line) }
        if headerList != nil { failures.append(sb_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)) }

        switch spec.method {
        case .get: break
        case .delete: set(CURLOPT_CUSTOMREQUEST, "DELETE")
        case .put, .post: break
        }
        switch spec.body {
        case .none:
            if spec.method == .post {
                setOffset(CURLOPT_POSTFIELDSIZE_LARGE, 0)
                set(CURLOPT_COPYPOSTFIELDS, "")  // copied: a Swift string's C pointer is temporary
            }
        case .bytes(let data):
            set(CURLOPT_POST, 1)
            setOffset(CURLOPT_POSTFIELDSIZE_LARGE, Int64(data.count))
            data.withUnsafeBytes { raw in
                failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress)))
            }
        case .file, .memory:
            switch spec.body {
            case .file(let path, _, _):
                fileDescriptor = open(path, O_RDONLY | O_CLOEXEC)
                if fileDescriptor < 0 { return "cannot open the staged file: \(String(cString: strerror(errno)))" }
            case .memory(let data, _, _):
                memoryBody = data
            default:
                break
            }
            let (offset, length) = spec.body.range
            fileOffset = offset
            fileLength = length
            set(CURLOPT_UPLOAD, 1)
            set(CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10)  // fewer read callbacks than the 64 KiB default
            setOffset(CURLOPT_INFILESIZE_LARGE, length)
            failures.append(sb_curl_easy_setopt_read(handle, curlReadFile))
            failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_READDATA, me))
            failures.append(sb_curl_easy_setopt_seek(handle, curlSeekFile))
            failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_SEEKDATA, me))
        case .multipart(let parts):
            guard let form = curl_mime_init(handle) else { return "libcurl could not create a form" }
            mime = form
            for part in parts {
                guard let mimePart = curl_mime_addpart(form) else { return "libcurl could not add a form part" }
                switch part {
                case .field(let name, let value):
                    failures.append(curl_mime_name(mimePart, name))
                    let bytes = Array(value.utf8)
                    failures.append(bytes.withUnsafeBufferPointer { buffer in
                        buffer.withMemoryRebound(to: CChar.self) { curl_mime_data(mimePart, $0.baseAddress, buffer.count) }
                    })
                case .file(let name, let fileName, let contentType, let path):
                    failures.append(curl_mime_name(mimePart, name))
                    failures.append(curl_mime_filedata(mimePart, path))
                    failures.append(curl_mime_filename(mimePart, fileName))
                    failures.append(curl_mime_type(mimePart, contentType))
                case .memory(let name, let fileName, let contentType, let data):
                    failures.append(curl_mime_name(mimePart, name))
                    failures.append(data.withUnsafeBytes { raw in
                        curl_mime_data(mimePart, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
                    })
                    failures.append(curl_mime_filename(mimePart, fileName))
                    failures.append(curl_mime_type(mimePart, contentType))
                }
            }
            failures.append(sb_curl_easy_setopt_pointer(handle, CURLOPT_MIMEPOST, UnsafeMutableRawPointer(form)))
        }
        if let failed = failures.first(where: { $0 != CURLE_OK }) {
            return "libcurl refused an option: \(String(cString: curl_easy_strerror(failed)))"
        }
        return nil
    }

    /// Collects the outcome, frees the handle and calls the completion (exactly once).
    /// Call after the handle left the multi handle. `result` is the CURLcode; nil = canceled.
    func finish(result: CURLcode?, setupFailure: String? = nil) {
        var responseCode = 0
        var uploaded: curl_off_t = 0
        if let easy {
            var code = 0
            _ = sb_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            responseCode = code
            _ = sb_curl_easy_getinfo_offset(easy, CURLINFO_SIZE_UPLOAD_T, &uploaded)
        }
        let message: String
        let code: Int
        if let setupFailure {
            code = Int(CURLE_FAILED_INIT.rawValue)
            message = setupFailure
        } else if let result {
            code = Int(result.rawValue)
            let detail = errorBufferPointer.map { String(cString: $0) } ?? ""
            message = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
        } else {
            code = CurlCode.abortedByCallback
            message = "canceled"
        }
        let outcome = TransferOutcome(curlCode: code, curlMessage: message, responseCode: responseCode,
                                      body: responseBody, headers: responseHeaders, bytesSent: Int64(uploaded),
                                      canceled: result == nil && setupFailure == nil)
        releaseResources()
        let completion = self.completion
        self.completion = nil
        completion?(outcome)
    }

    private func releaseResources() {
        if let easy { curl_easy_cleanup(easy) }
        easy = nil
        if let mime { curl_mime_free(mime) }
        mime = nil
        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
        if fileDescriptor >= 0 { close(fileDescriptor) }
        fileDescriptor = -1
        memoryBody = nil
        errorBufferPointer?.deallocate()
        errorBufferPointer = nil
    }

    // MARK: callbacks (upload thread)

    fileprivate func read(into buffer: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        if isCanceled { return Int(CURL_READFUNC_ABORT) }
        let wanted = min(Int64(count), fileLength - filePosition)
        if wanted <= 0 { return 0 }
        if let memoryBody {
            let start = Int(fileOffset + filePosition)
            memoryBody.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + start, byteCount: Int(wanted))
            }
            filePosition += wanted
            return Int(wanted)
        }
        var done = 0
        while done < Int(wanted) {
            let n = pread(fileDescriptor, buffer + done, Int(wanted) - done, off_t(fileOffset + filePosition + Int64(done)))
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return Int(CURL_READFUNC_ABORT) }
            done += n
        }
        filePosition += Int64(done)
        return done
    }

    fileprivate func seek(to offset: Int64, origin: Int32) -> Int32 {
        guard origin == SEEK_SET, offset >= 0, offset <= fileLength else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
        filePosition = offset
        return Int32(CURL_SEEKFUNC_OK)
    }

    fileprivate func appendBody(_ bytes: UnsafeRawBufferPointer) {
        let room = spec.maxResponseBody - responseBody.count
        if room > 0 { responseBody.append(contentsOf: bytes.prefix(room)) }
    }

    fileprivate func appendHeader(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            responseHeaders.removeAll()  // a new response (after 100 Continue or a retry)
        } else if let colon = line.firstIndex(of: ":"), responseHeaders.count < 200 {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            responseHeaders.append(HeaderField(name, value))
        }
    }

    fileprivate func transferInfo(uploaded: Int64, uploadTotal: Int64) -> Int32 {
        if isCanceled { return 1 }
        let now = UploadProgress(sent: uploaded, total: uploadTotal)
        if now != lastReported {
            lastReported = now
            progress(now)
        }
        return 0
    }
}

private func transfer(_ userdata: UnsafeMutableRawPointer?) -> CurlTransfer {
    Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
}

private let curlReadFile: curl_read_callback = { buffer, size, count, userdata in
    guard let buffer else { return Int(CURL_READFUNC_ABORT) }
    return transfer(userdata).read(into: buffer, count: size * count)
}

private let curlSeekFile: curl_seek_callback = { userdata, offset, origin in
    transfer(userdata).seek(to: Int64(offset), origin: origin)
}

private let curlWriteBody: curl_write_callback = { data, size, count, userdata in
    guard let data else { return 0 }
    transfer(userdata).appendBody(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

private let curlWriteHeader: curl_write_callback = { data, size, count, userdata in
    guard let data else { return 0 }
    transfer(userdata).appendHeader(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

private let curlTransferInfo: curl_xferinfo_callback = { userdata, _, _, uploadTotal, uploaded in
    transfer(userdata).transferInfo(uploaded: Int64(uploaded), uploadTotal: Int64(uploadTotal))
}
