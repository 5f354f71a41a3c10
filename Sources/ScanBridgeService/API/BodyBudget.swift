import ScanBridgeCore
import ScanBridgeHTTP
import Synchronization

/// The request body bytes that all requests together may hold in memory at once
/// (`MaxBodyBytesInFlightMB`). Each body a route collects whole is counted from its first byte
/// until the route is done with it; a body that would go past the limit is refused with 503
/// (-2116) at once, so a few clients sending endless bodies cannot take the machine's memory,
/// and the others may try again shortly.
final class BodyBudget: Sendable {
    let limit: Int
    private let used = Mutex(0)

    init(limitBytes: Int) {
        limit = max(1, limitBytes)
    }

    /// Bytes counted now (for tests and metrics).
    var inUse: Int { used.withLock { $0 } }

    /// Collects `body` whole (at most `maxSize` bytes, else 413), counting its bytes while
    /// `use` runs. A body announced (Content-Length) larger than what is left is refused before
    /// a byte of it is read.
    func withCollected<T>(_ body: RequestBody, upTo maxSize: Int,
                          _ use: ([UInt8]) async throws -> T) async throws -> T {
        if let expected = body.expectedLength, expected > maxSize { throw HTTPError.contentTooLarge(limit: maxSize) }
        var reserved = 0
        defer { release(reserved) }
        if let expected = body.expectedLength {
            try reserve(expected)
            reserved = expected
        }
        var bytes: [UInt8] = []
        if let expected = body.expectedLength { bytes.reserveCapacity(expected) }
        for try await chunk in body {
            guard bytes.count + chunk.count <= maxSize else { throw HTTPError.contentTooLarge(limit: maxSize) }
            let needed = bytes.count + chunk.count - reserved
            if needed > 0 {
                try reserve(needed)
                reserved += needed
            }
            bytes += chunk
        }
        return try await use(bytes)
    }

    private func reserve(_ count: Int) throws(ScanBridgeError) {
        let granted = used.withLock { used -> Bool in
            guard used + count <= limit else { return false }
            used += count
            return true
        }
        guard granted else {
            throw ScanBridgeError(code: DWTErrors.bodiesInFlightCode,
                                  message: "The service holds \(limit >> 20) MiB of request bodies already (MaxBodyBytesInFlightMB); try again shortly")
        }
    }

    private func release(_ count: Int) {
        guard count > 0 else { return }
        used.withLock { $0 -= count }
    }
}
