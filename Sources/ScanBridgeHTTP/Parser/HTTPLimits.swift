/// The limits one HTTP connection is held to. Each is a documented configuration key of the
/// service (`[ScanBridge] HTTP…` in DSConfiguration.ini); the defaults here are those keys'
/// defaults.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line (method, target, version) in bytes; longer → 414.
    public var maxRequestLineLength: Int
    /// Most bytes of the request head (request line and header fields, or trailer fields); more → 431.
    public var maxHeaderBytes: Int
    /// Most header fields in one request head (or trailer section); more → 431.
    public var maxHeaderCount: Int
    /// Largest request body in bytes, by Content-Length or summed chunks; larger → 413.
    public var maxBodySize: Int
    /// Longest chunk-size line of a chunked body, chunk extensions included; longer → 400.
    public var maxChunkLineLength: Int
    /// How long a keep-alive connection may wait for the first byte of its next request, and
    /// how long a body may stall between two reads.
    public var idleTimeout: Duration
    /// How long a client has to deliver a whole request head, counted from its first byte
    /// however slowly the rest trickles in (slowloris).
    public var headerReadTimeout: Duration
    /// Slowest request body accepted, in bytes a second (0: no minimum): a body may keep the
    /// connection waiting for its bytes `headerReadTimeout` plus the time its bytes so far take
    /// at this rate, then 408 and close. A body trickling in cannot hold a connection for long.
    public var minBodyRate: Int
    /// How long one send may wait for a slow reader before the connection is dropped.
    public var sendTimeout: Duration
    /// Most connections open at once per server. One more first closes the connection that has
    /// waited longest between requests (idle keep-alive, or a head not yet complete); only when
    /// every connection is busy with a request is it answered 503 and closed.
    public var maxConnections: Int
    /// After an answer that ends the connection (an error such as 413 or 431, a timeout), how
    /// long the server still reads and discards what the client sends, having half-closed its
    /// side, so that closing does not reset the connection before the client read the answer.
    public var lingerTimeout: Duration

    public init(
        maxRequestLineLength: Int = 8192,
        maxHeaderBytes: Int = 32768,
        maxHeaderCount: Int = 100,
        maxBodySize: Int = 256 << 20,
        maxChunkLineLength: Int = 4096,
        idleTimeout: Duration = .seconds(60),
        headerReadTimeout: Duration = .seconds(10),
        minBodyRate: Int = 1024,
        sendTimeout: Duration = .seconds(60),
        maxConnections: Int = 1024,
        lingerTimeout: Duration = .seconds(2)
    ) {
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodySize = maxBodySize
        self.maxChunkLineLength = maxChunkLineLength
        self.idleTimeout = idleTimeout
        self.headerReadTimeout = headerReadTimeout
        self.minBodyRate = minBodyRate
        self.sendTimeout = sendTimeout
        self.maxConnections = maxConnections
        self.lingerTimeout = lingerTimeout
    }
}
