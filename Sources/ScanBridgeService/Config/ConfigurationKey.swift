import ScanBridgeCore

/// One documented configuration key: where it lives, what it accepts and what it defaults to.
///
/// Every key ScanBridge reads is listed in `ConfigurationKey.catalog`; the default
/// `Config/DSConfiguration.ini` is rendered from that list (`scanbridge config defaults`) and a
/// test keeps the two identical, so no key goes undocumented.
public struct ConfigurationKey: Sendable {
    public enum Kind: Sendable {
        case integer(ClosedRange<Int>)
        case text
        case choice([String])
        /// Comma-separated values.
        case list

        var typeName: String {
            switch self {
            case .integer(let range): "integer \(range.lowerBound)…\(range.upperBound)"
            case .text: "text"
            case .choice(let values): values.joined(separator: " | ")
            case .list: "comma-separated list"
            }
        }
    }

    public var section: String
    public var name: String
    public var kind: Kind
    public var defaultValue: String
    public var summary: String

    public init(section: String, name: String, kind: Kind, defaultValue: String, summary: String) {
        self.section = section
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
    }

    /// The environment variable that overrides this key: `SCANBRIDGE_` + the name in capitals.
    public var environmentVariable: String { Self.environmentVariable(for: name) }

    static func environmentVariable(for name: String) -> String { "SCANBRIDGE_" + name.uppercased() }

    /// Checks `value` against the key's kind and returns it normalised.
    func validate(_ value: String) -> Result<String, ValueProblem> {
        switch kind {
        case .integer(let range):
            guard let number = Int(value) else { return .failure(.init("expected an integer, got \"\(value)\"")) }
            guard range.contains(number) else {
                return .failure(.init("\(number) is out of range \(range.lowerBound)…\(range.upperBound)"))
            }
            return .success(String(number))
        case .choice(let values):
            guard let match = values.first(where: { $0.caseInsensitiveEquals(value) }) else {
                return .failure(.init("expected one of \(values.joined(separator: ", ")), got \"\(value)\""))
            }
            return .success(match)
        case .text, .list:
            return .success(value)
        }
    }

    struct ValueProblem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}

extension ConfigurationKey {
    /// The section of the Dynamsoft Service's own keys.
    public static let dsSection = "DS"
    /// The section of ScanBridge's own keys.
    public static let scanBridgeSection = "ScanBridge"

    /// Every fixed key. The listener pairs (`Port_mn_N`/`Port_mp_N`, `SSLPort_mn_N`/`SSLPort_mp_N`)
    /// are numbered and described by `ListenerKeys`.
    public static let catalog: [ConfigurationKey] = [
        .init(section: dsSection, name: "DSVersion", kind: .text, defaultValue: ProductVersion.semantic,
              summary: "Version of the service that wrote this file; kept for compatibility, not interpreted."),
        .init(section: dsSection, name: "Port", kind: .integer(0...16), defaultValue: "2",
              summary: "Number of plain HTTP listeners, described by Port_mn_N (role: dcp or dwt) and Port_mp_N (TCP port)."),
        .init(section: dsSection, name: "SSLPort", kind: .integer(0...16), defaultValue: "2",
              summary: "Number of HTTPS listeners, described by SSLPort_mn_N and SSLPort_mp_N."),
        .init(section: dsSection, name: "LogLevel", kind: .integer(0...100), defaultValue: "1",
              summary: "0 = errors only, 1 = normal, 2-29 = debug, 30 or more = verbose (trace)."),
        .init(section: scanBridgeSection, name: "BindAddress", kind: .text, defaultValue: "127.0.0.1",
              summary: "Address every listener binds to. Keep loopback unless you know why not."),
        .init(section: scanBridgeSection, name: "ListenIPv6Loopback", kind: .choice(["true", "false"]), defaultValue: "true",
              summary: "With BindAddress 127.0.0.1, every listener also listens on ::1 with the same port, so that https://localhost works where localhost resolves to ::1 first. Without IPv6 loopback on the machine a warning is logged and 127.0.0.1 alone serves."),
        .init(section: scanBridgeSection, name: "IOEngine", kind: .choice(["auto", "io_uring", "epoll"]), defaultValue: "auto",
              summary: "Socket engine; auto uses io_uring when the kernel allows it and epoll otherwise."),
        .init(section: scanBridgeSection, name: "LogMaxFileSizeKB", kind: .integer(16...1_048_576), defaultValue: "10240",
              summary: "Size at which log/scanbridge.log is rotated, in KiB."),
        .init(section: scanBridgeSection, name: "LogMaxFiles", kind: .integer(1...100), defaultValue: "5",
              summary: "Rotated log files kept (scanbridge.1.log ... scanbridge.N.log); older ones are deleted."),
        .init(section: scanBridgeSection, name: "BufferMemoryLimit", kind: .integer(0...1_048_576), defaultValue: "800",
              summary: "Memory for buffered page content, in MB; past it the least recently used pages spill, encrypted, to cache/ and come back on demand (0 = spill every page)."),
        .init(section: scanBridgeSection, name: "BufferMaxPages", kind: .integer(1...1_000_000), defaultValue: "10000",
              summary: "Pages the image buffer holds at most (in memory and in cache/ together); a scan past it fails with a clear error and keeps the pages it has."),
        .init(section: scanBridgeSection, name: "MaxBodyBytesInFlightMB", kind: .integer(1...65_536), defaultValue: "256",
              summary: "Request bodies (image imports) all requests together may hold in memory at once, in MiB; a body that would go past it is refused with 503 (-2116) and may be sent again shortly."),
        .init(section: scanBridgeSection, name: "ImportMaxMegapixels", kind: .integer(1...100_000), defaultValue: "1000",
              summary: "Pixels of all pages of one imported image file together, in millions; a file with more is refused with 400 before a page is decoded. Pages are decoded one at a time."),
        .init(section: scanBridgeSection, name: "PageJournal", kind: .choice(["true", "false"]), defaultValue: "true",
              summary: "Journal every scanned page (encrypted, fsync'd) in journal/ before it is announced, so that a crash, kill or power cut loses no announced page and the job comes back interrupted and resumable (docs/DURABILITY.md). false: jobs live in memory only."),
        .init(section: scanBridgeSection, name: "InterruptedJobTTLMinutes", kind: .integer(1...525_600), defaultValue: "1440",
              summary: "Minutes a job restored from the journal (interrupted, or ended before the restart) is kept untouched before it and its pages are deleted; counted from the start-up that restored it or the last request naming it, whichever is later."),
        .init(section: scanBridgeSection, name: "ProductKeys", kind: .list, defaultValue: "",
              summary: "Product keys (DWT-PRODUCT-KEY / X-DICS-LICENSE-KEY headers) allowed to create scan jobs, comma-separated; empty accepts any key. An administrator's way to say which applications may scan."),
        // Browser security (Security/SecurityPolicy.swift).
        .init(section: scanBridgeSection, name: "AllowedOrigins", kind: .list, defaultValue: "",
              summary: "Web page origins (scheme://host[:port], comma-separated) that may use the service from a browser; the service's own pages always may. Empty by default: a scanner on this machine is not for every website the user visits, so an administrator names the web applications that may scan. \"*\" allows any origin and is honoured only when written explicitly. Editable on the service page."),
        .init(section: scanBridgeSection, name: "AllowedHosts", kind: .list, defaultValue: "",
              summary: "Extra host names the Host header may carry besides 127.0.0.1, localhost and [::1] (and BindAddress when it is a specific address), comma-separated. Any other Host is refused (DNS rebinding protection)."),
        // HTTP limits (ScanBridgeHTTP.HTTPLimits): each guards against one kind of abusive or broken client.
        .init(section: scanBridgeSection, name: "HTTPMaxLineBytes", kind: .integer(256...1_048_576), defaultValue: "8192",
              summary: "Longest HTTP request line (method, target, version) in bytes; longer gets 414."),
        .init(section: scanBridgeSection, name: "HTTPMaxHeadBytes", kind: .integer(1024...4_194_304), defaultValue: "32768",
              summary: "Largest HTTP request head (request line and header fields) in bytes; larger gets 431."),
        .init(section: scanBridgeSection, name: "HTTPMaxHeaders", kind: .integer(8...10_000), defaultValue: "100",
              summary: "Most header fields in one HTTP request; more gets 431."),
        .init(section: scanBridgeSection, name: "HTTPMaxBodyMB", kind: .integer(1...65_536), defaultValue: "256",
              summary: "Largest HTTP request body in MiB; larger gets 413."),
        .init(section: scanBridgeSection, name: "HTTPIdleTimeout", kind: .integer(1...86_400), defaultValue: "60",
              summary: "Seconds a keep-alive connection may wait for its next request, or a request body may stall, before it is closed."),
        .init(section: scanBridgeSection, name: "HTTPHeadTimeout", kind: .integer(1...3_600), defaultValue: "10",
              summary: "Seconds a client has to send a whole request head, counted from its first byte however slowly the rest arrives (slowloris defence); then 408 and close."),
        .init(section: scanBridgeSection, name: "HTTPMinBodyRate", kind: .integer(0...1_073_741_824), defaultValue: "1024",
              summary: "Slowest request body accepted, in bytes a second (0: no minimum). A body may keep the service waiting HTTPHeadTimeout seconds plus the time its bytes so far take at this rate; then 408 and close."),
        .init(section: scanBridgeSection, name: "HTTPSendTimeout", kind: .integer(1...86_400), defaultValue: "60",
              summary: "Seconds one write may wait for a client that does not read before the connection is dropped."),
        .init(section: scanBridgeSection, name: "MaxConnections", kind: .integer(1...100_000), defaultValue: "1024",
              summary: "Most open connections per listener. One more closes the connection that has waited longest between requests (an idle keep-alive connection, or a request head still arriving); only when every connection is busy with a request is it answered 503 and closed."),
        .init(section: scanBridgeSection, name: "HTTPLingerTimeout", kind: .integer(0...60), defaultValue: "2",
              summary: "Seconds the service goes on reading (and discarding) what a client sends after an answer that ends the connection, such as 413 or 431, having half-closed its side, so that the client reads the answer instead of a connection reset."),
        // The eSCL (AirScan) server (ScanBridgeESCL, docs/ESCL.md).
        .init(section: scanBridgeSection, name: "ESCLEnabled", kind: .choice(["false", "true"]), defaultValue: "false",
              summary: "Serve the SANE scanner over eSCL (AirScan), the protocol of the operating systems' own scanning apps, on ESCLPort."),
        .init(section: scanBridgeSection, name: "ESCLPort", kind: .integer(0...65535), defaultValue: "18630",
              summary: "TCP port of the eSCL listener (0: any free port, logged at start)."),
        .init(section: scanBridgeSection, name: "ESCLBindAddress", kind: .text, defaultValue: "127.0.0.1",
              summary: "Address the eSCL listener binds to. A non-loopback address is refused unless ESCLAllowLAN=true, ESCLTLS=true and ESCLAllowedClients is set."),
        .init(section: scanBridgeSection, name: "ESCLAllowLAN", kind: .choice(["false", "true"]), defaultValue: "false",
              summary: "Allow the eSCL listener on a non-loopback address (other machines may then scan, within ESCLAllowedClients)."),
        .init(section: scanBridgeSection, name: "ESCLTLS", kind: .choice(["false", "true"]), defaultValue: "false",
              summary: "Serve eSCL over HTTPS with the service's certificate (cert/); required for a non-loopback ESCLBindAddress."),
        .init(section: scanBridgeSection, name: "ESCLAllowedClients", kind: .list, defaultValue: "",
              summary: "Client addresses or networks (CIDR, comma-separated, e.g. 192.168.1.0/24) that may use the eSCL listener; others get 403. Required for a non-loopback ESCLBindAddress; empty on loopback allows this machine."),
        .init(section: scanBridgeSection, name: "ESCLScanner", kind: .text, defaultValue: "",
              summary: "The scanner offered over eSCL: its identity (scanbridge devices) or SANE name; empty for the first scanner SANE lists."),
        .init(section: scanBridgeSection, name: "CameraDeviceFolder", kind: .text, defaultValue: "/dev",
              summary: "The folder whose video* device nodes are the cameras ScanBridge lists and captures from."),
    ]

    /// The key named `name` (case-insensitive), including numbered listener keys.
    public static func known(_ name: String) -> ConfigurationKey? {
        if let key = catalog.first(where: { $0.name.caseInsensitiveEquals(name) }) { return key }
        return ListenerKeys.key(named: name)
    }
}

/// The numbered listener keys of the `[DS]` section.
public enum ListenerKeys {
    /// Defaults as the Dynamsoft Service ships them: index, role, port, secure.
    public static let defaults: [(index: Int, role: ListenerRole, port: Int, secure: Bool)] = [
        (0, .dcp, 18625, false), (1, .dwt, 18622, false),
        (0, .dcp, 18626, true), (1, .dwt, 18623, true),
    ]

    static func prefix(secure: Bool) -> String { secure ? "SSLPort" : "Port" }

    /// A `Port_mn_N`/`Port_mp_N`/`SSLPort_mn_N`/`SSLPort_mp_N` key, or nil.
    static func key(named name: String) -> ConfigurationKey? {
        let lower = name.lowercased()
        for secure in [false, true] {
            let prefix = prefix(secure: secure).lowercased()
            for (part, isRole) in [("_mn_", true), ("_mp_", false)] where lower.hasPrefix(prefix + part) {
                guard let index = Int(lower.dropFirst(prefix.count + part.count)), index >= 0 else { return nil }
                let canonical = "\(Self.prefix(secure: secure))\(part)\(index)"
                let fallback = defaults.first { $0.index == index && $0.secure == secure }
                if isRole {
                    return ConfigurationKey(section: ConfigurationKey.dsSection, name: canonical,
                                            kind: .choice(ListenerRole.allCases.map(\.rawValue)),
                                            defaultValue: fallback?.role.rawValue ?? "",
                                            summary: "Role of \(secure ? "HTTPS" : "HTTP") listener \(index): dwt (core API) or dcp (service page).")
                }
                return ConfigurationKey(section: ConfigurationKey.dsSection, name: canonical, kind: .integer(0...65535),
                                        defaultValue: fallback.map { String($0.port) } ?? "",
                                        summary: "TCP port of \(secure ? "HTTPS" : "HTTP") listener \(index) (0: any free port, logged at start).")
            }
        }
        return nil
    }
}

/// What a listener serves: the DWT core API or the service (welcome/setup) page.
public enum ListenerRole: String, Sendable, CaseIterable {
    case dwt
    case dcp
}
