import Foundation
import ScanBridgeHTTP

/// The HTTPS certificate of the service folder: `cert/server.pem` and `cert/server_key.pem`.
/// When both are missing, a local CA (`cert/ca.pem`) and a server certificate for 127.0.0.1, ::1
/// and localhost are made. The CA is name-constrained to those names; its key is kept for the
/// next server certificate in `cert/private/ca_key.pem`, a folder only the service's user can
/// enter (0700, the key 0600), while `cert/ca.pem` stays readable for `scanbridge cert trust`.
/// Replacing the two server files and restarting uses the new certificate.
public struct ServerCertificates: Sendable {
    public var certificate: String
    public var privateKey: String
    public var authorityCertificate: String
    public var authorityKey: String

    public init(folder: ServiceFolder) {
        certificate = (folder.cert as NSString).appendingPathComponent("server.pem")
        privateKey = (folder.cert as NSString).appendingPathComponent("server_key.pem")
        authorityCertificate = (folder.cert as NSString).appendingPathComponent("ca.pem")
        privateFolder = (folder.cert as NSString).appendingPathComponent("private")
        authorityKey = (privateFolder as NSString).appendingPathComponent("ca_key.pem")
        formerAuthorityKey = (folder.cert as NSString).appendingPathComponent("ca_key.pem")
    }

    /// `cert/private`: mode 0700.
    public var privateFolder: String
    /// Where the CA key lay before it moved into `private/`; moved there when a server
    /// certificate is made.
    var formerAuthorityKey: String

    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// What `ensure` did.
    public enum Outcome: Sendable, Equatable {
        /// Both server files were there (made earlier, or supplied by an administrator).
        case existing
        /// A server certificate was made, with a new CA or the one already in `cert/`.
        case generated(newAuthority: Bool)
    }

    /// Makes the certificate files when both server files are missing. Exactly one missing is
    /// an error (an administrator's half-replaced pair must not be overwritten).
    @discardableResult
    public func ensure() throws(Problem) -> Outcome {
        let files = FileManager.default
        let hasCertificate = files.fileExists(atPath: certificate), hasKey = files.fileExists(atPath: privateKey)
        if hasCertificate && hasKey { return .existing }
        if hasCertificate != hasKey {
            throw Problem(description: "\(hasCertificate ? privateKey : certificate) is missing but \(hasCertificate ? certificate : privateKey) exists; "
                          + "supply both files, or remove both to have ScanBridge generate a local certificate")
        }
        do {
            try preparePrivateFolder()
            var newAuthority = false
            let authority: PEMCredential
            if files.fileExists(atPath: authorityCertificate), files.fileExists(atPath: authorityKey) {
                authority = PEMCredential(certificate: try String(contentsOfFile: authorityCertificate, encoding: .utf8),
                                          privateKey: try String(contentsOfFile: authorityKey, encoding: .utf8))
            } else {
                authority = try LocalCertificateAuthority.makeAuthority()
                try write(authority.privateKey, to: authorityKey, secret: true)
                try write(authority.certificate, to: authorityCertificate, secret: false)
                newAuthority = true
            }
            let server = try LocalCertificateAuthority.issueServerCertificate(authority: authority)
            try write(server.privateKey, to: privateKey, secret: true)
            try write(server.certificate, to: certificate, secret: false)
            return .generated(newAuthority: newAuthority)
        } catch let error as Problem {
            throw error
        } catch {
            throw Problem(description: "cannot create the HTTPS certificate in \((certificate as NSString).deletingLastPathComponent): \(error)")
        }
    }

    /// Makes `cert/private` (0700, also when it exists) and moves a CA key left in `cert/` into it.
    private func preparePrivateFolder() throws {
        let files = FileManager.default
        if !files.fileExists(atPath: privateFolder) {
            try files.createDirectory(atPath: privateFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        guard chmod(privateFolder, 0o700) == 0 else {
            throw Problem(description: "cannot make \(privateFolder) private: \(String(cString: strerror(errno)))")
        }
        if files.fileExists(atPath: formerAuthorityKey), !files.fileExists(atPath: authorityKey) {
            guard rename(formerAuthorityKey, authorityKey) == 0 else {
                throw Problem(description: "cannot move \(formerAuthorityKey) to \(authorityKey): \(String(cString: strerror(errno)))")
            }
            _ = chmod(authorityKey, 0o600)
        }
    }

    /// The TLS configuration for the HTTPS listeners.
    public func tlsContext() throws(Problem) -> TLSContext {
        do {
            return try TLSContext(certificateChainFile: certificate, privateKeyFile: privateKey)
        } catch {
            throw Problem(description: error.message)
        }
    }

    /// The SHA-256 fingerprint of a PEM certificate file.
    public static func fingerprint(ofFile path: String) throws -> String {
        try LocalCertificateAuthority.sha256Fingerprint(ofCertificate: String(contentsOfFile: path, encoding: .utf8))
    }

    /// Private keys are written 0600, certificates 0644, atomically.
    private func write(_ text: String, to path: String, secret: Bool) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8),
                                             attributes: [.posixPermissions: secret ? 0o600 : 0o644]) else {
            throw Problem(description: "cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Problem(description: "cannot write \(path): \(reason)")
        }
    }
}
