// The live side of one upload: state, attempt and progress, readable from any thread, and the
// event streams of its subscribers. Events are yielded outside the lock.
import Foundation
import Synchronization

final class UploadMonitor: Sendable {
    struct Live: Sendable {
        var state: UploadState = .queued
        var attempt = 0
        var progress = UploadProgress(sent: 0, total: 0)
        var lastProgressEvent = ContinuousClock.Instant.now - .seconds(1)
        var finalEvent: UploadEvent?
        var subscribers: [Int: AsyncStream<UploadEvent>.Continuation] = [:]
        var nextSubscriber = 0
    }

    private let live = Mutex(Live())
    /// Progress events are at most this frequent (the status always has the latest figure).
    private let progressInterval = Duration.milliseconds(50)

    var snapshot: (state: UploadState, attempt: Int, progress: UploadProgress) {
        live.withLock { ($0.state, $0.attempt, $0.progress) }
    }

    /// Starts a new run (after `retry`): clears the final event, keeps subscribers.
    func reset(total: Int64) {
        live.withLock { live in
            live.state = .queued
            live.attempt = 0
            live.progress = UploadProgress(sent: 0, total: total)
            live.finalEvent = nil
        }
    }

    func subscribe() -> AsyncStream<UploadEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: UploadEvent.self, bufferingPolicy: .bufferingNewest(256))
        let final = live.withLock { live -> UploadEvent? in
            if let final = live.finalEvent { return final }
            let key = live.nextSubscriber
            live.nextSubscriber += 1
            live.subscribers[key] = continuation
            continuation.onTermination = { [weak self] _ in self?.unsubscribe(key) }
            return nil
        }
        if let final {
            continuation.yield(final)
            continuation.finish()
        }
        return stream
    }

    private func unsubscribe(_ key: Int) {
        _ = live.withLock { $0.subscribers.removeValue(forKey: key) }
    }

    func progress(_ progress: UploadProgress) {
        let subscribers = live.withLock { live -> [AsyncStream<UploadEvent>.Continuation] in
            live.progress = progress
            let now = ContinuousClock.Instant.now
            guard progress.sent == progress.total || now - live.lastProgressEvent >= progressInterval else { return [] }
            live.lastProgressEvent = now
            return Array(live.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(.progress(progress)) }
    }

    func emit(_ event: UploadEvent) {
        let (subscribers, final) = live.withLock { live -> ([AsyncStream<UploadEvent>.Continuation], Bool) in
            switch event {
            case .queued: live.state = .queued
            case .started(let attempt):
                live.state = .uploading
                live.attempt = attempt
            case .retrying: live.state = .retrying
            case .progress(let progress): live.progress = progress
            case .succeeded: live.state = .succeeded
            case .failed: live.state = .failed
            case .canceled: live.state = .canceled
            }
            let subscribers = Array(live.subscribers.values)
            if event.isFinal {
                live.finalEvent = event
                live.subscribers.removeAll()
            }
            return (subscribers, event.isFinal)
        }
        for subscriber in subscribers {
            subscriber.yield(event)
            if final { subscriber.finish() }
        }
    }

    /// Ends the streams without a final event (the uploader shuts down).
    func finishAll() {
        let subscribers = live.withLock { live in
            defer { live.subscribers.removeAll() }
            return Array(live.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}

/// Limits how many uploads are on the wire at once. Waiters are served in order; a canceled
/// waiter leaves the queue. Continuations are resumed outside the lock, exactly once.
final class AsyncLimiter: Sendable {
    private enum Waiter {
        case waiting(CheckedContinuation<Bool, Never>)
        case canceled
    }

    private struct State {
        var available: Int
        var order: [Int] = []
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>

    init(limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    /// Takes a slot; false when the task was canceled while waiting (no slot taken).
    func acquire() async -> Bool {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let granted = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { state -> Bool? in
                    if case .canceled = state.waiters[id] {
                        state.waiters[id] = nil
                        return false
                    }
                    if state.available > 0 {
                        state.available -= 1
                        return true
                    }
                    state.waiters[id] = .waiting(continuation)
                    state.order.append(id)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                switch state.waiters[id] {
                case .waiting(let continuation):
                    state.waiters[id] = nil
                    state.order.removeAll { $0 == id }
                    return continuation
                case .canceled:
                    return nil
                case nil:
                    state.waiters[id] = .canceled
                    return nil
                }
            }
            waiting?.resume(returning: false)
        }
        // A cancellation that arrived after the slot was granted left a marker: drop it.
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
        return granted
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            while !state.order.isEmpty {
                let id = state.order.removeFirst()
                if case .waiting(let continuation) = state.waiters.removeValue(forKey: id) { return continuation }
            }
            state.available += 1
            return nil
        }
        next?.resume(returning: true)
    }
}
