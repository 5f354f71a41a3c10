/// Where a streamed request body comes from (the connection reading its socket).
protocol RequestBodySource: Sendable {
    /// The next piece of the body, or nil at its end. Throws `HTTPError` (400/408/413) when the
    /// body is malformed, over the limit or stalls.
    func nextBodyChunk() async throws(HTTPError) -> [UInt8]?
}

/// A request body: already in memory, or streamed from the connection as it arrives.
///
/// Read it once, either whole with `collect(upTo:)` or piece by piece with `for try await`.
/// A handler that doesn't read the body needn't do anything: the connection discards what is
/// left (or closes, if that is a lot).
public struct RequestBody: Sendable, AsyncSequence {
    public typealias Element = [UInt8]

    enum Storage: Sendable {
        case bytes([UInt8])
        case stream(any RequestBodySource)
    }

    let storage: Storage
    /// The Content-Length, when the client sent one.
    public let expectedLength: Int?

    init(storage: Storage, expectedLength: Int?) {
        self.storage = storage
        self.expectedLength = expectedLength
    }

    public static let empty = RequestBody(storage: .bytes([]), expectedLength: 0)

    public static func bytes(_ bytes: [UInt8]) -> RequestBody {
        RequestBody(storage: .bytes(bytes), expectedLength: bytes.count)
    }

    /// The whole body; throws a 413 when it is larger than `maxSize`.
    public func collect(upTo maxSize: Int = .max) async throws(HTTPError) -> [UInt8] {
        switch storage {
        case .bytes(let bytes):
            guard bytes.count <= maxSize else { throw HTTPError.contentTooLarge(limit: maxSize) }
            return bytes
        case .stream(let source):
            if let expectedLength, expectedLength > maxSize { throw HTTPError.contentTooLarge(limit: maxSize) }
            var result: [UInt8] = []
            if let expectedLength { result.reserveCapacity(expectedLength) }
            while let chunk = try await source.nextBodyChunk() {
                guard result.count + chunk.count <= maxSize else { throw HTTPError.contentTooLarge(limit: maxSize) }
                result += chunk
            }
            return result
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var storage: Storage
        var done = false

        public mutating func next() async throws -> [UInt8]? {
            guard !done else { return nil }
            switch storage {
            case .bytes(let bytes):
                done = true
                return bytes.isEmpty ? nil : bytes
            case .stream(let source):
                let chunk = try await source.nextBodyChunk()
                if chunk == nil { done = true }
                return chunk
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(storage: storage) }
}
