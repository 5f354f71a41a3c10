import ScanBridgeHTTP
import Synchronization

/// The listeners of the running service as browsers reach them, known once they are bound
/// (tests bind port 0). The demo page, the welcome page and the console's ready message read them.
public final class ServiceEndpoints: Sendable {
    public struct Endpoint: Sendable, Equatable {
        public var role: ListenerRole
        public var secure: Bool
        public var port: Int

        public var url: String { "\(secure ? "https" : "http")://127.0.0.1:\(port)" }
    }

    private let state = Mutex<[Endpoint]>([])

    public init() {}

    /// The endpoints of a started server.
    public convenience init(running: [ServiceServer.Running]) {
        self.init()
        set(running.map { Endpoint(role: $0.listener.role, secure: $0.listener.secure, port: $0.port) })
    }

    public var all: [Endpoint] { state.withLock { $0 } }

    func set(_ endpoints: [Endpoint]) { state.withLock { $0 = endpoints } }

    /// API roots in the order the SDK should try them: https first, then http.
    var apiRoots: [String] {
        let core = all.filter { $0.role == .dwt }
        return (core.filter(\.secure) + core.filter { !$0.secure }).map(\.url)
    }

    /// The SDK on the first plain-HTTP API listener (browsers trust it without a certificate).
    var sdkURL: String { (preferred(.dwt)?.url ?? "") + "/scanbridge.js" }

    /// The demo on the service-page listener. There the SDK's calls to the API port are
    /// cross-origin, so the browser names the page's origin on every one of them, and the jobs
    /// the page creates stay its own. (Served from the API port itself, the browser leaves out
    /// `Origin` on same-origin GETs, and the page's own jobs would answer 403.)
    public var demoURL: String? { (preferred(.dcp) ?? preferred(.dwt)).map { $0.url + "/demo" } }

    /// The welcome and settings page on the first plain-HTTP service-page listener.
    public var servicePageURL: String? { preferred(.dcp).map { $0.url + "/" } }

    /// The first plain-HTTP listener of `role`, else its first HTTPS one.
    private func preferred(_ role: ListenerRole) -> Endpoint? {
        let endpoints = all
        return endpoints.first { $0.role == role && !$0.secure } ?? endpoints.first { $0.role == role }
    }
}
