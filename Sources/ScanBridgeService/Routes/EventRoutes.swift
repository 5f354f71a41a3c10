import Foundation
import HTTPTypes
import ScanBridgeHTTP

/// `GET /api/events`: the event hub as server-sent events.
///
/// - Every event has an `id`; a client that reconnects with `Last-Event-ID` (EventSource does
///   it by itself; `?lastEventId=` works too) first gets the events it missed, or a `reset`
///   event when they are no longer kept.
/// - The stream starts with `retry: 2000` and a `hello` event (`{"epoch", "heartbeat"}`).
/// - A comment line (`: heartbeat`) every `heartbeat` seconds (query, 1…300, default 15)
///   keeps proxies and idle timers from closing a quiet stream, and finds clients that left.
/// - A page sees its own origin's job events and the service-wide ones (see `EventHub`).
struct EventRoutes: Sendable {
    let events: EventHub

    func register(on router: inout Router) {
        router.get("/api/events") { request in
            var heartbeat = 15
            if let text = request.query["heartbeat"] {
                guard let value = Int(text), (1...300).contains(value) else {
                    throw DWTErrors.invalidParameter("heartbeat must be 1…300 seconds")
                }
                heartbeat = value
            }
            let lastEventID = request.headerFields[.lastEventID] ?? request.query["lastEventId"]
            let origin = request.headerFields[.origin]
            let interval = heartbeat
            return .eventStream { writer in
                let subscription = events.subscribe(origin: origin, lastEventID: lastEventID)
                defer { events.unsubscribe(subscription) }
                try await writer.send(ServerSentEvent(event: "hello", data: #"{"epoch":"\#(events.epoch)","heartbeat":\#(interval)}"#,
                                                      retry: 2000))
                if subscription.reset {
                    try await writer.send(ServerSentEvent(event: "reset", data: #"{"reason":"missed events are no longer kept; re-read the state"}"#))
                }
                for event in subscription.replay {
                    try await writer.send(ServerSentEvent(event: event.name, data: event.data, id: events.id(of: event)))
                }
                // Events and heartbeats through one loop: a ticker task feeds a merged stream.
                let (merged, continuation) = AsyncStream<EventHub.Event?>.makeStream(bufferingPolicy: .bufferingNewest(4096))
                let forward = Task {
                    for await event in subscription.events { continuation.yield(event) }
                    continuation.finish()
                }
                let ticker = Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(interval))
                        if Task.isCancelled { break }
                        continuation.yield(nil)
                    }
                }
                defer {
                    forward.cancel()
                    ticker.cancel()
                    continuation.finish()
                }
                for await item in merged {
                    if let event = item {
                        try await writer.send(ServerSentEvent(event: event.name, data: event.data, id: events.id(of: event)))
                    } else {
                        try await writer.heartbeat("heartbeat")
                    }
                }
            }
        }
    }
}
