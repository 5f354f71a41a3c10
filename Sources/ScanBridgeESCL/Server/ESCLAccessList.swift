#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `ESCLAllowedClients`: the networks (CIDR: "192.168.1.0/24", "10.0.0.7", "fd00::/8") whose
/// clients may use the eSCL server. An address without a prefix length is one host.
public struct ESCLAccessList: Sendable, Equatable, CustomStringConvertible {
    struct Network: Sendable, Equatable {
        /// 4 bytes for IPv4, 16 for IPv6.
        var address: [UInt8]
        var prefixLength: Int
    }

    private(set) var networks: [Network]
    public let description: String

    public var isEmpty: Bool { networks.isEmpty }

    /// Parses a comma-separated list.
    /// - Throws: a message naming the entry that is not an address or network.
    public init(parsing text: String) throws(ESCLSettingsError) {
        networks = []
        let entries = text.split(separator: ",").map { String($0).trimmingXMLSpace() }.filter { !$0.isEmpty }
        for entry in entries {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let address = Self.bytes(of: parts[0]) else {
                throw ESCLSettingsError("ESCLAllowedClients: \"\(entry)\" is not an IP address or network (CIDR)")
            }
            let bits = address.count * 8
            var length = bits
            if parts.count == 2 {
                guard let value = Int(parts[1]), (0...bits).contains(value) else {
                    throw ESCLSettingsError("ESCLAllowedClients: \"\(entry)\" has a prefix length outside 0…\(bits)")
                }
                length = value
            }
            networks.append(Network(address: address, prefixLength: length))
        }
        description = entries.joined(separator: ",")
    }

    /// Whether `address` (a numeric IPv4 or IPv6 address) is inside one of the networks.
    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(of: address) else { return false }
        return networks.contains { network in
            guard network.address.count == bytes.count else { return false }
            var remaining = network.prefixLength
            for (mine, theirs) in zip(network.address, bytes) where remaining > 0 {
                let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
                if mine & mask != theirs & mask { return false }
                remaining -= 8
            }
            return true
        }
    }

    static func bytes(of text: String) -> [UInt8]? {
        var literal = text
        if literal.hasPrefix("["), literal.hasSuffix("]") { literal = String(literal.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            // An IPv4-mapped address is that IPv4 address.
            if bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] { return Array(bytes.suffix(4)) }
            return bytes
        }
        return nil
    }

    /// Whether `address` is a loopback address (127.0.0.0/8, ::1) or "localhost".
    public static func isLoopback(_ address: String) -> Bool {
        if address.lowercased() == "localhost" { return true }
        guard let bytes = bytes(of: address) else { return false }
        return bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }
}

/// A setting of the eSCL server that cannot be used as given.
public struct ESCLSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The `ESCL…` configuration keys, typed.
public struct ESCLSettings: Sendable, Equatable {
    public var enabled = false
    public var port = 18630
    public var bindAddress = "127.0.0.1"
    /// `ESCLAllowLAN`: the administrator's explicit consent to serve other machines.
    public var allowLAN = false
    /// `ESCLTLS`: serve HTTPS with the service's certificate.
    public var useTLS = false
    public var allowedClients = try! ESCLAccessList(parsing: "")
    /// `ESCLScanner`: the scanner offered (identity or SANE name); nil for the first one.
    public var scanner: String?

    public init() {}

    /// Whether the listener is reachable from other machines.
    public var servesNetwork: Bool { !ESCLAccessList.isLoopback(bindAddress) }

    /// Refuses a non-loopback address unless LAN mode is asked for explicitly, with TLS and an
    /// access list: scanning is not something every machine on a network should be able to do.
    public func validate() throws(ESCLSettingsError) {
        guard servesNetwork else { return }
        var missing: [String] = []
        if !allowLAN { missing.append("ESCLAllowLAN=true") }
        if !useTLS { missing.append("ESCLTLS=true") }
        if allowedClients.isEmpty { missing.append("a non-empty ESCLAllowedClients list") }
        guard missing.isEmpty else {
            throw ESCLSettingsError("ESCLBindAddress \(bindAddress) is not a loopback address; serving eSCL to the network needs \(missing.joined(separator: ", "))")
        }
    }
}
