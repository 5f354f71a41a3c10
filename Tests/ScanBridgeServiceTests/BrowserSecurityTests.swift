import Foundation
import Synchronization
import Testing
@testable import ScanBridgeService

/// The decisions behind the security middleware and the event hub; the live behaviour (real
/// sockets, real Chromium) is tested by Tests/Browser.
@Suite("Browser security policy and event hub")
struct BrowserSecurityTests {
    @Test("origins are compared in canonical form; paths, user info and non-HTTP schemes are not origins")
    func canonicalOrigins() {
        #expect(SecurityPolicy.canonicalOrigin("HTTPS://App.Example:443") == "https://app.example")
        #expect(SecurityPolicy.canonicalOrigin("http://localhost:80/") == "http://localhost")
        #expect(SecurityPolicy.canonicalOrigin("http://[::1]:8080") == "http://[::1]:8080")
        #expect(SecurityPolicy.canonicalOrigin("null") == "null")
        for bad in ["https://app.example/path", "ftp://app.example", "https://user@app.example", "app.example", "",
                    "https://app.example?x=1", "javascript:alert(1)"] {
            #expect(SecurityPolicy.canonicalOrigin(bad) == nil, "\(bad)")
        }
    }

    @Test("Host: loopback names with the listener's port or none, configured names; nothing else")
    func hosts() {
        let policy = SecurityPolicy(allowedOrigins: [], allowedHosts: ["Scanner.LAN"], bindAddress: "127.0.0.1")
        for host in ["127.0.0.1:18622", "localhost:18622", "[::1]:18622", "127.0.0.1", "scanner.lan:18622", "LOCALHOST"] {
            #expect(policy.isHostAllowed(host, localPort: 18622), "\(host)")
        }
        for host in ["evil.example:18622", "127.0.0.1:18623", "localhost.evil.example", "[::1", "[::1]x", "localhost:0",
                     "localhost:99999", "127.0.0.2:18622", ""] {
            #expect(!policy.isHostAllowed(host, localPort: 18622), "\(host)")
        }
        #expect(policy.isHostAllowed(nil, localPort: 18622))
        let lan = SecurityPolicy(allowedOrigins: [], bindAddress: "192.168.1.20")
        #expect(lan.isHostAllowed("192.168.1.20:18622", localPort: 18622))
        #expect(!SecurityPolicy(allowedOrigins: [], bindAddress: "0.0.0.0").isHostAllowed("0.0.0.0:1", localPort: 1))
    }

    @Test("origins: the allowlist, the service's own pages, and * only when written")
    func origins() throws {
        let policy = SecurityPolicy(allowedOrigins: ["https://app.example", " http://localhost:8080 "], servicePorts: [18625])
        #expect(policy.isOriginAllowed("https://app.example"))
        #expect(policy.isOriginAllowed("https://APP.example:443"))
        #expect(policy.isOriginAllowed("http://localhost:8080"))
        #expect(policy.isOriginAllowed("http://127.0.0.1:18625"))
        #expect(policy.isOwnOrigin("http://localhost:18625"))
        for origin in ["http://app.example", "https://app.example:8443", "http://localhost:8081", "null", "http://127.0.0.1:18626",
                       "https://evil.example"] {
            #expect(!policy.isOriginAllowed(origin), "\(origin)")
        }
        #expect(!SecurityPolicy(allowedOrigins: []).isOriginAllowed("https://app.example"))
        try policy.setAllowedOrigins(["*"])
        #expect(policy.isOriginAllowed("https://anyone.example"))
        #expect(policy.allowedOrigins == ["*"])
        #expect(throws: (any Error).self) { try policy.setAllowedOrigins(["https://ok.example", "not an origin"]) }
        #expect(policy.allowedOrigins == ["*"], "a refused list changes nothing")
    }

    /// A yield resumes the subscriber's task under that task's lock, and cancelling the task
    /// unsubscribes under the same lock: publishing must not yield while holding the hub's.
    @Test("events: publishing while subscribers' tasks are cancelled neither deadlocks nor loses order",
          .timeLimit(.minutes(1)))
    func publishingRacesCancellation() async {
        let hub = EventHub(capacity: 16)
        struct Payload: Encodable { var n: Int }
        // Publishers on threads of their own: busy loops on the cooperative pool would starve it.
        final class Publishers: Sendable {
            let stop = Atomic<Bool>(false)
            let running = Atomic<Int>(0)
        }
        let publishers = Publishers()
        for _ in 0..<2 {
            publishers.running.add(1, ordering: .relaxed)
            Thread.detachNewThread {
                while !publishers.stop.load(ordering: .relaxed) { hub.publish("buffer", Payload(n: 0)) }
                publishers.running.subtract(1, ordering: .relaxed)
            }
        }
        for round in 0..<400 {
            let subscription = hub.subscribe(origin: nil, lastEventID: nil)
            let reader = Task { () -> Bool in
                var last: UInt64 = 0
                for await event in subscription.events {
                    if event.sequence <= last { return false }
                    last = event.sequence
                }
                return true
            }
            if round % 2 == 1 { await Task.yield() }
            reader.cancel()
            #expect(await reader.value, "a subscriber saw ids out of order")
        }
        publishers.stop.store(true, ordering: .relaxed)
        while publishers.running.load(ordering: .relaxed) > 0 { try? await Task.sleep(for: .milliseconds(1)) }
        #expect(hub.subscriberCount == 0)
    }

    @Test("events: ordered ids, replay after Last-Event-ID, reset when too old or from another run, origin scoping")
    func events() async {
        let hub = EventHub(capacity: 3)
        struct Payload: Encodable { var n: Int }
        let live = hub.subscribe(origin: "https://a.example", lastEventID: nil)
        hub.publish("job", origin: "https://a.example", Payload(n: 1))
        hub.publish("job", origin: "https://b.example", Payload(n: 2))
        hub.publish("buffer", origin: nil, Payload(n: 3))
        var received: [EventHub.Event] = []
        for await event in live.events {
            received.append(event)
            if received.count == 2 { break }
        }
        #expect(received.map(\.data) == [#"{"n":1}"#, #"{"n":3}"#])
        #expect(received.map(\.sequence) == [1, 3])
        hub.unsubscribe(live)
        #expect(hub.subscriberCount == 0)

        let resumed = hub.subscribe(origin: "https://b.example", lastEventID: "\(hub.epoch)-1")
        #expect(!resumed.reset)
        #expect(resumed.replay.map(\.sequence) == [2, 3])
        hub.unsubscribe(resumed)

        hub.publish("job", origin: nil, Payload(n: 4))
        hub.publish("job", origin: nil, Payload(n: 5))   // keeps 3, 4, 5
        let late = hub.subscribe(origin: nil, lastEventID: "\(hub.epoch)-1")
        #expect(late.reset)
        #expect(late.replay.map(\.sequence) == [3, 4, 5])
        hub.unsubscribe(late)
        let foreign = hub.subscribe(origin: nil, lastEventID: "otherrun-2")
        #expect(foreign.reset && foreign.replay.isEmpty)
        hub.unsubscribe(foreign)
        let future = hub.subscribe(origin: nil, lastEventID: "\(hub.epoch)-99")
        #expect(future.reset)
        hub.unsubscribe(future)
    }
}
