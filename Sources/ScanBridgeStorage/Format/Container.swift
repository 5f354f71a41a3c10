// The container format of every page file. Blocking file I/O: call it on a `BlockingQueue`.
import ScanBridgeCore

/// A container file (see `Container`) whose bytes are not what was written: wrong magic,
/// truncated, or (sealed) the authentication tag does not match the key and associated data.
struct ContainerError: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable { case malformed, authenticationFailed }
    var kind: Kind
    var path: String
}

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
