import Foundation
import Synchronization

/// The service's live events for browsers (`GET /api/events`): job state, pages ready (with
/// their thumbnail URL), buffer changes and upload progress.
///
/// Publishing is synchronous and cheap (actors call it without suspending). Every event gets an
/// id `<epoch>-<n>` (n counts up; the epoch is random per process) and the last `capacity`
/// events are kept so a client that reconnects with `Last-Event-ID` gets what it missed; when
/// it missed more than that, or the id is from an earlier run, it gets a `reset` event and
/// should re-read the state it shows.
///
/// Events of a job are bound to the origin that created the job, like the job itself: a
/// subscriber sees events whose origin is nil (service-wide) or its own.
public final class EventHub: Sendable {
    public struct Event: Sendable, Equatable {
        public var sequence: UInt64
        public var name: String
        /// The JSON payload.
        public var data: String
        /// The page origin the event belongs to; nil for every subscriber.
        public var origin: String?
    }

    /// What a new subscriber gets: missed events, whether it must re-sync, and the live stream.
    public struct Subscription: Sendable {
        public var replay: [Event]
        public var reset: Bool
        public var events: AsyncStream<Event>
        let token: UInt64
    }

    private struct Subscriber {
        var origin: String?
        var continuation: AsyncStream<Event>.Continuation
        /// The first event it gets live (earlier ones are in its replay, or before its time).
        var firstLive: UInt64
    }

    private struct State {
        var next: UInt64 = 1
        var recent: [Event] = []
        var subscribers: [UInt64: Subscriber] = [:]
        var nextToken: UInt64 = 0
        /// Events published and not yet handed to the subscribers, oldest first.
        var undelivered: [Event] = []
        /// Whether a publisher is handing events to the subscribers (one at a time, in order).
        var delivering = false
    }

    public let epoch: String
    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 1024) {
        self.capacity = max(1, capacity)
        epoch = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 36)
    }

    /// The wire id of an event.
    public func id(of event: Event) -> String { "\(epoch)-\(event.sequence)" }

    /// Publishes `payload` (encoded as JSON) as event `name`.
    public func publish(_ name: String, origin: String? = nil, _ payload: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(payload), let text = String(data: data, encoding: .utf8) else { return }
        let deliverer = state.withLock { state in
            let event = Event(sequence: state.next, name: name, data: text, origin: origin)
            state.next += 1
            state.recent.append(event)
            if state.recent.count > capacity { state.recent.removeFirst(state.recent.count - capacity) }
            state.undelivered.append(event)
            defer { state.delivering = true }
            return !state.delivering
        }
        if deliverer { deliver() }
    }

    /// Hands the undelivered events to the subscribers, in order, until none are left. Never
    /// under the lock: a yield resumes the subscriber's task, which takes that task's own lock,
    /// and a task being cancelled holds its lock while its stream's termination handler
    /// unsubscribes, which takes ours. One publisher delivers at a time, so ids stay in order.
    private func deliver() {
        while true {
            let (events, subscribers) = state.withLock { state -> ([Event], [Subscriber]) in
                if state.undelivered.isEmpty { state.delivering = false }
                defer { state.undelivered.removeAll(keepingCapacity: true) }
                return (state.undelivered, Array(state.subscribers.values))
            }
            if events.isEmpty { return }
            for event in events {
                for subscriber in subscribers where event.sequence >= subscriber.firstLive && Self.visible(event, to: subscriber.origin) {
                    subscriber.continuation.yield(event)
                }
            }
        }
    }

    static func visible(_ event: Event, to origin: String?) -> Bool {
        event.origin == nil || event.origin == origin
    }

    /// Subscribes a client of `origin`; `lastEventID` is the `Last-Event-ID` it sent, if any.
    public func subscribe(origin: String?, lastEventID: String?) -> Subscription {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let (replay, reset, token) = state.withLock { state -> ([Event], Bool, UInt64) in
            let token = state.nextToken
            state.nextToken += 1
            state.subscribers[token] = Subscriber(origin: origin, continuation: continuation, firstLive: state.next)
            guard let lastEventID, !lastEventID.isEmpty else { return ([], false, token) }
            let parts = lastEventID.split(separator: "-", maxSplits: 1)
            guard parts.count == 2, parts[0] == epoch, let last = UInt64(parts[1]), last < state.next else {
                return ([], true, token)
            }
            let oldest = state.recent.first?.sequence ?? state.next
            let missed = state.recent.filter { $0.sequence > last && Self.visible($0, to: origin) }
            return (missed, last + 1 < oldest, token)
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(token) }
        return Subscription(replay: replay, reset: reset, events: stream, token: token)
    }

    public func unsubscribe(_ token: UInt64) {
        let removed = state.withLock { $0.subscribers.removeValue(forKey: token) }
        removed?.continuation.finish()
    }

    public func unsubscribe(_ subscription: Subscription) { unsubscribe(subscription.token) }

    /// Open subscriptions (tests, the service page).
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Ends every subscription (shutdown).
    public func finishAll() {
        let all = state.withLock { state in
            let all = state.subscribers.values.map(\.continuation)
            state.subscribers.removeAll()
            return all
        }
        for continuation in all { continuation.finish() }
    }
}

/// Payloads of the events, as the SDK reads them (`scanbridge.d.ts`, `ScanBridgeEvent`).
enum EventPayload {
    struct Job: Encodable, Sendable {
        var job: String
        var status: String
        var code: Int
        var message: String
        var pages: Int
        var scanner: String
    }

    struct PageReady: Encodable, Sendable {
        var job: String
        var id: Int
        var uid: String
        var pageNumber: Int
        var width: Int
        var height: Int
        var thumbnail: String
        var url: String
    }

    struct Buffer: Encodable, Sendable {
        var change: String
        var ids: [Int]
        var count: Int?
    }

    /// OCR of one page of a render: `state` started, running (with `percent`), done, reused
    /// (a kept result), cancelled or failed.
    struct OCR: Encodable, Sendable {
        var source: String
        var page: String
        var language: String
        var state: String
        var percent: Int?
    }

    struct Upload: Encodable, Sendable {
        var upload: String
        var document: String
        var state: String
        var sent: Int64
        var total: Int64
        var message: String?
    }
}
