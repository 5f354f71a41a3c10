import ScanBridgeIO

/// Whether io_uring is allowed to this process, and which engine `serve` would run with the
/// configured `IOEngine` (the same probe and decision `IOEngine.start` makes).
public enum IOEngineDiagnosis {
    public static let check = "io_uring"

    public static func run(_ settings: ServiceSettings, configurationFile: String) -> DiagnosticFinding {
        let preference = IOEnginePreference(configValue: settings.ioEngine.rawValue) ?? .auto
        let probe = IOEngine.probeIOURing()
        let decision = IOEngine.decide(preference: preference, probe: probe)
        let probed = switch probe {
        case .available: "io_uring is allowed"
        case .refused(let code): "io_uring is refused (errno \(code))"
        }
        guard let kind = decision.kind else {
            return .fail(check, "\(decision.reason); the service will not start",
                         advice: "Set IOEngine = auto (io_uring when allowed, epoll otherwise) in \(configurationFile), or allow io_uring: sysctl kernel.io_uring_disabled=0, and a seccomp profile that permits it (the system unit allows @aio).")
        }
        // The system unit runs under its own system-call filter, so this is the verdict for a
        // service started like this command; the service logs its own decision at start.
        return .ok(check, "\(probed); the service runs \(kind.rawValue) (\(decision.reason))")
    }
}
