import Testing
@testable import ScanBridgeHTTP

/// The process-wide clock behind the close watcher's delay.
@Suite("Coarse delays")
struct CoarseDelayTests {
    @Test func aWaitLastsAtLeastItsDelay() async {
        let clock = ContinuousClock()
        let start = clock.now
        let elapsed = await CoarseDelay.shared.wait(.milliseconds(30))
        #expect(elapsed)
        #expect(clock.now - start >= .milliseconds(30))
    }

    @Test func aCancelledWaitEndsAtOnceWithFalse() async {
        let clock = ContinuousClock()
        let start = clock.now
        let waiting = Task { await CoarseDelay.shared.wait(.seconds(30)) }
        try? await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(await waiting.value == false)
        // Far short of the 30 s wait; not tighter, since the suite shares two cores with TLS transfers.
        #expect(clock.now - start < .seconds(15))
    }

    @Test func aTaskCancelledBeforeItWaitsDoesNotWait() async {
        let waiting = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await CoarseDelay.shared.wait(.seconds(30))
        }
        #expect(await waiting.value == false)
    }

    @Test func manyWaitsEndInTheirOwnTime() async {
        let results = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
            for index in 0..<200 {
                group.addTask { await CoarseDelay.shared.wait(.milliseconds(index % 20)) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 200 && results.allSatisfy { $0 })
    }

    @Test func aTicketEndedBeforeItsWaitEndsTheWaitAtOnce() async {
        let ticket = CoarseDelay.shared.makeTicket()
        CoarseDelay.shared.end(ticket)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await CoarseDelay.shared.wait(.seconds(30), endedBy: ticket) == false)
        #expect(clock.now - start < .seconds(15))
    }

    @Test func aTicketEndedWhileItWaitsEndsTheWaitWithFalse() async {
        let ticket = CoarseDelay.shared.makeTicket()
        let waiting = Task { await CoarseDelay.shared.wait(.seconds(30), endedBy: ticket) }
        try? await Task.sleep(for: .milliseconds(20))
        CoarseDelay.shared.end(ticket)
        #expect(await waiting.value == false)
    }

    @Test func endingATicketAfterItsWaitElapsedChangesNothing() async {
        let ticket = CoarseDelay.shared.makeTicket()
        #expect(await CoarseDelay.shared.wait(.milliseconds(10), endedBy: ticket))
        CoarseDelay.shared.end(ticket)
        // The clock still serves other waits.
        #expect(await CoarseDelay.shared.wait(.milliseconds(10)))
    }
}
