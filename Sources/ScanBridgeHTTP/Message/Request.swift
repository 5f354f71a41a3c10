import HTTPTypes

/// What a handler knows about the connection a request came on.
public struct ConnectionInfo: Sendable, Hashable {
    /// Whether the request came over TLS.
    public var isSecure: Bool
    /// The local port the connection was accepted on.
    public var localPort: Int
    /// The client's numeric IP address, when the socket layer knows it.
    public var remoteAddress: String?

    public init(isSecure: Bool, localPort: Int, remoteAddress: String? = nil) {
        self.isSecure = isSecure
        self.localPort = localPort
        self.remoteAddress = remoteAddress
    }
}

/// A request as handlers see it: the parsed head (swift-http-types fields), the decoded path,
/// the query, the router's path parameters and the body (bytes or a stream).
public struct Request: Sendable {
    public var head: HTTPRequestHead
    /// The path part of the target, percent-decoded per segment (`/api/storage/documents/x`).
    public var path: String
    /// The path's segments, each percent-decoded (so `%2F` inside a segment stays inside it).
    public var pathSegments: [String]
    public var query: QueryParameters
    /// Values of the route's `{name}` segments, filled in by the router.
    public var parameters: Parameters
    /// The pattern of the route whose path matched (`/api/device/scanners/jobs/{jobuid}`), set by
    /// the router before middleware runs, also when only the method differs; nil when no route's
    /// path matched. A label that stays bounded where the raw path would not.
    public var route: String?
    public var body: RequestBody
    public var connection: ConnectionInfo

    public var method: HTTPRequest.Method { head.method }
    public var headerFields: HTTPFields { head.headerFields }
    /// The swift-http-types view of the request (method, authority, path, fields).
    public var httpRequest: HTTPRequest { head.request }

    public init(head: HTTPRequestHead, body: RequestBody = .empty,
                connection: ConnectionInfo = ConnectionInfo(isSecure: false, localPort: 0)) {
        self.head = head
        let target = head.target
        let pathPart: Substring, queryPart: Substring
        if let question = target.firstIndex(of: "?") {
            pathPart = target[..<question]
            queryPart = target[target.index(after: question)...]
        } else {
            pathPart = target[...]
            queryPart = ""
        }
        self.pathSegments = pathPart.split(separator: "/", omittingEmptySubsequences: true).map { PercentDecoding.decode($0) ?? String($0) }
        self.path = "/" + pathSegments.joined(separator: "/")
        self.query = QueryParameters(parsing: queryPart)
        self.parameters = Parameters()
        self.body = body
        self.connection = connection
    }

    /// A request for tests and internal dispatch: `Request(method: .get, target: "/api/server")`.
    public init(method: HTTPRequest.Method, target: String, headerFields: HTTPFields = [:], body: [UInt8] = []) {
        var fields = headerFields
        if fields[.hostField] == nil { fields[.hostField] = "localhost" }
        let head = HTTPRequestHead(method: method, target: target, version: .http1_1, headerFields: fields,
                                   framing: body.isEmpty ? .none : .length(body.count), keepAlive: true, expectsContinue: false)
        self.init(head: head, body: body.isEmpty ? .empty : .bytes(body))
    }
}

/// The router's path parameters (`{jobuid}` → value), in route order.
public struct Parameters: Sendable, Hashable, Sequence {
    private var storage: [(name: String, value: String)] = []

    public init() {}

    public subscript(name: String) -> String? {
        storage.first { $0.name == name }?.value
    }

    /// The value of `name`, or a 400.
    public func require(_ name: String) throws(HTTPError) -> String {
        guard let value = self[name] else { throw HTTPError(.badRequest, message: "missing path parameter \(name)") }
        return value
    }

    mutating func append(_ name: String, _ value: String) { storage.append((name, value)) }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> { storage.makeIterator() }

    public static func == (lhs: Parameters, rhs: Parameters) -> Bool {
        lhs.storage.elementsEqual(rhs.storage) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for item in storage { hasher.combine(item.name); hasher.combine(item.value) }
    }
}

/// The query string as name/value pairs, in order, percent-decoded (`+` is a space). A bare
/// item (`/f/RemoveAllImages?12`) has an empty value.
public struct QueryParameters: Sendable, Hashable, Sequence {
    public private(set) var items: [QueryItem]

    public struct QueryItem: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public init(parsing query: Substring) {
        items = query.split(separator: "&", omittingEmptySubsequences: true).map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(parts[0], plusIsSpace: true) ?? String(parts[0])
            let value = parts.count > 1 ? (PercentDecoding.decode(parts[1], plusIsSpace: true) ?? String(parts[1])) : ""
            return QueryItem(name: name, value: value)
        }
    }

    /// The first value for `name`.
    public subscript(name: String) -> String? { items.first { $0.name == name }?.value }

    /// Every value for `name`.
    public func all(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    public func makeIterator() -> IndexingIterator<[QueryItem]> { items.makeIterator() }
}

enum PercentDecoding {
    /// Decodes `%XX` escapes (and `+` when asked); nil when an escape is malformed or the
    /// result is not UTF-8.
    static func decode(_ text: Substring, plusIsSpace: Bool = false) -> String? {
        let utf8 = text.utf8
        guard utf8.contains(UInt8(ascii: "%")) || (plusIsSpace && utf8.contains(UInt8(ascii: "+"))) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first != utf8.endIndex else { return nil }
                let second = utf8.index(after: first)
                guard second != utf8.endIndex, let high = utf8[first].hexValue, let low = utf8[second].hexValue else { return nil }
                bytes.append(UInt8(high << 4 | low))
                index = utf8.index(after: second)
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index = utf8.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
