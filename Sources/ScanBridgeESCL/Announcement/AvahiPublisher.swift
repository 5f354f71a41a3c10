import Glibc

/// One service published through Avahi's D-Bus API (`org.freedesktop.Avahi.Server.EntryGroupNew`,
/// then `EntryGroup.AddService` and `Commit`). Avahi keeps the entry group as long as the bus
/// connection that created it, so the publisher holds both until `withdraw`. Every method blocks;
/// the owner calls them from one dedicated thread.
final class AvahiPublisher {
    /// How an attempt to publish ended.
    enum Outcome: Equatable {
        /// Avahi answered and the service is established under `name`.
        case announced(name: String)
        /// Avahi took the service but has not confirmed it within the wait (probing on a busy
        /// network); it stays published under `name` once probing ends.
        case registering(name: String)
        /// No bus, or no Avahi daemon on it.
        case noDaemon(reason: String)
        /// Every name tried is taken on the network.
        case collision(names: [String])
        case failed(reason: String)
    }

    static let avahi = "org.freedesktop.Avahi"
    static let entryGroupInterface = "org.freedesktop.Avahi.EntryGroup"
    /// `AvahiEntryGroupState`: avahi-common/defs.h.
    enum GroupState: Int32 { case uncommitted = 0, registering, established, collision, failure }
    /// `AVAHI_IF_UNSPEC` and `AVAHI_PROTO_*`.
    static let anyInterface: Int32 = -1
    enum AddressProtocol: Int32 { case any = -1, ipv4 = 0, ipv6 = 1 }

    private var bus: SystemBus?
    private var group: String?

    /// Publishes `record` under the first free name of `names`: a name another host holds
    /// (`CollisionError` from AddService, or the group's state turning to collision while Avahi
    /// probes) moves on to the next one. Waits up to `confirmation` for Avahi to establish it.
    func publish(_ record: ESCLServiceRecord, names: [String], addressProtocol: AddressProtocol,
                 confirmation: Duration = .seconds(5)) -> Outcome {
        let bus: SystemBus
        do { bus = try SystemBus() } catch { return .noDaemon(reason: error.description) }
        let group: String
        do {
            group = try bus.call(destination: Self.avahi, path: "/", interface: "org.freedesktop.Avahi.Server",
                                 member: "EntryGroupNew").objectPath()
        } catch {
            return error.isNameUnowned ? .noDaemon(reason: error.description) : .failed(reason: error.description)
        }
        self.bus = bus
        self.group = group
        let txt = record.txt.map { Array($0.utf8) }
        for name in names {
            do {
                _ = try bus.call(destination: Self.avahi, path: group, interface: Self.entryGroupInterface, member: "AddService", [
                    .int32(Self.anyInterface), .int32(addressProtocol.rawValue), .uint32(0),
                    .string(name), .string(record.type), .string(""), .string(""),
                    .uint16(UInt16(record.port)), .byteArrays(txt),
                ])
                _ = try bus.call(destination: Self.avahi, path: group, interface: Self.entryGroupInterface, member: "Commit")
            } catch where error.name == "org.freedesktop.Avahi.CollisionError" {
                continue
            } catch {
                return .failed(reason: error.description)
            }
            switch waitForState(bus: bus, group: group, within: confirmation) {
            case .established: return .announced(name: name)
            case .collision:
                _ = try? bus.call(destination: Self.avahi, path: group, interface: Self.entryGroupInterface, member: "Reset")
                continue
            case .failure: return .failed(reason: "Avahi reports the entry group as failed")
            case .registering, .uncommitted, nil: return .registering(name: name)
            }
        }
        return .collision(names: names)
    }

    /// Polls the group's state until it leaves "registering" or `within` passes: the state's
    /// change signal would need a bus event loop for a one-off wait.
    private func waitForState(bus: SystemBus, group: String, within limit: Duration) -> GroupState? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limit)
        var state: GroupState?
        while true {
            state = (try? bus.call(destination: Self.avahi, path: group, interface: Self.entryGroupInterface,
                                   member: "GetState").int32()).flatMap(GroupState.init(rawValue:))
            if let state, state != .registering && state != .uncommitted { return state }
            if clock.now >= deadline { return state }
            usleep(100_000)
        }
    }

    /// Removes the service from the network (`EntryGroup.Free`) and closes the connection.
    func withdraw() {
        if let bus, let group {
            _ = try? bus.call(destination: Self.avahi, path: group, interface: Self.entryGroupInterface, member: "Free")
        }
        group = nil
        bus = nil
    }
}
