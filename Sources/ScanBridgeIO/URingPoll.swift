// Polling before a ring thread sleeps. A connection that sends its next request a few tens of
// microseconds after our reply (one client in a loop) otherwise costs a sleep and a wake-up a
// request: the thread blocks in io_uring_enter, and the completion has to schedule it again on
// an idle core. The budget adapts like the kernel's KVM halt polling: it doubles while sleeps
// end soon after the poll gave up (a longer poll would have caught them) and drops to nothing
// after a sleep longer than the ceiling (slow traffic and an idle service do not spin).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct PollBeforeSleep {
    /// The most a thread polls before it sleeps; zero turns polling off.
    let ceiling: UInt64
    /// How long the next poll lasts (nanoseconds); zero until a short sleep shows it would pay.
    private(set) var budget: UInt64 = 0

    /// The first budget after a short sleep; doubled while sleeps stay short.
    private var start: UInt64 { min(ceiling, 10_000) }

    init(ceilingMicroseconds: Int) {
        ceiling = UInt64(max(0, ceilingMicroseconds)) * 1_000
    }

    /// Records a sleep that followed a poll of `budget` which found nothing, and lasted `slept`
    /// nanoseconds.
    mutating func slept(_ slept: UInt64) {
        guard ceiling > 0 else { return }
        if slept + budget <= ceiling {
            budget = budget == 0 ? start : min(ceiling, budget * 2)
        } else if slept > ceiling {
            budget = 0
        }
    }

    /// Monotonic nanoseconds (vDSO, no kernel entry).
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
