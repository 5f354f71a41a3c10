import Logging
import ScanBridgeCore

/// The eSCL listener's DNS-SD announcement through the Avahi daemon on the system bus, so that
/// the operating systems' scanning apps find the scanner by themselves. The blocking D-Bus
/// calls run on a thread of their own. Without a bus or an Avahi daemon the service runs
/// unannounced and says so in one log line.
final class ESCLAnnouncement: Sendable {
    /// The instance name, and the one tried when another host already uses it.
    static let names = ["ScanBridge", "ScanBridge (2)"]

    private let thread = DedicatedThreads(name: "escl-mdns")
    private let publisher = ThreadConfined(AvahiPublisher())
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Publishes `record`; `url` is what the log tells the administrator to hand out when the
    /// announcement is not possible.
    func announce(_ record: ESCLServiceRecord, bindAddress: String, url: String) async {
        let addressProtocol = Self.addressProtocol(bindAddress: bindAddress)
        let outcome = try? await thread.run { [publisher] in
            publisher.value.publish(record, names: Self.names, addressProtocol: addressProtocol)
        }
        let what = "\(record.type) port \(record.port)"
        switch outcome {
        case .announced(let name):
            logger.info("eSCL: announced as \"\(name)\" (\(what)) through Avahi")
        case .registering(let name):
            logger.info("eSCL: announced as \"\(name)\" (\(what)) through Avahi; the network is still being probed")
        case .noDaemon(let reason):
            logger.info("eSCL: no Avahi daemon on the system bus; not announced (\(reason)); give clients the URL \(url)")
        case .collision(let names):
            logger.warning("eSCL: not announced: the names \(names.map { "\"\($0)\"" }.joined(separator: " and ")) are taken on the network; give clients the URL \(url)")
        case .failed(let reason):
            logger.warning("eSCL: not announced (Avahi: \(reason)); give clients the URL \(url)")
        case nil:
            logger.warning("eSCL: not announced (the announcement thread has stopped); give clients the URL \(url)")
        }
    }

    /// Takes the service off the network and ends the thread.
    func withdraw() async {
        _ = try? await thread.run { [publisher] in publisher.value.withdraw() }
        thread.stop()
    }

    /// The mDNS protocol to publish on: the listener's address family, both for a wildcard IPv6
    /// listener (which also takes IPv4 connections).
    static func addressProtocol(bindAddress: String) -> AvahiPublisher.AddressProtocol {
        guard bindAddress.contains(":") else { return .ipv4 }
        return bindAddress == "::" ? .any : .ipv6
    }
}

/// A non-Sendable value handed to a `DedicatedThreads` with one thread: only jobs of that
/// thread touch it, one at a time, which is the whole of its synchronisation.
private final class ThreadConfined<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
