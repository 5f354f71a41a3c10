// OpenSSL for the stores: AES-256-GCM, scrypt, SHA-256 and random bytes. Callers see `[UInt8]`
// and a typed failure; the pointer code stays here. Key derivation and whole-page encryption
// block: call them on a `BlockingQueue`, never on the cooperative pool.
import COpenSSL

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
