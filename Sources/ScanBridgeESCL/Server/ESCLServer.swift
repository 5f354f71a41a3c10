import Logging
import ScanBridgeDevices
import ScanBridgeHTTP
import ScanBridgeIO

/// The eSCL (AirScan) listener: its own port, its own router, the access rules of
/// `ESCLSettings`, one scanner.
public final class ESCLServer: Sendable {
    public let port: Int
    public let scanner: ESCLScanner
    public let settings: ESCLSettings
    private let server: HTTPServer
    private let task: Task<Void, Never>
    /// The DNS-SD announcement of a listener that serves the network, and the task that
    /// publishes it (it waits for the scanner's description).
    private let announcement: ESCLAnnouncement?
    private let announcing: Task<Void, Never>?

    private init(port: Int, scanner: ESCLScanner, settings: ESCLSettings, server: HTTPServer, logger: Logger) {
        self.port = port
        self.scanner = scanner
        self.settings = settings
        self.server = server
        self.task = Task { await server.run() }
        let scheme = settings.useTLS ? "https" : "http"
        let host = settings.bindAddress.contains(":") ? "[\(settings.bindAddress)]" : settings.bindAddress
        let url = "\(scheme)://\(host):\(port)/eSCL"
        logger.info("eSCL: listening on \(url) (scanner: \(settings.scanner ?? "the first one SANE lists"))")
        // mDNS never runs on loopback: an announcement would send other machines, and this
        // one's own clients (which resolve it to the network address), to a port they cannot
        // reach.
        guard settings.servesNetwork else {
            logger.info("eSCL: not announced (the listener is on loopback, which mDNS does not serve); give local clients the URL \(url)")
            announcement = nil
            announcing = nil
            return
        }
        let announcement = ESCLAnnouncement(logger: logger)
        self.announcement = announcement
        announcing = Task { [scanner] in
            let description: ESCLScannerDescription
            do {
                description = try await scanner.description()
            } catch {
                logger.warning("eSCL: not announced (the scanner cannot be described: \(error)); give clients the URL \(url)")
                return
            }
            let record = ESCLServiceRecord(scanner: description, port: port, tls: settings.useTLS)
            await announcement.announce(record, bindAddress: settings.bindAddress, url: url)
        }
    }

    /// Binds and starts serving.
    /// - Parameter tls: the service's TLS context; required when `settings.useTLS`.
    /// - Throws: `ESCLSettingsError` for settings that are refused or a port that cannot be bound.
    public static func start(settings: ESCLSettings, engine: IOEngine, tls: TLSContext?, limits: HTTPLimits = HTTPLimits(),
                             sane: SANEContext = .shared,
                             logger: Logger = Logger(label: "scanbridge.escl")) throws(ESCLSettingsError) -> ESCLServer {
        try settings.validate()
        if settings.useTLS && tls == nil { throw ESCLSettingsError("ESCLTLS=true but the service has no TLS certificate") }
        let scanner = ESCLScanner(device: settings.scanner, sane: sane, logger: logger)
        var router = Router()
        ESCLRoutes(scanner: scanner).register(on: &router)
        router.use(ESCLAccess(settings: settings).middleware)
        router.errorRenderer = ESCLErrorRenderer()
        let listener: any StreamListener
        do {
            listener = try engine.listen(address: settings.bindAddress, port: settings.port)
        } catch {
            throw ESCLSettingsError("eSCL: cannot listen on \(settings.bindAddress) port \(settings.port): \(error)")
        }
        let server = HTTPServer(listener: listener, responder: router,
                                configuration: .init(limits: limits, tls: settings.useTLS ? tls : nil, errorRenderer: ESCLErrorRenderer()),
                                logger: Logger(label: "scanbridge.http"))
        return ESCLServer(port: server.port, scanner: scanner, settings: settings, server: server, logger: logger)
    }

    /// Withdraws the announcement, stops listening, lets responses in progress finish, and
    /// cancels the jobs.
    public func stop(gracePeriod: Duration = .seconds(5)) async {
        await announcing?.value
        await announcement?.withdraw()
        await server.shutdown(gracePeriod: gracePeriod)
        await task.value
        await scanner.cancelAll()
    }
}

/// Who may talk to the eSCL listener: never a web page (a request with `Origin`), only
/// clients in `ESCLAllowedClients` when that list is set, and on loopback only requests that
/// name a loopback host (DNS rebinding).
struct ESCLAccess {
    let settings: ESCLSettings

    var middleware: Middleware {
        { [settings] request, next in
            if request.headerFields[.origin] != nil {
                throw HTTPError(.forbidden, message: "The eSCL service does not serve web pages (the request has an Origin)")
            }
            if !settings.allowedClients.isEmpty {
                guard let client = request.connection.remoteAddress, settings.allowedClients.contains(client) else {
                    throw HTTPError(.forbidden, message: "Client \(request.connection.remoteAddress ?? "(unknown address)") is not in ESCLAllowedClients")
                }
            }
            if !settings.servesNetwork {
                let host = Self.hostName(request.headerFields[.hostField] ?? "")
                guard ESCLAccessList.isLoopback(host) else {
                    throw HTTPError(.forbidden, message: "Host \"\(host)\" is not a loopback name; this eSCL listener serves this machine only")
                }
            }
            return try await next(request)
        }
    }

    /// The host part of a Host header ("[::1]:18630" → "::1", "localhost:18630" → "localhost").
    static func hostName(_ header: String) -> String {
        if header.hasPrefix("["), let close = header.firstIndex(of: "]") {
            return String(header[header.index(after: header.startIndex)..<close])
        }
        if header.filter({ $0 == ":" }).count == 1, let colon = header.firstIndex(of: ":") { return String(header[..<colon]) }
        return header
    }
}
