import COpenSSL

/// What a PDF's users may do when they open it with the user password (PDF permission bits).
public struct PDFPermissions: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let print = PDFPermissions(rawValue: 1 << 2)
    public static let modify = PDFPermissions(rawValue: 1 << 3)
    public static let copy = PDFPermissions(rawValue: 1 << 4)
    public static let annotate = PDFPermissions(rawValue: 1 << 5)
    public static let fillForms = PDFPermissions(rawValue: 1 << 8)
    public static let accessibility = PDFPermissions(rawValue: 1 << 9)
    public static let assemble = PDFPermissions(rawValue: 1 << 10)
    public static let printHighQuality = PDFPermissions(rawValue: 1 << 11)
    public static let all: PDFPermissions = [.print, .modify, .copy, .annotate, .fillForms, .accessibility, .assemble, .printHighQuality]

    /// The /P value: the granted bits plus the bits the standard requires to be 1.
    var pValue: Int32 { rawValue | Int32(bitPattern: 0xFFFF_F0C0) }
}

/// Password protection: AES-256, standard security handler revision 6 (PDF 2.0, ISO 32000-2
/// §7.6.4). The user password opens the document; the owner password (defaults to the user
/// password) grants every permission. Passwords are used as UTF-8, truncated to 127 bytes
/// (SASLprep is not applied, so non-ASCII passwords should be NFC-normalised by the caller).
public struct PDFEncryption: Sendable, Hashable {
    public var userPassword: String
    public var ownerPassword: String?
    public var permissions: PDFPermissions

    public init(userPassword: String, ownerPassword: String? = nil, permissions: PDFPermissions = .all) {
        self.userPassword = userPassword
        self.ownerPassword = ownerPassword
        self.permissions = permissions
    }
}

/// The R6 security handler's keys and the AES-256 encryption of strings and streams.
struct PDFSecurityHandler {
    let fileKey: [UInt8]
    let dictionary: String

    init(_ encryption: PDFEncryption) throws {
        fileKey = try Crypto.random(32)
        let user = Array(encryption.userPassword.utf8.prefix(127))
        let owner = Array((encryption.ownerPassword ?? encryption.userPassword).utf8.prefix(127))
        let salts = try Crypto.random(32)
        let userValidation = Array(salts[0..<8]), userKeySalt = Array(salts[8..<16])
        let ownerValidation = Array(salts[16..<24]), ownerKeySalt = Array(salts[24..<32])
        let u = try Self.hash(password: user, salt: userValidation, userKey: []) + userValidation + userKeySalt
        let ue = try Crypto.aes(key: try Self.hash(password: user, salt: userKeySalt, userKey: []), iv: [UInt8](repeating: 0, count: 16), data: fileKey, mode: .cbc256, padding: false)
        let o = try Self.hash(password: owner, salt: ownerValidation, userKey: u) + ownerValidation + ownerKeySalt
        let oe = try Crypto.aes(key: try Self.hash(password: owner, salt: ownerKeySalt, userKey: u), iv: [UInt8](repeating: 0, count: 16), data: fileKey, mode: .cbc256, padding: false)
        let p = encryption.permissions.pValue
        var perms: [UInt8] = (0..<4).map { UInt8(truncatingIfNeeded: p >> (8 * $0)) } + [0xFF, 0xFF, 0xFF, 0xFF]
        perms += Array("Tadb".utf8) + (try Crypto.random(4))
        let encryptedPerms = try Crypto.aes(key: fileKey, iv: [], data: perms, mode: .ecb256, padding: false)
        dictionary = "<< /Filter /Standard /V 5 /R 6 /Length 256 /CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV3 /Length 32 >> >> "
            + "/StmF /StdCF /StrF /StdCF /P \(p) /EncryptMetadata true /U <\(hex(u))> /O <\(hex(o))> /UE <\(hex(ue))> /OE <\(hex(oe))> /Perms <\(hex(encryptedPerms))> >>"
    }

    /// A string or stream body: random IV followed by AES-256-CBC with PKCS#7 padding.
    func encrypt(_ data: [UInt8]) throws -> [UInt8] {
        let iv = try Crypto.random(16)
        return iv + (try Crypto.aes(key: fileKey, iv: iv, data: data, mode: .cbc256, padding: true))
    }

    /// Algorithm 2.B (ISO 32000-2): SHA-256, then at least 64 rounds of AES-128-CBC over 64
    /// repetitions of password‖K‖userKey, re-hashed with SHA-256/384/512 chosen by the output.
    static func hash(password: [UInt8], salt: [UInt8], userKey: [UInt8]) throws -> [UInt8] {
        var k = try Crypto.digest(password + salt + userKey, .sha256)
        var round = 0
        while true {
            let block = password + k + userKey
            var k1 = [UInt8]()
            k1.reserveCapacity(block.count * 64)
            for _ in 0..<64 { k1 += block }
            let e = try Crypto.aes(key: Array(k[0..<16]), iv: Array(k[16..<32]), data: k1, mode: .cbc128, padding: false)
            let selector = e[0..<16].reduce(0) { $0 + Int($1) } % 3
            k = try Crypto.digest(e, selector == 0 ? .sha256 : (selector == 1 ? .sha384 : .sha512))
            round += 1
            if round >= 64 && Int(e[e.count - 1]) <= round - 32 { break }
        }
        return Array(k[0..<32])
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
    return String(decoding: out, as: UTF8.self)
}

/// OpenSSL EVP calls (digests, AES, random bytes).
enum Crypto {
    enum Digest { case sha256, sha384, sha512 }
    enum Mode { case cbc128, cbc256, ecb256 }

    static func random(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw ImagingError.library("OpenSSL RAND_bytes", "no randomness") }
        return bytes
    }

    static func digest(_ data: [UInt8], _ kind: Digest) throws -> [UInt8] {
        let md = switch kind {
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_Digest(data, data.count, &out, &length, md, nil) == 1 else { throw ImagingError.library("OpenSSL EVP_Digest", "failed") }
        return Array(out[0..<Int(length)])
    }

    static func aes(key: [UInt8], iv: [UInt8], data: [UInt8], mode: Mode, padding: Bool) throws -> [UInt8] {
        guard let context = EVP_CIPHER_CTX_new() else { throw ImagingError.library("OpenSSL", "EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        let cipher = switch mode {
        case .cbc128: EVP_aes_128_cbc()
        case .cbc256: EVP_aes_256_cbc()
        case .ecb256: EVP_aes_256_ecb()
        }
        guard EVP_EncryptInit_ex(context, cipher, nil, key, iv.isEmpty ? nil : iv) == 1 else { throw ImagingError.library("OpenSSL", "EVP_EncryptInit_ex failed") }
        EVP_CIPHER_CTX_set_padding(context, padding ? 1 : 0)
        var out = [UInt8](repeating: 0, count: data.count + 32)
        var written: Int32 = 0, final: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { buffer in
            EVP_EncryptUpdate(context, buffer.baseAddress, &written, data, Int32(data.count)) == 1
                && EVP_EncryptFinal_ex(context, buffer.baseAddress! + Int(written), &final) == 1
        }
        guard ok else { throw ImagingError.library("OpenSSL", "AES encryption failed") }
        out.removeSubrange(Int(written + final)...)
        return out
    }
}
