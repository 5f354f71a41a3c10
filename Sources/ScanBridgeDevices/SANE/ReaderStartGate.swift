import Foundation
import Synchronization

/// Lets one device of a SANE backend at a time start a frame, until the frame's reader thread
/// has provably started on that device.
///
/// Why: most backends (the `test` backend among them) start a reader thread per frame in
/// `sane_start` through sanei_thread, which is linked into each backend library and hands the
/// new thread its device through one static variable (`td`) shared by every device of that
/// backend; the thread reads it some time after `sane_start` has returned. When two devices of
/// one backend start frames close together, the second start overwrites the variable before the
/// first reader has read it: both readers then serve the second device, and the first device's
/// `sane_read` waits on a pipe that no thread will ever write to.
///
/// A pass is taken before `sane_start` and given back once the reader must have read the
/// variable: the first `sane_read` that returns data or a status other than "good" (only that
/// device's reader writes to its pipe), a failed start (no reader was started), or the
/// `sane_cancel` that ends the batch (which joins the reader). A device that stops answering
/// gives its pass back when its call watch fires, so one hung scanner holds the others back for
/// at most its `scannerFailureTimeout`. Different backends have separate variables and gates.
final class ReaderStartGate: @unchecked Sendable {
    private static let gates = Mutex<[String: ReaderStartGate]>([:])

    /// The gate of the backend `backend` (the SANE name's prefix: `test` for `test:1`).
    static func of(backend: String) -> ReaderStartGate {
        gates.withLock { gates in
            if let gate = gates[backend] { return gate }
            let gate = ReaderStartGate()
            gates[backend] = gate
            return gate
        }
    }

    /// The gate of the device named `saneName`.
    static func of(device saneName: String) -> ReaderStartGate {
        of(backend: String(saneName.prefix { $0 != ":" }))
    }

    /// Proof of holding the gate; `release` is idempotent and may run on any thread.
    final class Pass: Sendable {
        private let gate: ReaderStartGate
        private let id: UInt64

        fileprivate init(gate: ReaderStartGate, id: UInt64) {
            self.gate = gate
            self.id = id
        }

        func release() { gate.leave(id) }
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var holder: UInt64?
    private var issued: UInt64 = 0

    /// How often a waiting device thread looks at `giveUp`.
    private static let pollInterval: TimeInterval = 0.05

    /// Blocks until the gate is free and takes it, or returns nil once `giveUp` answers true
    /// (the scan was cancelled or timed out meanwhile).
    func enter(giveUp: () -> Bool) -> Pass? {
        condition.lock()
        defer { condition.unlock() }
        while holder != nil {
            if giveUp() { return nil }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Self.pollInterval))
        }
        issued += 1
        holder = issued
        return Pass(gate: self, id: issued)
    }

    /// True while some device holds the gate (for tests).
    var isHeld: Bool {
        condition.lock()
        defer { condition.unlock() }
        return holder != nil
    }

    private func leave(_ id: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        guard holder == id else { return }
        holder = nil
        condition.signal()
    }
}
