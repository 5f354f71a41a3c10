import Foundation
import Testing
@testable import ScanBridgeHTTP
@testable import ScanBridgeIO

/// A CA and a server certificate written to a new folder: ca.pem, server.pem, server_key.pem.
func makeCertificates() throws -> String {
    let folder = try temporaryFolder()
    let authority = try LocalCertificateAuthority.makeAuthority()
    let server = try LocalCertificateAuthority.issueServerCertificate(authority: authority)
    try authority.certificate.write(toFile: folder + "/ca.pem", atomically: true, encoding: .utf8)
    try server.certificate.write(toFile: folder + "/server.pem", atomically: true, encoding: .utf8)
    try server.privateKey.write(toFile: folder + "/server_key.pem", atomically: true, encoding: .utf8)
    return folder
}

@Suite("TLS over memory BIOs, checked with curl and openssl")
struct TLSTests {
    @Test("generated certificates verify with openssl and name 127.0.0.1, ::1 and localhost; fingerprint matches")
    func certificates() async throws {
        let folder = try makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let verify = try await run("/usr/bin/openssl", ["verify", "-CAfile", folder + "/ca.pem", folder + "/server.pem"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        let text = try await run("/usr/bin/openssl", ["x509", "-in", folder + "/server.pem", "-noout", "-text"])
        #expect(text.stdout.contains("DNS:localhost"))
        #expect(text.stdout.contains("IP Address:127.0.0.1"))
        #expect(text.stdout.contains("IP Address:0:0:0:0:0:0:0:1"))
        #expect(text.stdout.contains("TLS Web Server Authentication"))
        let caText = try await run("/usr/bin/openssl", ["x509", "-in", folder + "/ca.pem", "-noout", "-text"])
        #expect(caText.stdout.contains("CA:TRUE"))
        #expect(caText.stdout.contains("X509v3 Name Constraints: critical"))
        #expect(caText.stdout.contains("IP:127.0.0.1/255.255.255.255"))
        #expect(caText.stdout.contains("DNS:localhost"))
        let fingerprint = try await run("/usr/bin/openssl", ["x509", "-in", folder + "/ca.pem", "-noout", "-fingerprint", "-sha256"])
        let ours = try LocalCertificateAuthority.sha256Fingerprint(ofCertificate: String(contentsOfFile: folder + "/ca.pem", encoding: .utf8))
        #expect(fingerprint.stdout.trimmingCharacters(in: .whitespacesAndNewlines).uppercased().hasSuffix("=" + ours))
    }

    @Test("a key that doesn't match the certificate is refused with a clear message")
    func mismatchedKey() throws {
        let folder = try makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let other = try LocalCertificateAuthority.issueServerCertificate(authority: LocalCertificateAuthority.makeAuthority())
        try other.privateKey.write(toFile: folder + "/other_key.pem", atomically: true, encoding: .utf8)
        #expect(throws: TLSError.self) { try TLSContext(certificateChainFile: folder + "/server.pem", privateKeyFile: folder + "/other_key.pem") }
        do {
            _ = try TLSContext(certificateChainFile: folder + "/missing.pem", privateKeyFile: folder + "/server_key.pem")
            Issue.record("a missing certificate was accepted")
        } catch {
            #expect(error.message.contains("missing.pem"))
        }
    }

    @Test("curl with --cacert: TLS 1.2 and 1.3, by IP and by name, keep-alive, 8 MiB byte-exact", arguments: engineKinds)
    func curl(kind: IOEngineKind) async throws {
        let folder = try makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tls = try TLSContext(certificateChainFile: folder + "/server.pem", privateKeyFile: folder + "/server_key.pem")
        try await withServer(kind, testRouter(), tls: tls) { server, _ in
            let port = server.port
            let base = "https://127.0.0.1:\(port)"
            for version in [["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]] {
                let result = try await run("/usr/bin/curl", ["-sSv", "--cacert", folder + "/ca.pem"] + version + ["\(base)/json", "\(base)/json"])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout == #"{"hello":"world"}{"hello":"world"}"#)
                #expect(result.stderr.contains(version[0] == "--tlsv1.2" ? "TLSv1.2" : "TLSv1.3"))
                #expect(result.stderr.contains("Re-using existing connection") || result.stderr.contains("Reusing existing connection"))
            }
            let byName = try await run("/usr/bin/curl", ["-sS", "--cacert", folder + "/ca.pem", "--resolve", "localhost:\(port):127.0.0.1",
                                                        "https://localhost:\(port)/json"])
            #expect(byName.status == 0, "\(byName.stderr)")
            let output = folder + "/big"
            let big = try await run("/usr/bin/curl", ["-sS", "--cacert", folder + "/ca.pem", "-o", output, "\(base)/big"])
            #expect(big.status == 0, "\(big.stderr)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: output))) == pattern(8 << 20, seed: 2))
            let upload = pattern(200_000, seed: 5)
            let echo = try await run("/usr/bin/curl", ["-sS", "--cacert", folder + "/ca.pem", "-H", "Transfer-Encoding: chunked",
                                                      "--data-binary", "@-", "-o", output, "\(base)/echo-stream"], input: upload)
            #expect(echo.status == 0, "\(echo.stderr)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: output))) == upload)
            // Without the CA, verification fails (curl exit 60): the certificate is really checked.
            let untrusted = try await run("/usr/bin/curl", ["-sS", "\(base)/json"])
            #expect(untrusted.status == 60)
            // Plain HTTP on the TLS port gets nowhere, and the server keeps serving.
            let plain = try await run("/usr/bin/curl", ["-sS", "--max-time", "5", "http://127.0.0.1:\(port)/json"])
            #expect(plain.status != 0)
            let after = try await run("/usr/bin/curl", ["-sS", "--cacert", folder + "/ca.pem", "\(base)/json"])
            #expect(after.status == 0)
        }
    }

    @Test("openssl s_client: verified handshake on TLS 1.2 and 1.3 and a request over it", arguments: engineKinds)
    func sClient(kind: IOEngineKind) async throws {
        let folder = try makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tls = try TLSContext(certificateChainFile: folder + "/server.pem", privateKeyFile: folder + "/server_key.pem")
        try await withServer(kind, testRouter(), tls: tls) { server, _ in
            for (flag, protocolName) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
                let request = Array("GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
                let result = try await run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", flag,
                                                               "-CAfile", folder + "/ca.pem", "-verify_return_error",
                                                               "-verify_ip", "127.0.0.1", "-ign_eof"], input: request)
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.contains("Verify return code: 0 (ok)"))
                #expect(result.stdout.contains("Protocol  : \(protocolName)") || result.stdout.contains("Protocol: \(protocolName)")
                        || result.stdout.contains(", \(protocolName),"))
                #expect(result.stdout.contains(#"{"hello":"world"}"#))
            }
        }
    }
}
