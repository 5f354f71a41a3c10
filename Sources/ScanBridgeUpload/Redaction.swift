// Keeping secrets out of logs and error messages.
import Foundation

enum Redaction {
    /// A URL without user info and with query values replaced: `https://host:8443/path?a=…`.
    static func url(_ string: String) -> String {
        guard var components = URLComponents(string: string) else { return "<unparsable URL>" }
        components.user = nil
        components.password = nil
        let names = (components.queryItems ?? []).map(\.name)
        components.query = nil
        components.fragment = nil
        guard let base = components.string else { return "<unparsable URL>" }
        return names.isEmpty ? base : base + "?" + names.map { "\($0)=…" }.joined(separator: "&")
    }

    /// `text` with every occurrence of each secret (and its percent-encoded form) replaced.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets where !secret.isEmpty {
            result = result.replacingOccurrences(of: secret, with: "***")
            if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics), encoded != secret {
                result = result.replacingOccurrences(of: encoded, with: "***")
            }
        }
        return result
    }
}
