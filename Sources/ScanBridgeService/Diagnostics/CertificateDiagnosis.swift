import COpenSSL
import Foundation
import ScanBridgeHTTP

/// The HTTPS certificate of a service folder (`cert/server.pem`): present, readable, valid now,
/// made for 127.0.0.1, matching its key; and whether the user's browsers trust the local CA.
public enum CertificateDiagnosis {
    public static let check = "certificate"
    public static let trustCheck = "browser-trust"

    /// A certificate closer than this to its end gets a warning.
    static let renewalMargin: TimeInterval = 30 * 86400

    public static func run(folder: ServiceFolder, now: Date = Date()) -> DiagnosticFinding {
        let files = ServerCertificates(folder: folder)
        let regenerate = "Remove \(files.certificate) and \(files.privateKey) and run `scanbridge cert --home \(folder.root)` (as the service's user), then restart the service and trust the CA again (`scanbridge cert trust`)."
        guard FileManager.default.fileExists(atPath: files.certificate) else {
            let advice = FileManager.default.fileExists(atPath: files.privateKey)
                ? "The key is there without its certificate: put the certificate back, or remove \(files.privateKey) and run `scanbridge cert --home \(folder.root)`."
                : "Run `scanbridge cert --home \(folder.root)` (the packages do this on install); the HTTPS ports stay off without it."
            return .fail(check, "no certificate at \(files.certificate)", advice: advice)
        }
        let pem: String
        do {
            pem = try String(contentsOfFile: files.certificate, encoding: .utf8)
        } catch {
            return unreadable(files.certificate, error: error, folder: folder)
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(pem: pem)
        } catch {
            return .fail(check, "\(files.certificate) is not a PEM certificate (\(error))", advice: regenerate)
        }
        if certificate.notBefore > now {
            return .fail(check, "\(files.certificate) is not valid before \(format(certificate.notBefore))",
                         advice: "Check the system clock (now \(format(now))), or make a new certificate: \(regenerate)")
        }
        if certificate.notAfter <= now {
            return .fail(check, "\(files.certificate) expired on \(format(certificate.notAfter))", advice: regenerate)
        }
        guard certificate.covers(ipAddress: "127.0.0.1") else {
            return .fail(check, "\(files.certificate) does not name 127.0.0.1 (subjectAltName), so browsers refuse https://127.0.0.1",
                         advice: "Use a certificate with IP:127.0.0.1 in its subjectAltName. \(regenerate)")
        }
        if let keyProblem = certificate.checkKey(file: files.privateKey) {
            if keyProblem.unreadable {
                return .warning(check, "\(files.certificate) is valid until \(format(certificate.notAfter)), but \(keyProblem.description)",
                                advice: "Run the doctor as the service's user (for the packages: `sudo -u scanbridge scanbridge doctor --home \(folder.root)`) to check the key.")
            }
            return .fail(check, keyProblem.description, advice: regenerate)
        }
        let detail = "\(files.certificate) is valid until \(format(certificate.notAfter)) for 127.0.0.1"
        if certificate.notAfter.timeIntervalSince(now) < renewalMargin {
            return .warning(check, detail + ", which is less than 30 days away", advice: regenerate)
        }
        return .ok(check, detail)
    }

    private static func unreadable(_ path: String, error: any Error, folder: ServiceFolder) -> DiagnosticFinding {
        .warning(check, "cannot read \(path) as \(currentUserName()): \(describe(error))",
                 advice: "Run the doctor as the service's user (for the packages: `sudo -u scanbridge scanbridge doctor --home \(folder.root)`).")
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}

/// The facts of one X.509 certificate the doctor needs, read with OpenSSL.
struct Certificate {
    struct Problem: Error, CustomStringConvertible {
        var description: String
        var unreadable = false
    }

    let pem: String
    let notBefore: Date
    let notAfter: Date
    private let ipAddresses: Set<String>
    private let fingerprint: String

    init(pem: String) throws(Problem) {
        self.pem = pem
        let parsed: (Date, Date, Set<String>)? = Self.withCertificate(pem) { certificate in
            guard let start = Self.date(X509_get0_notBefore(certificate)), let end = Self.date(X509_get0_notAfter(certificate)) else { return nil }
            var addresses: Set<String> = []
            for address in ["127.0.0.1", "::1"] where X509_check_ip_asc(certificate, address, 0) == 1 {
                addresses.insert(address)
            }
            return (start, end, addresses)
        } ?? nil
        guard let parsed else { throw Problem(description: "OpenSSL cannot read it") }
        (notBefore, notAfter, ipAddresses) = parsed
        fingerprint = (try? LocalCertificateAuthority.sha256Fingerprint(ofCertificate: pem)) ?? ""
    }

    func covers(ipAddress: String) -> Bool { ipAddresses.contains(ipAddress) }

    /// Nil when `file` holds the private key of this certificate.
    func checkKey(file: String) -> Problem? {
        guard FileManager.default.fileExists(atPath: file) else {
            return Problem(description: "its private key \(file) is missing")
        }
        guard let keyText = try? String(contentsOfFile: file, encoding: .utf8) else {
            return Problem(description: "its private key \(file) is not readable by \(currentUserName())", unreadable: true)
        }
        let matches: Bool? = Self.withCertificate(pem) { certificate in
            guard let bio = BIO_new_mem_buf(keyText, Int32(keyText.utf8.count)) else { return false }
            defer { BIO_free(bio) }
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { return false }
            defer { EVP_PKEY_free(key) }
            return X509_check_private_key(certificate, key) == 1
        }
        ERR_clear_error()
        return matches == true ? nil : Problem(description: "the private key \(file) does not belong to the certificate (or is not a PEM key)")
    }

    /// Whether `other` (a PEM certificate) is this same certificate.
    func isSame(as other: String) -> Bool {
        guard !fingerprint.isEmpty, let theirs = try? LocalCertificateAuthority.sha256Fingerprint(ofCertificate: other) else { return false }
        return theirs == fingerprint
    }

    private static func withCertificate<T>(_ pem: String, _ body: (OpaquePointer) -> T) -> T? {
        guard let bio = BIO_new_mem_buf(pem, Int32(pem.utf8.count)) else { return nil }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            ERR_clear_error()
            return nil
        }
        defer { X509_free(certificate) }
        return body(certificate)
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}

func currentUserName() -> String {
    guard let entry = getpwuid(geteuid()) else { return "uid \(geteuid())" }
    return String(cString: entry.pointee.pw_name)
}
