// The only file of ScanBridgeStorage with unsafe pointer code: POSIX file calls and OpenSSL
// (AES-256-GCM, scrypt, SHA-256, random bytes). Everything above sees `[UInt8]`, `String` paths
// and typed errors. Every function here blocks: call them on `BlockingQueue`, never on the
// cooperative pool.
import COpenSSL
import ScanBridgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: which call, on which path, and `errno`.
struct SystemCallError: Error, Sendable, Equatable {
    var call: String
    var path: String
    var errno: Int32
}

/// A container file (see `Container`) whose bytes are not what was written: wrong magic,
/// truncated, or (sealed) the authentication tag does not match the key and associated data.
struct ContainerError: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable { case malformed, authenticationFailed }
    var kind: Kind
    var path: String
}

// MARK: - POSIX

enum Posix {
    static func retrying<T: BinaryInteger>(_ call: String, _ path: String, _ body: () -> T) throws(SystemCallError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SystemCallError(call: call, path: path, errno: code)
        }
    }

    /// Creates `path` for writing; fails if it exists. Mode 0600: only the service reads its files.
    static func createFile(_ path: String) throws(SystemCallError) -> Int32 {
        try retrying("open", path) { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
    }

    static func openForReading(_ path: String) throws(SystemCallError) -> Int32 {
        try retrying("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    static func fsync(_ fd: Int32, _ path: String) throws(SystemCallError) {
        _ = try retrying("fsync", path) { Glibc.fsync(fd) }
    }

    /// fsync of a directory, so that a rename or unlink inside it is durable.
    static func fsyncDirectory(_ path: String) throws(SystemCallError) {
        let fd = try retrying("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try fsync(fd, path)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let written = try retrying("write", path) { write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            offset += written
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(SystemCallError) {
        var failure: SystemCallError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) { try writeAll(fd, raw, path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads exactly `buffer.count` bytes; false when the file ends first.
    static func readExactly(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ path: String) throws(SystemCallError) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let got = try retrying("read", path) { read(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            if got == 0 { return false }
            offset += got
        }
        return true
    }

    static func fileSize(_ fd: Int32, _ path: String) throws(SystemCallError) -> Int {
        var info = stat()
        _ = try retrying("fstat", path) { fstat(fd, &info) }
        return Int(info.st_size)
    }

    enum Kind: Sendable { case file, directory, other }

    /// What `path` is, or nil when it does not exist (lstat: symbolic links are `other`).
    static func kind(_ path: String) throws(SystemCallError) -> Kind? {
        var info = stat()
        if lstat(path, &info) != 0 {
            let code = Glibc.errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw SystemCallError(call: "lstat", path: path, errno: code)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    static func rename(_ from: String, _ to: String) throws(SystemCallError) {
        _ = try retrying("rename", from) { Glibc.rename(from, to) }
    }

    /// Removes a file; a missing file is not an error.
    static func unlink(_ path: String) throws(SystemCallError) {
        if Glibc.unlink(path) != 0, Glibc.errno != ENOENT {
            throw SystemCallError(call: "unlink", path: path, errno: Glibc.errno)
        }
    }

    /// Creates a directory (mode 0700); an existing directory is fine when `existingOK`.
    static func makeDirectory(_ path: String, existingOK: Bool) throws(SystemCallError) {
        if mkdir(path, 0o700) != 0 {
            let code = Glibc.errno
            if code == EEXIST, existingOK, (try? kind(path)) == .directory { return }
            throw SystemCallError(call: "mkdir", path: path, errno: code)
        }
    }

    /// The names in a directory, without `.` and `..`.
    static func list(_ path: String) throws(SystemCallError) -> [String] {
        guard let dir = opendir(path) else { throw SystemCallError(call: "opendir", path: path, errno: Glibc.errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes `path` and everything below it (symbolic links are removed, never followed).
    static func removeTree(_ path: String) throws(SystemCallError) {
        guard let what = try kind(path) else { return }
        if what == .directory {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0, Glibc.errno != ENOENT { throw SystemCallError(call: "rmdir", path: path, errno: Glibc.errno) }
        } else {
            try unlink(path)
        }
    }

    /// Opens (creating) `path` and takes an exclusive advisory lock without waiting. Returns the
    /// descriptor holding the lock, or nil when another process (or descriptor) holds it.
    static func tryLock(_ path: String) throws(SystemCallError) -> Int32? {
        let fd = try retrying("open", path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = Glibc.errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw SystemCallError(call: "flock", path: path, errno: code)
        }
        return fd
    }

    /// Seconds since `path` was last modified, or nil when it cannot be read.
    static func ageSeconds(_ path: String) -> Double? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec - info.st_mtim.tv_sec)
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

// MARK: - Memory

public enum MemoryPolicy {
    /// Makes glibc serve every allocation of 1 MiB or more with its own mmap and return it to the
    /// system when freed. Page buffers are tens of MB and are allocated on one thread (the scanner,
    /// the buffer's I/O queue) and freed on another; with glibc's default dynamic threshold they
    /// land in per-thread heap arenas that keep freed memory, and the process's resident size
    /// grows to a multiple of `BufferMemoryLimit`. Idempotent; `ImageBuffer.open` calls it.
    ///
    /// Fixing the mmap threshold also fixes glibc's trim threshold at its 128 KiB default, so
    /// the free top of a heap was given back after every request and the next one faulted it in
    /// again: a BW thumbnail request's few hundred KB of scratch were 4 % of the service's CPU
    /// in page faults (perf, `make batch-bench`). Each heap keeps up to 4 MiB free instead.
    public static func returnLargeAllocationsToSystem() {
        #if canImport(Glibc)
        _ = glibcMallopt(mmapThreshold, 1 << 20)
        _ = glibcMallopt(trimThreshold, 1 << 22)
        #endif
    }

    /// `M_MMAP_THRESHOLD` and `M_TRIM_THRESHOLD` from <malloc.h> (not exported by the Glibc module).
    private static let mmapThreshold: Int32 = -3
    private static let trimThreshold: Int32 = -1
}

#if canImport(Glibc)
/// glibc's `int mallopt(int param, int value)`; <malloc.h> is not part of the Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

// MARK: - OpenSSL

enum Crypto {
    static let keyLength = 32
    static let nonceLength = 12
    static let tagLength = 16

    struct Failure: Error, Sendable { var operation: String }

    static func randomBytes(_ count: Int) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard ok == 1 else { throw Failure(operation: "RAND_bytes") }
        return bytes
    }

    /// SHA-256 of `parts` one after another (a page's header and payload without joining them:
    /// the payload is megabytes).
    static func sha256(_ parts: [UInt8]...) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        guard let context = EVP_MD_CTX_new() else { return digest }
        defer { EVP_MD_CTX_free(context) }
        var size: UInt32 = 0
        _ = EVP_DigestInit_ex(context, EVP_sha256(), nil)
        for part in parts {
            part.withUnsafeBytes { input in _ = EVP_DigestUpdate(context, input.baseAddress, input.count) }
        }
        digest.withUnsafeMutableBufferPointer { output in _ = EVP_DigestFinal_ex(context, output.baseAddress, &size) }
        return digest
    }

    /// scrypt (RFC 7914) through OpenSSL: a 32-byte key from `password` and `salt`.
    static func scrypt(password: [UInt8], salt: [UInt8], n: UInt64, r: UInt64, p: UInt64) throws(Failure) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: keyLength)
        let maxMemory = 128 * n * r + 1 << 20
        let ok = password.withUnsafeBytes { pass in
            salt.withUnsafeBufferPointer { saltBytes in
                key.withUnsafeMutableBufferPointer { out in
                    EVP_PBE_scrypt(pass.baseAddress?.assumingMemoryBound(to: CChar.self), pass.count,
                                   saltBytes.baseAddress, saltBytes.count, n, r, p, maxMemory,
                                   out.baseAddress, out.count)
                }
            }
        }
        guard ok == 1 else { throw Failure(operation: "EVP_PBE_scrypt") }
        return key
    }

    /// A GCM context for one message: encrypt (`nonce` fresh) or decrypt.
    final class GCM {
        let context: OpaquePointer
        let encrypting: Bool

        init(key: [UInt8], nonce: [UInt8], aad: [UInt8], encrypting: Bool) throws(Failure) {
            precondition(key.count == keyLength && nonce.count == nonceLength)
            guard let context = EVP_CIPHER_CTX_new() else { throw Failure(operation: "EVP_CIPHER_CTX_new") }
            self.context = context
            self.encrypting = encrypting
            let initOK = key.withUnsafeBufferPointer { k in
                nonce.withUnsafeBufferPointer { iv in
                    encrypting
                        ? EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, k.baseAddress, iv.baseAddress)
                        : EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, k.baseAddress, iv.baseAddress)
                }
            }
            guard initOK == 1 else { throw Failure(operation: "EVP_CipherInit_ex") }
            if !aad.isEmpty {
                var outLength: Int32 = 0
                let ok = aad.withUnsafeBufferPointer { a in
                    encrypting
                        ? EVP_EncryptUpdate(context, nil, &outLength, a.baseAddress, Int32(a.count))
                        : EVP_DecryptUpdate(context, nil, &outLength, a.baseAddress, Int32(a.count))
                }
                guard ok == 1 else { throw Failure(operation: "EVP_CipherUpdate(aad)") }
            }
        }

        deinit { EVP_CIPHER_CTX_free(context) }

        /// Transforms `input` into `output` (same length; they may be the same memory).
        func update(_ input: UnsafeRawPointer, _ output: UnsafeMutableRawPointer, count: Int) throws(Failure) {
            var offset = 0
            while offset < count {
                let chunk = min(count - offset, 1 << 30)
                var outLength: Int32 = 0
                let inPtr = (input + offset).assumingMemoryBound(to: UInt8.self)
                let outPtr = (output + offset).assumingMemoryBound(to: UInt8.self)
                let ok = encrypting
                    ? EVP_EncryptUpdate(context, outPtr, &outLength, inPtr, Int32(chunk))
                    : EVP_DecryptUpdate(context, outPtr, &outLength, inPtr, Int32(chunk))
                guard ok == 1, Int(outLength) == chunk else { throw Failure(operation: "EVP_CipherUpdate") }
                offset += chunk
            }
        }

        func update(_ bytes: [UInt8]) throws(Failure) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: bytes.count)
            var failure: Failure?
            bytes.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output in
                    guard let i = input.baseAddress, let o = output.baseAddress else { return }
                    do throws(Failure) { try update(i, o, count: input.count) } catch { failure = error }
                }
            }
            if let failure { throw failure }
            return out
        }

        /// Encrypting: finishes and returns the tag.
        func finishEncrypting() throws(Failure) -> [UInt8] {
            var outLength: Int32 = 0
            var scratch = [UInt8](repeating: 0, count: 32)
            guard scratch.withUnsafeMutableBufferPointer({ EVP_EncryptFinal_ex(context, $0.baseAddress, &outLength) }) == 1 else {
                throw Failure(operation: "EVP_EncryptFinal_ex")
            }
            var tag = [UInt8](repeating: 0, count: tagLength)
            guard tag.withUnsafeMutableBytes({ EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), $0.baseAddress) }) == 1 else {
                throw Failure(operation: "EVP_CTRL_GCM_GET_TAG")
            }
            return tag
        }

        /// Decrypting: checks `tag`; false when the data, key or associated data do not match.
        func finishDecrypting(tag: [UInt8]) -> Bool {
            guard tag.count == tagLength else { return false }
            var tagCopy = tag
            guard tagCopy.withUnsafeMutableBytes({ EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), $0.baseAddress) }) == 1 else {
                return false
            }
            var outLength: Int32 = 0
            var scratch = [UInt8](repeating: 0, count: 32)
            return scratch.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(context, $0.baseAddress, &outLength) } == 1
        }
    }

    /// nonce ‖ ciphertext ‖ tag of `plaintext` under `key` (a fresh random nonce).
    static func seal(_ plaintext: [UInt8], key: [UInt8], aad: [UInt8]) throws(Failure) -> [UInt8] {
        let nonce = try randomBytes(nonceLength)
        let gcm = try GCM(key: key, nonce: nonce, aad: aad, encrypting: true)
        let body = try gcm.update(plaintext)
        return nonce + body + (try gcm.finishEncrypting())
    }

    /// The plaintext of `seal`'s output, or nil when it does not authenticate.
    static func open(_ sealed: [UInt8], key: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard sealed.count >= nonceLength + tagLength else { return nil }
        let nonce = Array(sealed[0..<nonceLength])
        let body = Array(sealed[nonceLength..<(sealed.count - tagLength)])
        let tag = Array(sealed[(sealed.count - tagLength)...])
        guard let gcm = try? GCM(key: key, nonce: nonce, aad: aad, encrypting: false),
              let plain = try? gcm.update(body), gcm.finishDecrypting(tag: tag) else { return nil }
        return plain
    }
}

// MARK: - Container files

/// The on-disk form of every page file (buffer cache and documents):
/// - plain: `SBPLAIN1` ‖ u32le header length ‖ header ‖ payload
/// - sealed: `SBSEAL01` ‖ nonce(12) ‖ AES-256-GCM(u32le header length ‖ header ‖ payload) ‖ tag(16),
///   with caller-chosen associated data (binds the file to its owner and name).
/// Writing streams through a 1 MiB scratch buffer and reading decrypts in place, so a 26 MB page
/// costs no second copy of itself in memory.
enum Container {
    static let plainMagic = Array("SBPLAIN1".utf8)
    static let sealedMagic = Array("SBSEAL01".utf8)
    static let chunk = 1 << 20

    enum Failure: Error, Sendable {
        case system(SystemCallError)
        case crypto(Crypto.Failure)
        case container(ContainerError)
    }

    /// Writes a new file at `path` (which must not exist); with `durable`, fsyncs it before closing.
    /// On failure the partial file is removed.
    static func write(path: String, header: [UInt8], payload: [UInt8], key: [UInt8]?, aad: [UInt8],
                      durable: Bool) throws(Failure) {
        let fd: Int32
        do { fd = try Posix.createFile(path) } catch { throw .system(error) }
        var completed = false
        defer {
            Posix.close(fd)
            if !completed { try? Posix.unlink(path) }
        }
        let prefix = withUnsafeBytes(of: UInt32(header.count).littleEndian) { Array($0) } + header
        do {
            if let key {
                let nonce = try Crypto.randomBytes(Crypto.nonceLength)
                let gcm = try Crypto.GCM(key: key, nonce: nonce, aad: aad, encrypting: true)
                try Posix.writeAll(fd, sealedMagic + nonce, path)
                try Posix.writeAll(fd, try gcm.update(prefix), path)
                var scratch = [UInt8](repeating: 0, count: min(chunk, max(payload.count, 1)))
                var failure: Failure?
                payload.withUnsafeBytes { input in
                    scratch.withUnsafeMutableBytes { output in
                        var offset = 0
                        while offset < input.count {
                            let n = min(chunk, input.count - offset)
                            do {
                                try gcm.update(input.baseAddress! + offset, output.baseAddress!, count: n)
                                try Posix.writeAll(fd, UnsafeRawBufferPointer(rebasing: output[0..<n]), path)
                            } catch let error as SystemCallError { failure = .system(error); return
                            } catch let error as Crypto.Failure { failure = .crypto(error); return
                            } catch { return }
                            offset += n
                        }
                    }
                }
                if let failure { throw failure }
                try Posix.writeAll(fd, try gcm.finishEncrypting(), path)
            } else {
                try Posix.writeAll(fd, plainMagic + prefix, path)
                try Posix.writeAll(fd, payload, path)
            }
            if durable { try Posix.fsync(fd, path) }
        } catch let error as SystemCallError { throw .system(error)
        } catch let error as Crypto.Failure { throw .crypto(error)
        } catch let error as Failure { throw error
        } catch { throw .crypto(.init(operation: "unexpected \(error)")) }
        completed = true
    }

    /// Reads a file written by `write` with the same key (nil for plain) and associated data.
    static func read(path: String, key: [UInt8]?, aad: [UInt8]) throws(Failure) -> (header: [UInt8], payload: [UInt8]) {
        let fd: Int32
        do { fd = try Posix.openForReading(path) } catch { throw .system(error) }
        defer { Posix.close(fd) }
        let malformed = Failure.container(ContainerError(kind: .malformed, path: path))
        do {
            let size = try Posix.fileSize(fd, path)
            var magic = [UInt8](repeating: 0, count: 8)
            guard try magic.withUnsafeMutableBytes({ try Posix.readExactly(fd, $0, path) }) else { throw malformed }
            let gcm: Crypto.GCM?
            var remaining: Int
            if magic == sealedMagic {
                guard let key else { throw Failure.container(ContainerError(kind: .authenticationFailed, path: path)) }
                var nonce = [UInt8](repeating: 0, count: Crypto.nonceLength)
                guard try nonce.withUnsafeMutableBytes({ try Posix.readExactly(fd, $0, path) }) else { throw malformed }
                gcm = try Crypto.GCM(key: key, nonce: nonce, aad: aad, encrypting: false)
                remaining = size - 8 - Crypto.nonceLength - Crypto.tagLength
            } else if magic == plainMagic {
                gcm = nil
                remaining = size - 8
            } else {
                throw malformed
            }
            // Reads `count` bytes of plaintext into a new array, decrypting in place.
            func pull(_ count: Int) throws -> [UInt8] {
                guard count >= 0, count <= remaining else { throw malformed }
                var failure: Error?
                // Not zero-filled first: every byte is read (or the read fails and the array is dropped).
                let bytes = [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
                    initialized = count
                    guard count > 0 else { return }
                    let buffer = UnsafeMutableRawBufferPointer(storage)
                    HugePages.advise(buffer)
                    do {
                        guard try Posix.readExactly(fd, buffer, path) else { failure = malformed; return }
                        try gcm?.update(buffer.baseAddress!, buffer.baseAddress!, count: count)
                    } catch { failure = error }
                }
                if let failure { throw failure }
                remaining -= count
                return bytes
            }
            let lengthBytes = try pull(4)
            let headerLength = Int(UInt32(lengthBytes[0]) | UInt32(lengthBytes[1]) << 8 | UInt32(lengthBytes[2]) << 16 | UInt32(lengthBytes[3]) << 24)
            let header = try pull(headerLength)
            let payload = try pull(remaining)
            if let gcm {
                var tag = [UInt8](repeating: 0, count: Crypto.tagLength)
                guard try tag.withUnsafeMutableBytes({ try Posix.readExactly(fd, $0, path) }),
                      gcm.finishDecrypting(tag: tag) else {
                    throw Failure.container(ContainerError(kind: .authenticationFailed, path: path))
                }
            }
            return (header, payload)
        } catch let error as SystemCallError { throw .system(error)
        } catch let error as Crypto.Failure { throw .crypto(error)
        } catch let error as Failure { throw error
        } catch { throw malformed }
    }
}
