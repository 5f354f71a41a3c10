// The reference: the same durable upload written directly against libcurl's C API, in this
// process. Each document is staged the way a careful program makes it survive a restart
// (written to a temporary name, fsync'd, renamed into place), sent from that file with a read
// callback, and its file removed once the server answered 2xx. `workers` threads run uploads
// side by side, each reusing one easy handle; the request matches ours on the wire (PUT,
// Content-Type, no `Expect: 100-continue`, a 512 KiB upload buffer).
import CLibCurl
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct ReferenceFailure: Error, CustomStringConvertible {
    var description: String
}

final class LibcurlReference: Sendable {
    let folder: String
    private let workers: Int

    init(folder: String, workers: Int) {
        _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.folder = folder
        self.workers = workers
    }

    /// Stages and sends every document (`documents[i]` to `urls[i]`) on `workers` threads; returns
    /// once each one's staged file is gone after a 2xx. Throws the first failure.
    func upload(_ documents: [Data], to urls: [String]) throws {
        let next = Atomic<Int>(0)
        let failure = Mutex<ReferenceFailure?>(nil)
        let done = DispatchSemaphore(value: 0)
        let threads = min(workers, documents.count)
        for worker in 0..<threads {
            let folder = self.folder
            Thread {
                defer { done.signal() }
                guard let easy = curl_easy_init() else {
                    failure.withLock { $0 = $0 ?? ReferenceFailure(description: "curl_easy_init failed") }
                    return
                }
                defer { curl_easy_cleanup(easy) }
                while true {
                    let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard index < documents.count, failure.withLock({ $0 == nil }) else { return }
                    do {
                        let path = "\(folder)/\(worker)-\(index).data"
                        try Self.stage(documents[index], at: path)
                        try Self.send(easy, path: path, byteCount: documents[index].count, url: urls[index])
                        unlink(path)
                    } catch let error as ReferenceFailure {
                        failure.withLock { $0 = $0 ?? error }
                    } catch {
                        failure.withLock { $0 = $0 ?? ReferenceFailure(description: "\(error)") }
                    }
                }
            }.start()
        }
        for _ in 0..<threads { done.wait() }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// write + fsync under a temporary name, then rename: the file is whole or absent after a crash.
    static func stage(_ data: Data, at path: String) throws {
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ReferenceFailure(description: "open \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        let ok = data.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            throw ReferenceFailure(description: "staging \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// One PUT of the file at `path` on a reused easy handle.
    static func send(_ easy: UnsafeMutableRawPointer, path: String, byteCount: Int, url: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReferenceFailure(description: "open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var source = ReadSource(fd: fd)
        var headers: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Content-Type: application/octet-stream")
        headers = curl_slist_append(headers, "Expect:")
        defer { curl_slist_free_all(headers) }
        curl_easy_reset(easy)
        let result = withUnsafeMutablePointer(to: &source) { sourcePointer -> CURLcode in
            var codes: [CURLcode] = []
            codes.append(sb_curl_easy_setopt_string(easy, CURLOPT_URL, url))
            codes.append(sb_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
            codes.append(sb_curl_easy_setopt_long(easy, CURLOPT_UPLOAD, 1))
            codes.append(sb_curl_easy_setopt_long(easy, CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10))
            codes.append(sb_curl_easy_setopt_offset(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(byteCount)))
            codes.append(sb_curl_easy_setopt_read(easy, referenceRead))
            codes.append(sb_curl_easy_setopt_pointer(easy, CURLOPT_READDATA, UnsafeMutableRawPointer(sourcePointer)))
            codes.append(sb_curl_easy_setopt_write(easy, referenceDiscard))
            codes.append(sb_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headers))
            if let refused = codes.first(where: { $0 != CURLE_OK }) { return refused }
            return curl_easy_perform(easy)
        }
        var status = 0
        _ = sb_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        guard result == CURLE_OK, (200..<300).contains(status) else {
            throw ReferenceFailure(description: "PUT \(url): \(String(cString: curl_easy_strerror(result))), status \(status)")
        }
    }
}

/// The read callback's state: the staged file, read front to back.
private struct ReadSource {
    var fd: Int32
}

private let referenceRead: curl_read_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return Int(CURL_READFUNC_ABORT) }
    let fd = userdata.assumingMemoryBound(to: ReadSource.self).pointee.fd
    while true {
        let n = read(fd, buffer, size * count)
        if n < 0, errno == EINTR { continue }
        return n < 0 ? Int(CURL_READFUNC_ABORT) : n
    }
}

private let referenceDiscard: curl_write_callback = { _, size, count, _ in size * count }
