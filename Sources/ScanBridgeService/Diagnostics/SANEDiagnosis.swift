import Foundation
import ScanBridgeDevices

/// Which SANE backends are configured (as SANE's `dll` backend finds them: `dll.conf` and
/// `dll.d/` in the first folder of `SANE_CONFIG_DIR`, or of `.` and `/etc/sane.d`, that has
/// them) and which scanners answer a discovery.
public enum SANEDiagnosis {
    public static let check = "sane"
    static let systemFolder = "/etc/sane.d"

    public struct Configuration: Sendable, Equatable {
        /// The folders SANE searches, in order.
        public var folders: [String]
        /// The `dll.conf` SANE reads, if any.
        public var dllConf: String?
        /// Backend names, in file order, without duplicates.
        public var backends: [String]
    }

    /// Reads the configuration SANE will read, following SANE's rules for `SANE_CONFIG_DIR` (a
    /// trailing `:` appends the default folders).
    public static func configuration(environment: [String: String] = ProcessInfo.processInfo.environment) -> Configuration {
        var folders: [String]
        if let variable = environment["SANE_CONFIG_DIR"], !variable.isEmpty {
            folders = variable.split(separator: ":").map(String.init)
            if variable.hasSuffix(":") { folders += [".", systemFolder] }
        } else {
            folders = [".", systemFolder]
        }
        var backends: [String] = []
        func add(_ text: String) {
            for line in text.split(whereSeparator: \.isNewline) {
                let name = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                    .trimmingCharacters(in: .whitespaces)
                if !name.isEmpty, !backends.contains(name) { backends.append(name) }
            }
        }
        let dllConf = folders.map { ($0 as NSString).appendingPathComponent("dll.conf") }
            .first { FileManager.default.isReadableFile(atPath: $0) }
        if let dllConf, let text = try? String(contentsOfFile: dllConf, encoding: .utf8) { add(text) }
        for folder in folders {
            let directory = (folder as NSString).appendingPathComponent("dll.d")
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            // SANE skips editor and package-manager leftovers there.
            for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix("~") && !name.hasSuffix(".dpkg-dist")
                && !name.hasSuffix(".dpkg-old") && !name.hasSuffix(".rpmsave") && !name.hasSuffix(".rpmnew") {
                if let text = try? String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8) { add(text) }
            }
            break
        }
        return Configuration(folders: folders, dllConf: dllConf, backends: backends)
    }

    /// Asks SANE for its scanners (`SANEContext`, whose calls run on its own thread), giving up
    /// on the discovery after `timeout` seconds.
    public static func run(configuration: Configuration, timeout: Double) async -> DiagnosticFinding {
        let source = configuration.dllConf ?? "no dll.conf in \(configuration.folders.joined(separator: ", "))"
        guard !configuration.backends.isEmpty else {
            return .fail(check, "no SANE backend is configured (\(source))",
                         advice: "Install the SANE backends (Debian: apt install libsane1; network scanners: sane-airscan) and list them in \(configuration.dllConf ?? systemFolder + "/dll.conf"); unset SANE_CONFIG_DIR if it points at the wrong folder. `scanimage -L` must list the scanner.")
        }
        let backends = summarize(configuration.backends)
        let version: String, discovery: SANEContext.Discovery
        do {
            version = try await SANEContext.shared.version()
            discovery = try await SANEContext.shared.discover(refresh: true, timeout: timeout)
        } catch {
            return .warning(check, "backends \(backends) (\(source)); discovery failed: \(error)",
                            advice: "A network backend may hang: remove unused backends from \(configuration.dllConf ?? "dll.conf"), and check `scanimage -L`.")
        }
        guard !discovery.scanners.isEmpty else {
            return .warning(check, "SANE \(version), backends \(backends) (\(source)); no scanner answered",
                            advice: "Switch the scanner on and connect it; the service's user must be in the group `scanner` for USB scanners. `scanimage -L`, run as that user, must list it.")
        }
        let scanners = discovery.scanners.map { "\($0.id) \($0.displayName)" }.joined(separator: ", ")
        return .ok(check, "SANE \(version), backends \(backends) (\(source)); scanners: \(scanners)")
    }

    /// The first backends and how many more: /etc/sane.d/dll.conf lists dozens.
    static func summarize(_ backends: [String]) -> String {
        let shown = backends.prefix(8).joined(separator: ", ")
        return backends.count > 8 ? "\(shown) and \(backends.count - 8) more" : shown
    }
}
