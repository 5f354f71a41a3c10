/// The typed settings the service runs with, derived from `LoadedConfiguration`.
public struct ServiceSettings: Sendable, Equatable {
    public struct Listener: Sendable, Equatable, CustomStringConvertible {
        public var role: ListenerRole
        public var port: Int
        public var secure: Bool

        public var description: String { "\(role.rawValue) \(secure ? "https" : "http") port \(port)" }
    }

    public var dsVersion: String
    public var logLevel: Int
    public var bindAddress: String
    public var ioEngine: IOEngineChoice
    public var logMaxFileSizeBytes: Int
    public var logMaxFiles: Int
    /// `BufferMemoryLimit` in bytes (the key is in MB).
    public var bufferMemoryLimitBytes: Int
    /// `BufferMaxPages`.
    public var bufferMaxPages: Int
    public var listeners: [Listener]
    /// `MaxBodyBytesInFlightMB` in bytes.
    public var maxBodyBytesInFlight = 256 << 20
    /// `ImportMaxMegapixels` in pixels.
    public var importMaxPixels = 1_000_000_000
}

/// The `IOEngine` key.
public enum IOEngineChoice: String, Sendable, CaseIterable {
    case auto
    case ioUring = "io_uring"
    case epoll
}
