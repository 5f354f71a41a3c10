// Keeping secrets out of logs and error messages.
import Foundation

enum Redaction {
    /// A URL without user info and with query values replaced: `https://host:8443/path?a=…`.
    static func url(_ string: String) -> String {
        guard var components = URLComponents(string: string) else { return "<unparsable URL>" }
        components.user = nil
        components.password = nil
        if let items = components.queryItems, !items.isEmpty {
            components.percentEncodedQuery = items.map { "\($0.name)=…" }.joined(separator: "&")
        }
        components.fragment = nil
        return components.string ?? "<unparsable URL>"
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
