import Foundation

/// The browser side of reaching the service (Local Network Access): what the configuration
/// decides (loopback listeners, `AllowedOrigins`) is checked; what the web page and the browser
/// must do is listed, since only they can check it.
public enum LocalNetworkAccessDiagnosis {
    public static let check = "local-network-access"
    public static let documentation = "docs/SECURITY.md#preflights-and-private-network-access"

    /// `answeringPort` is a listener port a running ScanBridge answered on, if any.
    public static func run(configuration: LoadedConfiguration, answeringPort: Int?) -> DiagnosticFinding {
        let settings = configuration.settings
        let origins = (configuration.values.first { $0.key.name == "AllowedOrigins" }?.value ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let file = configuration.filePath
        let servicePage = settings.listeners.first { $0.role == .dcp && !$0.secure && $0.port != 0 }
            .map { " or on the service page http://127.0.0.1:\($0.port)/" } ?? ""
        let running = answeringPort.map { "the service answers on \(PortDiagnosis.connectableHost(settings.bindAddress)):\($0)" }
            ?? "the service is not running now"
        let checklist = "the page must load the SDK from its own origin and call connect() from a click; "
            + "managed browsers may need the policy LocalNetworkAccessAllowedForUrls; "
            + "an iframe needs allow=\"local-network-access\" (see \(documentation))"

        guard isLoopback(settings.bindAddress) else {
            return .warning(check, "BindAddress is \(settings.bindAddress), not loopback: other machines can reach the listeners, and browsers treat the address as the local network, not this machine; \(running)",
                            advice: "Set BindAddress = 127.0.0.1 in \(file) unless other machines must scan through this one. Then: \(checklist).")
        }
        if origins.isEmpty {
            return .warning(check, "AllowedOrigins is empty: no web page can use the service (\(running), loopback only)",
                            advice: "Add the web application's origin, e.g. AllowedOrigins = https://app.example, in \(file)\(servicePage). Then: \(checklist).")
        }
        if origins.contains("*") {
            return .warning(check, "AllowedOrigins contains *: every web page may drive the scanners (\(running))",
                            advice: "List the web application's origins instead of * in \(file). Then: \(checklist).")
        }
        return .ok(check, "\(running), loopback only; allowed origins: \(origins.joined(separator: ", ")); \(checklist)")
    }

    static func isLoopback(_ address: String) -> Bool {
        let literal = address.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return literal.hasPrefix("127.") || literal == "::1" || literal == "localhost"
    }
}
