/// Renders the documented default `DSConfiguration.ini` from `ConfigurationKey.catalog`.
/// `Config/DSConfiguration.ini` in the repository is this text (a test keeps them equal), and a
/// service folder without a configuration file gets it on first start.
public enum DefaultConfigurationFile {
    public static func render() -> String {
        var lines = [
            "; DSConfiguration.ini: configuration of the ScanBridge service.",
            ";",
            "; The [DS] section uses the Dynamsoft Service's own keys; [ScanBridge] holds ScanBridge's.",
            "; Every key is documented below with its type and default. Keys are case-insensitive.",
            "; Lines starting with ; # or // are comments; a value may be followed by // and a comment.",
            "; Keys ScanBridge does not know are kept when the service rewrites this file.",
            ";",
            "; Precedence, lowest first: built-in default < this file < environment variable",
            "; SCANBRIDGE_<KEY IN CAPITALS> (e.g. SCANBRIDGE_LOGLEVEL=30) < command line",
            "; (scanbridge serve --log-level 30, or --set Key=Value for any key).",
            "; `scanbridge config show` prints the effective values and where each came from.",
        ]
        for section in [ConfigurationKey.dsSection, ConfigurationKey.scanBridgeSection] {
            lines += ["", "[\(section)]"]
            for key in ConfigurationKey.catalog where key.section == section {
                lines += document(key)
                if key.name == "Port" || key.name == "SSLPort" {
                    for listener in ListenerKeys.defaults where listener.secure == (key.name == "SSLPort") {
                        for name in ["\(key.name)_mn_\(listener.index)", "\(key.name)_mp_\(listener.index)"] {
                            if let numbered = ConfigurationKey.known(name) { lines += document(numbered) }
                        }
                    }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func document(_ key: ConfigurationKey) -> [String] {
        ["; \(key.name) (\(key.kind.typeName), default \(key.defaultValue.isEmpty ? "none" : key.defaultValue)): \(key.summary)",
         "\(key.name) = \(key.defaultValue)"]
    }
}
