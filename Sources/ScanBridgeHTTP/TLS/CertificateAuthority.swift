import COpenSSL

/// A certificate and its private key, both PEM.
public struct PEMCredential: Sendable, Equatable {
    public var certificate: String
    public var privateKey: String

    public init(certificate: String, privateKey: String) {
        self.certificate = certificate
        self.privateKey = privateKey
    }
}

/// Makes the local certificate authority and the server certificate signed by it, with the
/// OpenSSL C API (ECDSA P-256, SHA-256). Users trust the CA once (its fingerprint is printed by
/// `scanbridge cert`); the server certificate names 127.0.0.1, ::1 and localhost.
public enum LocalCertificateAuthority {
    /// The only names a certificate under the local CA may carry (X.509 name constraints):
    /// whoever obtains the CA's key can then mint certificates for this machine's loopback
    /// names only, never for a site the user visits.
    public static let permittedNames = "permitted;IP:127.0.0.1/255.255.255.255,"
        + "permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,permitted;DNS:localhost"

    /// A self-signed CA certificate valid for `days`, constrained to `permittedNames`.
    public static func makeAuthority(commonName: String = "ScanBridge Local CA", days: Int = 3650) throws(TLSError) -> PEMCredential {
        let key = try generateKey()
        defer { EVP_PKEY_free(key) }
        let certificate = try makeCertificate(subject: commonName, publicKey: key, days: days, issuer: nil, signingKey: key, extensions: [
            (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_name_constraints, "critical," + permittedNames),
            (NID_subject_key_identifier, "hash"),
        ])
        defer { X509_free(certificate) }
        return PEMCredential(certificate: try pem(certificate: certificate), privateKey: try pem(privateKey: key))
    }

    /// A server certificate for `dnsNames` and `ipAddresses`, signed by `authority`, valid for
    /// `days` (397: the longest browsers accept for a server certificate).
    public static func issueServerCertificate(authority: PEMCredential, commonName: String = "localhost",
                                              dnsNames: [String] = ["localhost"], ipAddresses: [String] = ["127.0.0.1", "::1"],
                                              days: Int = 397) throws(TLSError) -> PEMCredential {
        let caCertificate = try readCertificate(authority.certificate)
        defer { X509_free(caCertificate) }
        let caKey = try readPrivateKey(authority.privateKey)
        defer { EVP_PKEY_free(caKey) }
        let key = try generateKey()
        defer { EVP_PKEY_free(key) }
        let names = (dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }).joined(separator: ",")
        let certificate = try makeCertificate(subject: commonName, publicKey: key, days: days, issuer: caCertificate, signingKey: caKey, extensions: [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_alt_name, names),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ])
        defer { X509_free(certificate) }
        return PEMCredential(certificate: try pem(certificate: certificate), privateKey: try pem(privateKey: key))
    }

    /// The SHA-256 fingerprint of the first certificate in `pem`, as `AB:CD:…`.
    public static func sha256Fingerprint(ofCertificate pem: String) throws(TLSError) -> String {
        let certificate = try readCertificate(pem)
        defer { X509_free(certificate) }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else { throw .openSSL("X509_digest") }
        let hex = Array("0123456789ABCDEF".utf8)
        return digest.prefix(Int(length)).map { String(decoding: [hex[Int($0 >> 4)], hex[Int($0 & 15)]], as: UTF8.self) }.joined(separator: ":")
    }

    /// The subject's common name and the end of validity of the first certificate in `pem`.
    public static func describe(certificate pem: String) throws(TLSError) -> (subject: String, notAfter: String) {
        let certificate = try readCertificate(pem)
        defer { X509_free(certificate) }
        var text = [CChar](repeating: 0, count: 512)
        X509_NAME_oneline(X509_get_subject_name(certificate), &text, Int32(text.count))
        let subject = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        ASN1_TIME_print(bio, X509_get0_notAfter(certificate))
        return (subject, readAll(bio))
    }

    // MARK: - OpenSSL plumbing (the only pointer code of the certificate handling)

    private static func generateKey() throws(TLSError) -> OpaquePointer {
        ERR_clear_error()
        guard let key = sb_evp_ec_gen("P-256") else { throw .openSSL("generating a P-256 key") }
        return key
    }

    private static func makeCertificate(subject: String, publicKey: OpaquePointer, days: Int, issuer: OpaquePointer?,
                                        signingKey: OpaquePointer, extensions: [(Int32, String)]) throws(TLSError) -> OpaquePointer {
        ERR_clear_error()
        guard let certificate = X509_new() else { throw .openSSL("X509_new") }
        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { X509_free(certificate); throw .openSSL("RAND_bytes") }
        serial[0] &= 0x7F   // positive
        let number = BN_bin2bn(serial, Int32(serial.count), nil)
        defer { BN_free(number) }
        let ok = X509_set_version(certificate, 2) == 1
            && BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil
            && X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil
            && X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86400) != nil
            && X509_set_pubkey(certificate, publicKey) == 1
        guard ok, let name = X509_NAME_new() else { X509_free(certificate); throw .openSSL("filling in the certificate") }
        defer { X509_NAME_free(name) }
        _ = X509_NAME_add_entry_by_txt(name, "O", sb_mbstring_asc(), "ScanBridge", -1, -1, 0)
        _ = X509_NAME_add_entry_by_txt(name, "CN", sb_mbstring_asc(), subject, -1, -1, 0)
        X509_set_subject_name(certificate, name)
        X509_set_issuer_name(certificate, issuer.map { X509_get_subject_name($0) } ?? name)
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                X509_free(certificate)
                throw .openSSL("certificate extension \(value)")
            }
            X509_add_ext(certificate, ext, -1)
            X509_EXTENSION_free(ext)
        }
        guard X509_sign(certificate, signingKey, EVP_sha256()) > 0 else { X509_free(certificate); throw .openSSL("X509_sign") }
        return certificate
    }

    private static func readAll(_ bio: OpaquePointer) -> String {
        var data: UnsafeMutablePointer<CChar>?
        let length = sb_bio_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    private static func pem(certificate: OpaquePointer) throws(TLSError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, certificate) == 1 else { throw .openSSL("PEM_write_bio_X509") }
        return readAll(bio)
    }

    private static func pem(privateKey: OpaquePointer) throws(TLSError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .openSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, privateKey, nil, nil, 0, nil, nil) == 1 else { throw .openSSL("PEM_write_bio_PrivateKey") }
        return readAll(bio)
    }

    private static func withMemoryBIO<T>(_ text: String, _ body: (OpaquePointer) -> T?) throws(TLSError) -> T {
        var bytes = Array(text.utf8)
        ERR_clear_error()
        let result: T? = bytes.withUnsafeMutableBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
        guard let result else { throw .openSSL("reading PEM") }
        return result
    }

    private static func readCertificate(_ pem: String) throws(TLSError) -> OpaquePointer {
        try withMemoryBIO(pem) { PEM_read_bio_X509($0, nil, nil, nil) }
    }

    private static func readPrivateKey(_ pem: String) throws(TLSError) -> OpaquePointer {
        try withMemoryBIO(pem) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
    }
}
