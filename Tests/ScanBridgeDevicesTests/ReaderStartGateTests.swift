import Foundation
@testable import ScanBridgeDevices
import Testing

/// The gate that lets one device of a SANE backend start a frame at a time.
@Suite("Reader start gate")
struct ReaderStartGateTests {
    @Test func devicesOfOneBackendShareAGateAndOtherBackendsDoNot() {
        #expect(ReaderStartGate.of(device: "test:0") === ReaderStartGate.of(device: "test:1"))
        #expect(ReaderStartGate.of(device: "test:0") !== ReaderStartGate.of(device: "pixma:04A91234_AB"))
    }

    @Test func aSecondDeviceWaitsUntilThePassIsGivenBack() async throws {
        let gate = ReaderStartGate.of(backend: "gate-test-wait")
        let first = try #require(gate.enter { false })
        let entered = BlockingFlag()
        let waiter = Thread {
            if let second = gate.enter(giveUp: { false }) {
                entered.set()
                second.release()
            }
        }
        waiter.start()
        try await Task.sleep(for: .milliseconds(200))
        #expect(!entered.isSet, "the second device started while the first held the gate")
        first.release()
        let deadline = Date().addingTimeInterval(5)
        while !entered.isSet && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(entered.isSet)
    }

    @Test func aWaiterGivesUpAndAStalePassFreesNothing() throws {
        let gate = ReaderStartGate.of(backend: "gate-test-give-up")
        let first = try #require(gate.enter { false })
        #expect(gate.enter { true } == nil)
        first.release()
        let second = try #require(gate.enter { false })
        first.release()
        #expect(gate.isHeld, "a pass given back twice freed its successor's hold")
        second.release()
        #expect(!gate.isHeld)
    }
}

private final class BlockingFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
