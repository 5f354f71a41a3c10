import Foundation
import Logging
import ScanBridgeESCL
import ScanBridgeHTTP
import ScanBridgeIO

extension HTTPLimits {
    /// The limits from the `HTTP…` keys of the configuration.
    public init(configuration: LoadedConfiguration) {
        func value(_ name: String) -> Int? {
            configuration.values.first { $0.key.name == name }.flatMap { Int($0.value) }
        }
        self.init()
        if let bytes = value("HTTPMaxLineBytes") { maxRequestLineLength = bytes }
        if let bytes = value("HTTPMaxHeadBytes") { maxHeaderBytes = bytes }
        if let count = value("HTTPMaxHeaders") { maxHeaderCount = count }
        if let megabytes = value("HTTPMaxBodyMB") { maxBodySize = megabytes << 20 }
        if let seconds = value("HTTPIdleTimeout") { idleTimeout = .seconds(seconds) }
        if let seconds = value("HTTPHeadTimeout") { headerReadTimeout = .seconds(seconds) }
        if let rate = value("HTTPMinBodyRate") { minBodyRate = rate }
        if let seconds = value("HTTPSendTimeout") { sendTimeout = .seconds(seconds) }
        if let count = value("MaxConnections") { maxConnections = count }
        if let seconds = value("HTTPLingerTimeout") { lingerTimeout = .seconds(seconds) }
    }
}

/// Every listener of the service, running: core (`dwt`) ports serve `/api`, service (`dcp`)
/// ports the welcome page; the SSL ports the same over TLS.
public final class ServiceServer: Sendable {
    public struct Running: Sendable {
        public var listener: ServiceSettings.Listener
        /// The bound port (differs from `listener.port` when that is 0).
        public var port: Int
        let server: HTTPServer
        let task: Task<Void, Never>
        /// The same listener on ::1 (`ListenIPv6Loopback`), when it could bind.
        let ipv6Loopback: (server: HTTPServer, task: Task<Void, Never>)?

        /// Every address this listener answers on.
        public var addresses: [String] { ipv6Loopback == nil ? [ServiceServer.ipv4Loopback] : [ServiceServer.ipv4Loopback, "::1"] }
    }

    static let ipv4Loopback = "127.0.0.1"

    public struct StartError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public let engine: IOEngine
    public let status: ServiceStatus
    public let service: ScanningService
    public let running: [Running]
    /// Host check, CORS and Private Network Access in front of every route.
    public let policy: SecurityPolicy
    /// The eSCL (AirScan) listener, when `ESCLEnabled`.
    public let escl: ESCLServer?
    private let logger: Logger

    private init(engine: IOEngine, status: ServiceStatus, service: ScanningService, running: [Running], policy: SecurityPolicy,
                 escl: ESCLServer?, logger: Logger) {
        self.engine = engine
        self.status = status
        self.service = service
        self.running = running
        self.policy = policy
        self.escl = escl
        self.logger = logger
    }

    /// Starts the engine the configuration asks for and every configured listener. On failure
    /// nothing is left running.
    public static func start(configuration: LoadedConfiguration, folder: ServiceFolder, logLevel: ServiceLogLevel,
                             metrics: ServiceMetrics = ServiceMetrics(),
                             logger: Logger = Logger(label: "scanbridge.server")) async throws(StartError) -> ServiceServer {
        let settings = configuration.settings
        let engine: IOEngine
        do {
            engine = try IOEngine.start(IOEnginePreference(rawValue: settings.ioEngine.rawValue) ?? .auto,
                                        logger: Logger(label: "scanbridge.io"))
        } catch {
            throw StartError(description: "cannot start the \(settings.ioEngine.rawValue) I/O engine: \(error)")
        }
        let status = ServiceStatus(logLevel: logLevel, ioEngine: engine.kind.rawValue)
        metrics.recordIOEngine(engine.kind.rawValue)
        let limits = HTTPLimits(configuration: configuration)
        let esclSettings: ESCLSettings
        do {
            esclSettings = try ESCLSettings(configuration: configuration)
            if esclSettings.enabled { try esclSettings.validate() }
        } catch {
            throw StartError(description: "\(error)")
        }

        var tls: TLSContext?
        if settings.listeners.contains(where: \.secure) || (esclSettings.enabled && esclSettings.useTLS) {
            let certificates = ServerCertificates(folder: folder)
            do {
                switch try certificates.ensure() {
                case .existing: logger.info("HTTPS certificate: \(certificates.certificate)")
                case .generated(let newAuthority):
                    logger.info("Generated an HTTPS certificate for 127.0.0.1, ::1 and localhost", metadata: [
                        "certificate": "\(certificates.certificate)",
                        "ca": "\(certificates.authorityCertificate)\(newAuthority ? " (new)" : "")"])
                }
                tls = try certificates.tlsContext()
            } catch {
                throw StartError(description: "HTTPS: \(error)")
            }
        }

        let service: ScanningService
        do {
            service = try await ScanningService.open(folder: folder, configuration: configuration, metrics: metrics)
        } catch {
            throw StartError(description: "cannot open the image buffer or the documents: \(error)")
        }
        let policy = SecurityPolicy(configuration: configuration)
        let endpoints = ServiceEndpoints()
        var core = CoreRoutes.router(status: status, service: service, folder: folder)
        WebAssets.register(on: &core, endpoints: endpoints)
        core.use(policy.middleware(publicPaths: WebAssets.publicPaths))
        var page = ServicePageRoutes.router(status: status, service: service, policy: policy, configuration: configuration,
                                            endpoints: endpoints)
        page.use(policy.middleware(publicPaths: WebAssets.publicPaths))
        page.errorRenderer = DWTErrorRenderer()
        let routers: [ListenerRole: Router] = [.dwt: core, .dcp: page]
        var started: [(ServiceSettings.Listener, HTTPServer, HTTPServer?)] = []
        func makeServer(_ socket: any StreamListener, _ listener: ServiceSettings.Listener) -> HTTPServer {
            HTTPServer(listener: socket, responder: routers[listener.role]!,
                       configuration: .init(limits: limits, tls: listener.secure ? tls : nil, errorRenderer: DWTErrorRenderer()),
                       logger: Logger(label: "scanbridge.http"))
        }
        let alsoIPv6Loopback = settings.bindAddress == ipv4Loopback && Self.listensOnIPv6Loopback(configuration)
        for listener in settings.listeners {
            do {
                let server = makeServer(try engine.listen(address: settings.bindAddress, port: listener.port), listener)
                // Where localhost resolves to ::1 first, https://localhost must find the service
                // there too. A machine without IPv6 loopback, or a port taken on ::1 only, costs
                // that address, not the service.
                var companion: HTTPServer?
                if alsoIPv6Loopback {
                    do {
                        companion = makeServer(try engine.listen(address: "::1", port: server.port), listener)
                    } catch {
                        logger.warning("Not listening on [::1]:\(server.port) (\(listener)): \(error.systemMessage.isEmpty ? "\(error)" : error.systemMessage)")
                    }
                }
                started.append((listener, server, companion))
            } catch {
                for (_, server, companion) in started {
                    await server.listener.close()
                    await companion?.listener.close()
                }
                service.jobs.events.finishAll()
                await service.close()
                throw StartError(description: "cannot listen on \(settings.bindAddress) port \(listener.port) (\(listener)): \(error.systemMessage.isEmpty ? "\(error)" : error.systemMessage)")
            }
        }
        var escl: ESCLServer?
        if esclSettings.enabled {
            do {
                escl = try ESCLServer.start(settings: esclSettings, engine: engine, tls: tls, limits: limits)
            } catch {
                for (_, server, companion) in started {
                    await server.listener.close()
                    await companion?.listener.close()
                }
                service.jobs.events.finishAll()
                await service.close()
                throw StartError(description: "\(error)")
            }
        }
        let running = started.map { listener, server, companion in
            Running(listener: listener, port: server.port, server: server, task: Task { await server.run() },
                    ipv6Loopback: companion.map { companion in (companion, Task { await companion.run() }) })
        }
        policy.setServicePorts(Set(running.map(\.port)))
        endpoints.set(running.map { ServiceEndpoints.Endpoint(role: $0.listener.role, secure: $0.listener.secure, port: $0.port) })
        for item in running {
            let scheme = item.listener.secure ? "https" : "http"
            let host = settings.bindAddress.contains(":") ? "[\(settings.bindAddress)]" : settings.bindAddress
            logger.info("Listening on \(scheme)://\(host):\(item.port)/ (\(item.listener.role.rawValue))")
            if item.ipv6Loopback != nil { logger.info("Listening on \(scheme)://[::1]:\(item.port)/ (\(item.listener.role.rawValue))") }
        }
        return ServiceServer(engine: engine, status: status, service: service, running: running, policy: policy, escl: escl,
                             logger: logger)
    }

    /// `ListenIPv6Loopback`: whether listeners bound to 127.0.0.1 also listen on ::1.
    static func listensOnIPv6Loopback(_ configuration: LoadedConfiguration) -> Bool {
        configuration.values.first { $0.key.name == "ListenIPv6Loopback" }?.value != "false"
    }

    /// Closes the listeners, lets responses in progress finish (up to `gracePeriod`), and
    /// returns when every connection has ended.
    public func stop(gracePeriod: Duration = .seconds(5)) async {
        // Event streams never end by themselves: finish them so connections can close.
        service.jobs.events.finishAll()
        await withTaskGroup(of: Void.self) { group in
            for item in running {
                group.addTask { await item.server.shutdown(gracePeriod: gracePeriod) }
                if let companion = item.ipv6Loopback { group.addTask { await companion.server.shutdown(gracePeriod: gracePeriod) } }
            }
            if let escl { group.addTask { await escl.stop(gracePeriod: gracePeriod) } }
        }
        for item in running {
            await item.task.value
            await item.ipv6Loopback?.task.value
        }
        await service.close()
    }
}
