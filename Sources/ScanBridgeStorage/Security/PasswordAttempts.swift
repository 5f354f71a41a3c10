import Foundation
import ScanBridgeCore

/// Wrong-password back-off per document: the first `freeFailures` wrong passwords in a row cost
/// nothing extra; each further one closes the document to password checks for a delay that
/// doubles with every failure (`firstDelay`, 2×, 4× … up to `maxDelay`). While it is closed, a
/// password that would need a key derivation is refused at once with -1044 (HTTP 429), right or
/// wrong, so guessing gets no faster than the delays allow; a client that already unlocked the
/// document in this run (its key is cached) is not affected. A right password resets the count.
/// Counts live in memory only.
public struct PasswordAttempts: Sendable {
    public var freeFailures: Int
    public var firstDelay: Duration
    public var maxDelay: Duration

    public init(freeFailures: Int = 5, firstDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60)) {
        self.freeFailures = freeFailures
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
    }

    private struct Record {
        var failures = 0
        var closedUntil: ContinuousClock.Instant?
    }

    private var records: [String: Record] = [:]

    /// Throws -1044 while `uid` is closed to password checks.
    func admit(_ uid: String, now: ContinuousClock.Instant = .now) throws(ScanBridgeError) {
        guard let until = records[uid]?.closedUntil, now < until else { return }
        let wait = until - now
        let seconds = Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up))
        throw ScanBridgeError(code: StorageErrorCode.tooManyPasswordAttempts,
                              message: "Too many wrong passwords for document \(uid): try again in \(max(1, seconds)) s.")
    }

    mutating func failed(_ uid: String, now: ContinuousClock.Instant = .now) {
        var record = records[uid] ?? Record()
        record.failures += 1
        let beyond = record.failures - freeFailures
        if beyond > 0 {
            let delay = firstDelay * (1 << min(beyond - 1, 20))
            record.closedUntil = now + min(delay, maxDelay)
        }
        records[uid] = record
    }

    mutating func succeeded(_ uid: String) {
        records[uid] = nil
    }

    /// The document is gone: forget its count.
    mutating func forget(_ uid: String) {
        records[uid] = nil
    }
}
