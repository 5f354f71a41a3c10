// libcurl's multi interface on one dedicated thread (never the cooperative pool). Other
// threads hand it transfers through a `ThreadQueue` and wake it with curl_multi_wakeup (the
// thread waits in curl_multi_poll, not on the queue); completions are delivered from this
// thread with no lock held, each exactly once.
import CLibCurl
import ScanBridgeCore
import Synchronization

final class CurlMultiThread: @unchecked Sendable {
    /// Set by the thread as it ends; `shutdown` callers wait in `waiters` until then.
    private struct Ending {
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// curl_global_init runs once per process, before the first handle.
    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    private let multi: UnsafeMutableRawPointer
    /// Transfers handed in and not yet taken by the thread; closed when stopping.
    private let pending = ThreadQueue<CurlTransfer>()
    private let ending = Mutex(Ending())
    /// Upload-thread state: the transfers in the multi handle, by easy handle address.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    init(name: String) {
        _ = Self.globalInit
        multi = curl_multi_init()
        // The thread keeps the engine until its loop ends; the multi handle is freed in deinit,
        // once nobody can wake it.
        NamedThread.start(name: name) { [self] in run() }
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    /// Runs `transfer` and returns its outcome. Task cancellation aborts it (outcome `canceled`).
    func perform(_ transfer: CurlTransfer) async -> TransferOutcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<TransferOutcome, Never>) in
                transfer.setCompletion { continuation.resume(returning: $0) }
                if pending.push(transfer) == .closed {
                    transfer.finish(result: nil)
                } else {
                    curl_multi_wakeup(multi)
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
            let done = ending.withLock { ending -> Bool in
                if ending.finished { return true }
                ending.waiters.append(continuation)
                return false
            }
            if done {
                continuation.resume()
            } else {
                requestStop()
            }
        }
    }

    /// Asks the thread to cancel everything and end, without waiting (for `deinit` paths).
    func requestStop() {
        pending.close()
        curl_multi_wakeup(multi)
    }

    private func run() {
        while true {
            let stopping = pending.isClosed
            for transfer in pending.drain() {
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
        // Transfers queued before the queue closed but after the last drain still complete
        // (canceled), exactly once; the closed queue refuses any later one.
        for transfer in pending.drain() { transfer.finish(result: nil) }
        let waiters = ending.withLock { ending in
            ending.finished = true
            defer { ending.waiters.removeAll() }
            return ending.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func remove(_ easy: UnsafeMutableRawPointer) -> CurlTransfer? {
        curl_multi_remove_handle(multi, easy)
        return active.removeValue(forKey: easy)
    }
}
