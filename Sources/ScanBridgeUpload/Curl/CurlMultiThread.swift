// libcurl's multi interface on one dedicated thread (never the cooperative pool). Other
// threads hand it transfers through a locked inbox and wake it with curl_multi_wakeup;
// completions are delivered from this thread with no lock held, each exactly once.
import CLibCurl
import Foundation
import Synchronization

final class CurlMultiThread: @unchecked Sendable {
    private struct Inbox {
        var pending: [CurlTransfer] = []
        var stopping = false
        /// Set by the thread as it ends; `shutdown` callers wait in `stopWaiters` until then.
        var finished = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// curl_global_init runs once per process, before the first handle.
    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let thread: Thread
    /// Upload-thread state: the transfers in the multi handle, by easy handle address.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    init(name: String) {
        _ = Self.globalInit
        multi = curl_multi_init()
        let box = ThreadBox()
        thread = Thread {
            Thread.current.name = name  // also the kernel's thread name (top, gdb): at most 15 bytes
            box.engine?.run()
            box.engine = nil  // the multi handle is freed in deinit, once nobody can wake it
        }
        box.engine = self
        thread.start()
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    /// Runs `transfer` and returns its outcome. Task cancellation aborts it (outcome `canceled`).
    func perform(_ transfer: CurlTransfer) async -> TransferOutcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<TransferOutcome, Never>) in
                transfer.setCompletion { continuation.resume(returning: $0) }
                let accepted = inbox.withLock { inbox -> Bool in
                    guard !inbox.stopping else { return false }
                    inbox.pending.append(transfer)
                    return true
                }
                if accepted {
                    curl_multi_wakeup(multi)
                } else {
                    transfer.finish(result: nil)
                }
            }
        } onCancel: {
            transfer.cancel()
            curl_multi_wakeup(multi)
        }
    }

    /// Cancels every transfer, ends the thread and waits for it.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = inbox.withLock { inbox -> Bool in
                if inbox.finished { return true }
                inbox.stopping = true
                inbox.stopWaiters.append(continuation)
                return false
            }
            if done {
                continuation.resume()
            } else {
                curl_multi_wakeup(multi)
            }
        }
    }

    /// Asks the thread to cancel everything and end, without waiting (for `deinit` paths).
    func requestStop() {
        inbox.withLock { $0.stopping = true }
        curl_multi_wakeup(multi)
    }

    private func run() {
        while true {
            let (pending, stopping) = inbox.withLock { inbox in
                defer { inbox.pending.removeAll() }
                return (inbox.pending, inbox.stopping)
            }
            for transfer in pending {
                if transfer.isCanceled || stopping {
                    transfer.finish(result: nil)
                } else if let failure = transfer.prepare() {
                    transfer.finish(result: nil, setupFailure: failure)
                } else if let easy = transfer.easy {
                    curl_multi_add_handle(multi, easy)
                    active[easy] = transfer
                }
            }
            for (easy, transfer) in active where transfer.isCanceled || stopping {
                remove(easy)?.finish(result: nil)
            }
            if stopping { break }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let result = message.pointee.data.result
                remove(easy)?.finish(result: result)
            }
            // curl_multi_poll also returns at libcurl's own timers, and at once on a wakeup.
            var ready: Int32 = 0
            curl_multi_poll(multi, nil, 0, active.isEmpty ? 60_000 : 1000, &ready)
        }
        // Transfers handed in after the loop ended still complete (canceled), exactly once.
        let (late, waiters) = inbox.withLock { inbox in
            inbox.finished = true
            defer {
                inbox.pending.removeAll()
                inbox.stopWaiters.removeAll()
            }
            return (inbox.pending, inbox.stopWaiters)
        }
        for transfer in late { transfer.finish(result: nil) }
        for waiter in waiters { waiter.resume() }
    }

    private func remove(_ easy: UnsafeMutableRawPointer) -> CurlTransfer? {
        curl_multi_remove_handle(multi, easy)
        return active.removeValue(forKey: easy)
    }
}

/// Lets the thread's closure reach the engine before `init` finishes (the thread starts last).
private final class ThreadBox: @unchecked Sendable {
    var engine: CurlMultiThread?
}
