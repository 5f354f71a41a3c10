import COpenSSL

/// A TLS failure, with OpenSSL's own description of it.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// `what`, followed by the errors OpenSSL queued on this thread (which it clears).
    static func openSSL(_ what: String) -> TLSError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            reasons.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(reasons.isEmpty ? what : "\(what): \(reasons.joined(separator: "; "))")
    }
}

/// A server-side TLS configuration (an OpenSSL `SSL_CTX`): TLS 1.2 (AEAD suites only) and 1.3, a certificate
/// chain and its private key from PEM files. Immutable once made, so shared by every
/// connection of a listener.
public final class TLSContext: Sendable {
    /// The TLS 1.2 suites offered: ECDHE with AES-GCM or ChaCha20-Poly1305, for ECDSA (the
    /// generated certificate) and RSA (one an administrator supplies) keys.
    public static let tls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"

    /// The SSL_CTX. OpenSSL allows `SSL_new` on a fully configured context from any thread.
    nonisolated(unsafe) let context: OpaquePointer

    /// Loads `certificateChainFile` (PEM, leaf first) and `privateKeyFile` (PEM) and checks that
    /// they belong together.
    public init(certificateChainFile: String, privateKeyFile: String) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .openSSL("SSL_CTX_new") }
        self.context = context
        guard sb_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else { throw .openSSL("setting TLS 1.2 as the minimum") }
        SSL_CTX_set_options(context, sb_ssl_op_no_renegotiation() | sb_ssl_op_cipher_server_preference())
        // TLS 1.2: forward-secret AEAD suites only (no CBC, no SHA-1 MACs). TLS 1.3's suites are all AEAD.
        guard SSL_CTX_set_cipher_list(context, Self.tls12Ciphers) == 1 else { throw .openSSL("setting the TLS 1.2 cipher suites") }
        // No session tickets: nothing to send after the handshake, and no ticket keys to manage.
        SSL_CTX_set_num_tickets(context, 0)
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainFile) == 1 else {
            throw .openSSL("cannot load the certificate \(certificateChainFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            throw .openSSL("cannot load the private key \(privateKeyFile)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw .openSSL("the private key \(privateKeyFile) does not match the certificate \(certificateChainFile)")
        }
    }

    deinit { SSL_CTX_free(context) }
}
