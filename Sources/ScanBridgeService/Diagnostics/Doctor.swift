import Foundation
import ScanBridgeCore

/// Every check of `scanbridge doctor`, in the order a help desk reads them: configuration,
/// service folder, ports, certificate, browser trust, SANE, io_uring, Local Network Access.
/// Nothing is changed or created.
///
/// `run` blocks the calling thread (sockets, files, `certutil`, the wait for SANE): call it from
/// a thread that may block, never from the cooperative pool. Each check is bounded in time.
public struct Doctor: Sendable {
    public var folder: ServiceFolder
    public var overrides: [ConfigurationOverride]
    public var environment: [String: String]
    /// The browsers' certificate stores to look for the local CA in.
    public var trustDatabases: [CertificateTrust.Database]
    /// Seconds for SANE discovery (network backends can hang).
    public var saneTimeout: Double
    /// Seconds for each network step of a port probe and for each `certutil` call.
    public var stepTimeout: Double

    public init(folder: ServiceFolder, overrides: [ConfigurationOverride] = [],
                environment: [String: String] = ProcessInfo.processInfo.environment,
                trustDatabases: [CertificateTrust.Database] = CertificateTrust.userDatabases(), saneTimeout: Double = 10, stepTimeout: Double = 2) {
        self.folder = folder
        self.overrides = overrides
        self.environment = environment
        self.trustDatabases = trustDatabases
        self.saneTimeout = saneTimeout
        self.stepTimeout = stepTimeout
    }

    public func run() -> [DiagnosticFinding] {
        var findings: [DiagnosticFinding] = []
        let configuration: LoadedConfiguration?
        do {
            let loaded = try LoadedConfiguration.load(home: folder.root, environment: environment, overrides: overrides)
            configuration = loaded
            findings.append(.ok("configuration", loaded.fileExists
                ? "\(loaded.filePath) is valid" : "no \(loaded.filePath): the built-in defaults apply"))
        } catch {
            configuration = nil
            findings.append(.fail("configuration", error.message,
                                  advice: "Fix the named line (`scanbridge config defaults` prints every key with its meaning); the service refuses to start until then."))
        }
        findings.append(ServiceFolderDiagnosis.run(folder: folder))
        var answeringPort: Int?
        if let configuration {
            let ports = PortDiagnosis.runByListener(configuration.settings, configurationFile: configuration.filePath, timeout: stepTimeout)
            findings += ports.map(\.finding)
            answeringPort = ports.first(where: \.answeredByScanBridge)?.port
        }
        findings.append(CertificateDiagnosis.run(folder: folder))
        findings.append(BrowserTrustDiagnosis.run(folder: folder, databases: trustDatabases, timeout: max(stepTimeout, 5)))
        findings.append(saneFinding())
        if let configuration {
            findings.append(IOEngineDiagnosis.run(configuration.settings, configurationFile: configuration.filePath))
            findings.append(LocalNetworkAccessDiagnosis.run(configuration: configuration, answeringPort: answeringPort))
        }
        return findings
    }

    /// SANE on its own thread, waited for at most a little longer than the discovery time-out:
    /// `sane_init` itself (which loads every backend) is bounded here too.
    private func saneFinding() -> DiagnosticFinding {
        let configuration = SANEDiagnosis.configuration(environment: environment)
        let timeout = saneTimeout
        let result = BlockingResult<DiagnosticFinding>()
        Task { result.fulfil(await SANEDiagnosis.run(configuration: configuration, timeout: timeout)) }
        let grace = 5.0
        if let finding = result.wait(timeout: .milliseconds(Int((timeout + grace) * 1000))) { return finding }
        return .warning(SANEDiagnosis.check, "SANE did not answer within \(Int(timeout + grace)) s (backends \(SANEDiagnosis.summarize(configuration.backends)))",
                        advice: "A backend hangs (often a network backend: net, airscan, escl): remove unused backends from \(configuration.dllConf ?? "dll.conf") and check `scanimage -L`.")
    }
}
